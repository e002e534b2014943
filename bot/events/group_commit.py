"""Deliveries arriving together are kept in one transaction: one commit, one flush.

A delivery is answered 202 only once it is durably kept (`bot.store.inbox`),
so every answer waits for a commit — on SQLite (`synchronous=FULL`) a flush
to the disk, and one writer at a time. One transaction per delivery made the
flushes the bound on deliveries per second. `GroupCommit.run` keeps the
guarantee and shares the flush: the request threads that arrive while a
commit is under way wait for it to end; then one of them runs every
waiting request's work, each in its own savepoint (a work that fails is
rolled back alone and its request sees the error; each in its request's own
context, so log lines name the right delivery), and commits them all.
Every caller returns only after the commit that holds its work.

A lone request's work is done and committed at once: a batch only forms
while a commit is under way.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection

from bot.store import Store

T = TypeVar("T")


@dataclass
class _Waiting:
    """One request's work waiting for a transaction, and then what became of it."""

    work: Callable[[Connection], Any]
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    # The submitting request's context (its log fields: delivery, repo, PR), in
    # which its work runs whichever thread does it.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


class GroupCommit:
    """Run work on `store`, sharing commits between concurrent callers."""

    # More than this per transaction only holds the first ones' answers longer.
    MOST_PER_COMMIT = 64

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()  # guards `_waiting`
        self._committing = threading.Lock()  # held by the thread running a batch
        self._waiting: list[_Waiting] = []

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)`'s result, once the transaction it ran in has committed."""
        mine = _Waiting(work)
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
        result: T = mine.result
        return result

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            with self.store.begin() as conn:
                if len(batch) == 1:
                    batch[0].context.run(_run_one, conn, batch[0])
                else:
                    for each in batch:
                        each.context.run(_run_in_savepoint, conn, each)
        except BaseException as exc:
            # Nothing of the batch was committed: each of its requests fails.
            for each in batch:
                each.result, each.error = None, exc
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: this thread's own to end on
        finally:
            for each in batch:
                each.done = True


def _run_one(conn: Connection, waiting: _Waiting) -> None:
    waiting.result = waiting.work(conn)


def _run_in_savepoint(conn: Connection, waiting: _Waiting) -> None:
    savepoint = conn.begin_nested()
    try:
        _run_one(conn, waiting)
    except Exception as exc:  # noqa: BLE001  # raised again in the thread of its request
        savepoint.rollback()
        waiting.result, waiting.error = None, exc
    else:
        savepoint.commit()
