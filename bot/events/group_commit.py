"""Deliveries arriving together are ingested in one transaction: one commit, one flush.

A delivery is answered 202 only once it is durably recorded, so every
answer waits for a commit — on SQLite (`synchronous=FULL`) a flush to the
disk, and one writer at a time. One transaction per delivery made the
flushes the bound on deliveries per second. `GroupCommit.ingest` keeps the
guarantee and shares the flush: the request threads that arrive while a
commit is under way wait for it to end; then one of them ingests every
delivery that waited, each in its own savepoint (a delivery that fails is
rolled back alone and its request sees the error; each in its request's own
context, so log lines name the right delivery), and commits them all.
Every caller returns only after the commit that holds its delivery.

A lone delivery is ingested and committed at once, as before: a batch only
forms while a commit is under way.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from bot.events.ingestion import ForgeRouting, Ingested, ingest
from bot.events.parsed import ParsedDelivery
from bot.store import Store


@dataclass
class _Waiting:
    """One delivery waiting to be ingested, and then what became of it."""

    parsed: ParsedDelivery
    routing: ForgeRouting
    now: datetime
    result: Ingested | None = None
    error: BaseException | None = None
    done: bool = False
    # The submitting request's context (its log fields: delivery, repo, PR), in
    # which its delivery is ingested whichever thread does it.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


class GroupCommit:
    """Ingest deliveries on `store`, sharing commits between concurrent callers."""

    # More than this per transaction only holds the first ones' answers longer.
    MOST_PER_COMMIT = 64

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()  # guards `_waiting`
        self._committing = threading.Lock()  # held by the thread running a batch
        self._waiting: list[_Waiting] = []

    def ingest(self, parsed: ParsedDelivery, routing: ForgeRouting, now: datetime) -> Ingested:
        """Record and route `parsed` (`bot.events.ingestion.ingest`); return once committed."""
        mine = _Waiting(parsed, routing, now)
        with self._lock:
            self._waiting.append(mine)
        while True:
            with self._committing:
                if mine.done:
                    break
                with self._lock:
                    batch = self._waiting[: self.MOST_PER_COMMIT]
                    del self._waiting[: len(batch)]
                self._commit(batch)
                if mine.done:
                    break
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            with self.store.begin() as conn:
                if len(batch) == 1:
                    batch[0].context.run(_ingest_one, conn, batch[0])
                else:
                    for each in batch:
                        each.context.run(_ingest_in_savepoint, conn, each)
        except BaseException as exc:
            # Nothing of the batch was committed: each of its requests fails.
            for each in batch:
                each.result, each.error = None, exc
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: this thread's own to end on
        finally:
            for each in batch:
                each.done = True


def _ingest_one(conn: Connection, waiting: _Waiting) -> None:
    waiting.result = ingest(conn, waiting.parsed, waiting.routing, waiting.now)


def _ingest_in_savepoint(conn: Connection, waiting: _Waiting) -> None:
    savepoint = conn.begin_nested()
    try:
        _ingest_one(conn, waiting)
    except Exception as exc:  # noqa: BLE001  # raised again in the thread of its request
        savepoint.rollback()
        waiting.result, waiting.error = None, exc
    else:
        savepoint.commit()
