"""Catch-up rounds in the background: one at start, then every `GATEBOT_CATCHUP_SECONDS`.

`gatebot serve` (with the embedded queue) and `gatebot worker` each run a
`CatchUpLoop` thread, the way they run the sweeper. With several instances,
a store-held lease (`bot.store.catchup_rounds`) lets one run a round at a
time, and a round is skipped when another instance finished one less than
an interval ago. What the round found is recorded for `/readyz`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from bot.catchup.round import CatchUp, caught_up_to, error_of
from bot.periodic import Periodic, owner_id
from bot.store import Store, catchup_rounds

log = logging.getLogger(__name__)


class CatchUpLoop:
    """Runs rounds of `catch_up` under the store's lease."""

    def __init__(
        self,
        catch_up: CatchUp,
        store: Store,
        interval: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.catch_up = catch_up
        self.store = store
        self.interval = interval
        self.clock = clock
        # A round of many repositories may outlast the interval; a lease lost to a
        # killed instance blocks the rounds for this long at most.
        self.lease_seconds = max(2 * interval, 120.0)
        self.owner = owner_id()
        self._periodic = Periodic("catch-up", interval, self.run_once)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def run_once(self) -> bool:
        """One round if no other instance runs one or ran one less than an interval ago;
        True when this call ran it."""
        started = self.clock()
        with self.store.begin() as conn:
            last = catchup_rounds.last(conn)
            recent = (
                last is not None
                and last.finished_at is not None
                and (started - last.finished_at).total_seconds() < self.interval * 0.9
            )
            if recent or not catchup_rounds.take(conn, self.owner, started, self.lease_seconds):
                return False
        began = time.monotonic()
        try:
            reports = self.catch_up.round(started)
        except Exception as exc:
            # A bug in a step must not end the loop: recorded, logged, tried next round.
            log.exception("catch-up round failed")
            with self.store.begin() as conn:
                catchup_rounds.finish(
                    conn, self.owner, self.clock(), caught_up_to=None, requests=0, marked=0,
                    error=f"the round failed ({type(exc).__name__})",
                )
            return True
        with self.store.begin() as conn:
            catchup_rounds.finish(
                conn,
                self.owner,
                self.clock(),
                caught_up_to=caught_up_to(reports),
                requests=sum(r.requests for r in reports),
                marked=sum(r.acted for r in reports),
                error=error_of(reports),
            )
        marked = sum(r.acted for r in reports)
        log.info(
            "catch-up round: %d PR(s) marked, %d request(s), %.2f s",
            marked, sum(r.requests for r in reports), time.monotonic() - began,
        )
        return True
