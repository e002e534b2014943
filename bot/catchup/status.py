"""The last catch-up round as `/readyz` and the running page show it.

Readiness: a round that fails now and then (a forge outage) does not make
an instance unready — the next round starts from the same marks. After
`FAILING_ROUNDS` rounds in a row ended in an error, `/readyz` answers 503:
events lost from then on would stay unseen until someone looks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.catchup_rounds import LastRound

FAILING_ROUNDS = 3


def summary(last: LastRound | None, now: datetime) -> dict[str, Any]:
    """JSON-ready fields: when the last round ran, how long it took, how far behind the
    point it reached is, and its error."""
    if last is None:
        return {"last_round_at": None, "state": "no round finished yet"}
    behind = (now - last.caught_up_to).total_seconds() if last.caught_up_to else None
    return {
        "last_round_at": last.finished_at.isoformat() if last.finished_at else None,
        "duration_seconds": round(last.duration_seconds, 3) if last.duration_seconds else 0.0,
        "caught_up_to": last.caught_up_to.isoformat() if last.caught_up_to else None,
        "behind_seconds": round(behind, 1) if behind is not None else None,
        "marked": last.marked,
        "requests": last.requests,
        "error": last.error,
        "failing_rounds": last.failures,
        "state": "failing" if failing(last) else "ok",
    }


def failing(last: LastRound | None) -> bool:
    return last is not None and last.failures >= FAILING_ROUNDS
