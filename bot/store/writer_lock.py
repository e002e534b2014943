"""One SQLite writer at a time across the processes of a host, woken in turn.

SQLite lets one transaction write at a time; a transaction that finds the
file locked waits in SQLite's busy handler, which sleeps in growing steps
(up to 100 ms) and looks again, so two processes writing the same store —
`gatebot serve` and its consumer process, gunicorn's workers, several
`gatebot worker`s — made each other's waits long and unfair: a webhook's
answer could sleep a tenth of a second behind one short commit. Here every
transaction of a `Store` on a SQLite file first takes an exclusive `flock`
on a file beside it; the kernel wakes the next waiter as soon as the lock
is let go. Threads of one process queue on a lock of their own first.
A process that does not take the lock (the `sqlite3` shell) still meets the
busy timeout.
"""

from __future__ import annotations

import fcntl
import os
import threading
from types import TracebackType


class WriterLock:
    """Re-entrant within a thread; one holder per host across processes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None  # opened on first use, like the engine's connections

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        if self._depth == 0:
            try:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        """Let the file go (the next transaction opens it again)."""
        with self._threads:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None
