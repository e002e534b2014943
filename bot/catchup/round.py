"""One catch-up round: every step once, in order, each reporting what it did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.catchup.report import StepReport


class Step(Protocol):
    """A catch-up step: looks for lost work once per round and says what it did."""

    name: str

    def run(self, now: datetime) -> StepReport: ...


class CatchUp:
    """The steps of a round, run in the order given (redelivery before reconcile: a
    redelivered event is cheaper than a mark the reconcile would make for it)."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)

    def round(self, now: datetime) -> tuple[StepReport, ...]:
        return tuple(step.run(now) for step in self.steps)


def caught_up_to(reports: Sequence[StepReport]) -> datetime | None:
    """The oldest point every step reached: before it, nothing is known to be missed."""
    reached = [r.caught_up_to for r in reports if r.caught_up_to is not None]
    return min(reached) if reached else None


def error_of(reports: Sequence[StepReport]) -> str | None:
    """The steps' errors as one text, or None when none failed."""
    errors = [f"{r.step} {r.scope}: {r.error}" for r in reports if r.error]
    return "; ".join(errors) if errors else None
