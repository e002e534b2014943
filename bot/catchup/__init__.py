"""Catching up with what the forges said while the bot was not listening.

A catch-up round runs a list of steps; each looks at one source of truth
the bot may have missed and reports what it found (`report.StepReport`).
Whatever a step finds is a hint, as a webhook is: it only asks the forge to
send an event again or marks PRs dirty, and the worker re-reads each PR
from the API before anything is decided.

- `redeliver` — GitHub: asks for the App webhook deliveries that failed to
  be sent again (`redeliver.Redeliver`, built by `redeliver_step`).
"""
