"""Forge adapters: everything gatebot reads from and writes to GitHub (and GitLab).

The worker talks to a forge only through the provider-neutral protocol in
`base` — fetch the snapshot and the policy sources of a PR, publish a
decision — so the core and the pipeline never see a client library. Each
forge lives in its own package (`github/` with PyGithub, `gitlab/` with
python-gitlab); `counting` tallies the HTTP requests of each evaluation,
`needs` works out, from the policy, which parts of a PR an evaluation must
read at all, `policy_chain` is the policy lookup order both forges share and
`recorded` turns what the bot itself recorded (push times, holds, overrides,
tamper marks) into snapshot facts.
"""
