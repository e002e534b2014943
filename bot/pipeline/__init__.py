"""The work done for one dirty PR (or merge-queue group): policy, snapshot, verdict, publication.

- `github`      — the GitHub pipeline factory the worker loads (`GATEBOT_PIPELINE`)
- `pull`        — one PR, step by step: read, policy, snapshot, evaluate, publish
- `merge_group` — a merge-queue group: success only if every PR in it passes
- `policies`    — which policies judge a PR; the PR's own edit of its policy file
- `operator`    — the operator's files, read once at start-up
- `errors`      — forge failures: logged without secrets, the PR left marked
"""
