"""Catch-up: find the work that lost or never-sent webhooks left behind.

A webhook that arrived while gatebot was down, being deployed or failing is
gone (GitHub does not redeliver it, GitLab disables a hook that keeps
failing). A catch-up *round* runs its *steps* one after another
(`round.CatchUp`) — at start and then every `GATEBOT_CATCHUP_SECONDS`
(`loop.CatchUpLoop`), or on demand (`gatebot reconcile`):

- `report`    — `StepReport`, what one step found, did and cost
- `redeliver` — GitHub: asks for the App webhook deliveries that failed to
                be sent again, once each (`Redeliver`, built by `redeliver_step`)
- `listing`   — a PR as a forge's list shows it, and the two forges' listers
- `reconcile` — the reconcile step: lists each repository's PRs newest-updated
                first down to its mark and marks dirty those the store knows
                differently
- `steps`     — builds the steps the settings call for
- `loop`      — the background rounds, one instance at a time (a store lease)
- `status`    — the last round as `/readyz` and the running page show it

Everything a step finds is a hint: it asks the forge to send an event again
or marks PRs dirty, and the worker re-reads each PR from the forge before
deciding anything. Layer: beside `bot/pipeline`; only `bot/queue.py`,
`bot/web` and `bot/cli.py` import it.
"""
