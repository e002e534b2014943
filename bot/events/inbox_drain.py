"""The consumer's side of the inbox: kept deliveries ingested in batches, then woken.

The webhook endpoints only keep a verified delivery (`bot.store.inbox`) and
answer. `InboxDrainer.drain` takes the kept deliveries in batches, each
batch in one transaction that also ingests them (`bot.events.ingestion.ingest`:
record, route, apply, mark), and lets the rows go (`Inbox.done`) only once
that transaction has committed, so a drainer killed mid-batch leaves its rows
for the next; a row found already recorded is dropped (`Inbox.take`), and
ingesting one twice would be harmless anyway (`ingest` de-duplicates by
delivery id).
A delivery whose routing raises is rolled back alone, logged and dropped:
it must not hold up the ones behind it, and the catch-up rounds find what
it would have marked. The store failing is another matter: a lost
connection, a deadlock or a lock wait that timed out says nothing about the
delivery, so the whole transaction is rolled back and its deliveries stay
kept for the next pass (`bot.periodic.Periodic` waits a second after a pass
that raised).

How many deliveries share a transaction is the inbox's to say
(`Inbox.most_per_take`): many on SQLite, where every commit is a flush by
the one writer; one on PostgreSQL, where a transaction's marks lock PR rows
that the workers write too, and should not for longer than one delivery.

Once a batch is committed the PRs it found clean are woken, each a debounce
after its delivery was received (not after it was drained), and every
delivery is counted in `gatebot_deliveries_total` by its outcome.

`gatebot worker` (and so `gatebot serve`'s consumer process) looks at the
inbox every `POLL_SECONDS` (`bot.queue`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from bot import logs, metrics
from bot.events.ingestion import ForgeRouting, Ingested, ingest
from bot.events.parsed import ParsedDelivery, record_from_json
from bot.events.payload import decode
from bot.keys import WorkKey
from bot.store import Store, utcnow
from bot.store.inbox import Arrival, Inbox

log = logging.getLogger(__name__)

# How often a consumer process looks at the inbox: half of it is the mean
# delay it adds between a delivery's answer and its PR's mark.
POLL_SECONDS = 0.02

# The store failing, not the delivery: the transaction is given up whole, its
# deliveries kept for the next pass.
_STORE_FAILED = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class _Drained:
    parsed: ParsedDelivery
    received_at: datetime
    result: Ingested | None  # None: its ingestion raised


class InboxDrainer:
    """Ingests what the inbox holds on `store`, with each forge's routing (by provider)."""

    def __init__(
        self,
        store: Store,
        inbox: Inbox,
        routings: Mapping[str, ForgeRouting],
        wake: Callable[[WorkKey, float], object],
        debounce_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.inbox = inbox
        self.routings = routings
        self.wake = wake
        self.debounce_seconds = debounce_seconds
        self.clock = clock

    def drain_if_waiting(self) -> int:
        """`drain`, after a look that takes no write lock when the inbox is empty."""
        return self.drain() if self.inbox.waiting() else 0

    def drain(self) -> int:
        """Ingest every delivery kept until now; how many were ingested."""
        total = 0
        while True:
            ingested, read = self._batch()
            total += ingested
            # A short batch emptied the inbox (or left only rows another drainer holds).
            if read < self.inbox.most_per_take:
                return total

    def _batch(self) -> tuple[int, int]:
        """One batch in one transaction: (deliveries ingested, inbox rows taken)."""
        with self.store.begin() as conn:
            taken = self.inbox.take(conn, self.inbox.most_per_take)
            drained = [self._ingest(conn, kept) for kept in taken.kept]
        self.inbox.done(taken)
        for each in drained:
            self._after_commit(each)
        return len(drained), len(taken.rows)

    def _ingest(self, conn: Connection, kept: Arrival) -> _Drained:
        record = record_from_json(kept.facts)
        parsed = ParsedDelivery(record, decode(kept.body))
        with _context(parsed):
            savepoint = conn.begin_nested()
            try:
                result = ingest(conn, parsed, self.routings[record.provider], kept.received_at)
            except _STORE_FAILED:
                raise  # the whole transaction: see the module's docstring
            except Exception:
                savepoint.rollback()
                log.exception(
                    "delivery %s %s could not be ingested; dropped",
                    record.provider,
                    record.delivery_id,
                )
                return _Drained(parsed, kept.received_at, None)
            savepoint.commit()
        return _Drained(parsed, kept.received_at, result)

    def _after_commit(self, drained: _Drained) -> None:
        record, result = drained.parsed.record, drained.result
        with _context(drained.parsed):
            if result is None:
                _count(record.provider, "failed", record.event)
                return
            if not result.new:
                _count(record.provider, "duplicate", record.event)
                log.info(
                    "delivery %s %s: a duplicate, nothing done", record.provider, record.delivery_id
                )
                return
            waited = (self.clock() - drained.received_at).total_seconds()
            for key in result.woken:
                self.wake(key, max(0.0, self.debounce_seconds - waited))
            ignored = result.routed is not None and result.routed.ignored is not None
            _count(record.provider, "ignored" if ignored else "accepted", record.event)
            log.info(
                "delivery %s %s %s.%s%s%s",
                record.provider,
                record.delivery_id,
                record.event,
                record.action or "-",
                f" marks {_keys(result.marked)}" if result.marked else "",
                f" ({result.routed.summary})" if result.routed else "",
            )


def _context(parsed: ParsedDelivery) -> AbstractContextManager[None]:
    return logs.context(**parsed.record.log_fields())


def _count(forge: str, outcome: str, event: str) -> None:
    metrics.DELIVERIES.labels(forge=forge, event=event, outcome=outcome).inc()


def _keys(keys: tuple[WorkKey, ...], shown: int = 5) -> str:
    names = ", ".join(str(k) for k in keys[:shown])
    return names if len(keys) <= shown else f"{names} and {len(keys) - shown} more"
