"""Deliveries arriving together are kept in one transaction: one commit, one flush.

A delivery is answered 202 only once it is durably kept (`bot.store.inbox`),
so every answer waits for a commit — on SQLite (`synchronous=FULL`) a flush
to the disk, and one writer at a time. One transaction per delivery made the
flushes the bound on deliveries per second. `GroupCommit.submit` keeps the
guarantee and shares the flush: the request threads that arrive while a
commit is under way wait for it to end; then one of them commits every
waiting request's item in one call of `commit` (`Inbox.keep`), and each
request gets its own item's result — or, if the call raised, the error:
nothing of that batch was committed. Every caller returns only after the
commit that holds its item.

A lone request's item is committed at once: a batch only forms while a
commit is under way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[A, R]):
    """One request's item waiting for a commit, and then what became of it."""

    item: A
    result: R | None = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False  # handed the leader's part: commit the next batch
    woken: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[A, R]):
    """Commit items with `commit` (one result per item, in order), sharing commits
    between concurrent callers.

    One caller at a time leads: it commits a batch of what waits (its own item
    first), wakes each caller of the batch, and hands the lead to the first
    caller still waiting, if any. The others sleep on an event of their own, so
    a commit wakes each of its callers once, directly — not a queue of threads
    each taking a lock in turn only to learn that its item is done.
    """

    # More than this per transaction only holds the first ones' answers longer.
    MOST_PER_COMMIT = 64

    def __init__(self, commit: Callable[[Sequence[A]], Sequence[R]]) -> None:
        self.commit = commit
        self._lock = threading.Lock()  # guards `_waiting` and `_led`
        self._waiting: list[_Waiting[A, R]] = []
        self._led = False  # a caller is leading

    def submit(self, item: A) -> R:
        """`item`'s result, once the transaction that holds it has committed."""
        mine: _Waiting[A, R] = _Waiting(item)
        with self._lock:
            self._waiting.append(mine)
            mine.lead = not self._led
            self._led = True
        if not mine.lead:
            mine.woken.wait()
        if not mine.done:  # leading: first in line, so in the batch
            with self._lock:
                batch = self._waiting[: self.MOST_PER_COMMIT]
                del self._waiting[: len(batch)]
            try:
                self._commit(batch)
            finally:
                self._hand_over()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]  # set with done, error None

    def _hand_over(self) -> None:
        """The lead to the first caller waiting, or to whoever comes next."""
        with self._lock:
            if self._waiting:
                self._waiting[0].lead = True
                self._waiting[0].woken.set()
            else:
                self._led = False

    def _commit(self, batch: list[_Waiting[A, R]]) -> None:
        try:
            results = self.commit([each.item for each in batch])
            for each, result in zip(batch, results, strict=True):
                each.result = result
        except BaseException as exc:
            # Nothing of the batch was committed: each of its requests fails.
            for each in batch:
                each.result, each.error = None, exc
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: this thread's own to end on
        finally:
            for each in batch:
                each.done = True
                each.woken.set()
