"""GitHub through PyGithub: App auth, the snapshot of a PR, its policy, publishing.

- `client`        — PyGithub clients: no hidden retries, paced, counted
- `auth`          — App JWT → installation tokens, cached per installation
- `forge`         — `GitHubForge` / `GitHubEvaluation`, the `bot.providers.base` protocol
- `snapshot`      — reads of the PR's parts, turned into the core's models
- `policy_source` — the policy file and CODEOWNERS from the base branch, with fallbacks
- `directory`     — permissions (role names) and memberships of the people who matter
- `publish`       — the commit status and check run `gatebot: <base>`
- `invalidation`  — what webhooks drop from the caches
"""
