"""GitLab through python-gitlab: the snapshot of a merge request, its policy, publishing,
merging and deploying.

- `client`        — python-gitlab on the bot's own session: no hidden retries, counted
- `forge`         — `GitLabForge` / `GitLabEvaluation`, the `bot.providers.base` protocol
- `snapshot`      — reads of the merge request's parts, turned into the core's models
- `policy_source` — the policy file and CODEOWNERS from the target branch, with fallbacks
- `directory`     — access levels (as role names) and group memberships of the people who matter
- `publish`       — the commit status `gatebot: <target>`
- `merge`         — mergeability, merge methods, merge / rebase / branch deletion / notes
- `deploy`        — pipelines created after a merge
- `bot_account`   — where the bot's own username is kept (`apps`), for the routing to read
"""
