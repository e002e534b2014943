"""What one catch-up step did in one round, for the round's caller to show and keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StepReport:
    step: str  # "redeliver" / "reconcile"
    scope: str  # e.g. "github app 123", "github:acme/api", "gitlab:group/proj"
    examined: int  # log entries / PRs looked at
    acted: int  # redeliveries asked / PRs marked
    requests: int  # HTTP requests this step cost
    caught_up_to: datetime | None  # the mark the step reached (oldest point now known good)
    complete: bool  # False when a bound (per-round budget, rate limit) stopped it early
    error: str | None = None  # one sentence, no URLs/secrets
    lines: tuple[str, ...] = ()  # what it found, for `gatebot reconcile` to print
