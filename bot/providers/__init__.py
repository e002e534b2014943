"""Forge adapters: everything gatebot reads from and writes to GitHub (and GitLab).

The worker talks to a forge only through the provider-neutral protocols in
`base` — read a PR's parts, publish a verdict, merge, converse, deploy — so
the core and the pipeline never see a client library. Each forge lives in
its own package (`github/` with PyGithub, `gitlab/` with python-gitlab),
listed in the forge registry (`bot.forges`), and supplies its reads and
writes to what every forge does the same way: `evaluation` (the evaluation's
shared parts), `assembly` (the snapshot from the forge's reads), `publishing`
("post only on change"); `counting` tallies the HTTP requests of each
evaluation, `needs` works out, from the policy, which parts of a PR an
evaluation must read at all, `policy_chain` is the policy lookup order both
forges share and `recorded` turns what the bot itself recorded (push times,
holds, overrides, tamper marks) into snapshot facts.
"""
