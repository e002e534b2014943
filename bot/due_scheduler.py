"""Release scheduled wake-ups to the queue at their due time, not on a one-second tick.

A debounced wake-up is a huey task scheduled `GATEBOT_DEBOUNCE_SECONDS`
ahead. huey's own scheduler moves due tasks to the queue once a second at
best, so a wake-up waited up to a second past its debounce. `DueScheduler`
takes its place in each consumer process: it sleeps until the earliest
scheduled wake-up is due, then moves every due one to the queue.

- A wake-up scheduled in this process rings the `Alarm`, so a sooner one
  than the scheduler sleeps for is seen at once.
- Wake-ups scheduled by other processes (web processes writing to Redis, a
  CLI command writing to the SQLite queue) are seen by looking at the
  storage at least every `poll_seconds`.
- Several consumer processes on one Redis each run a scheduler; a wake-up
  is still released once: huey's `read_schedule` reads and removes the due
  tasks atomically (a Lua script on Redis; one `begin exclusive`
  transaction on SQLite), so each task is handed to exactly one caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from huey import Huey
from huey.consumer import BaseProcess
from huey.storage import RedisStorage, SqliteStorage

log = logging.getLogger(__name__)


class Alarm:
    """Rung when this process schedules a wake-up: the scheduler looks again at once."""

    def __init__(self) -> None:
        self._rung = threading.Event()

    def ring(self) -> None:
        self._rung.set()

    def reset(self) -> None:
        self._rung.clear()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if rung meanwhile (or before, since the last reset)."""
        return self._rung.wait(max(seconds, 0.0))


def earliest_due_in(huey: Huey, now: datetime) -> float | None:
    """Seconds from `now` until the earliest scheduled task is due (≤ 0: due now);
    None when nothing is scheduled.

    Each storage keeps its own numbers for a task's due time (Redis: local-time
    `mktime` of huey's naive UTC datetime; SQLite: its `timestamp()`), so `now`
    goes through the same conversion.
    """
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        first = storage.conn.zrange(storage.schedule_key, 0, 0, withscores=True)
        return float(first[0][1]) - storage.convert_ts(now) if first else None
    if isinstance(storage, SqliteStorage):
        [(due,)] = storage.sql(
            "select min(timestamp) from schedule where queue = ?", (storage.name,), results=True
        )
        return None if due is None else float(due) - now.timestamp()
    raise TypeError(f"no due-time reader for {type(storage).__name__}")


class DueScheduler(BaseProcess):  # type: ignore[misc]  # huey is untyped
    """huey's consumer scheduler, released at each wake-up's due time."""

    process_name = "DueScheduler"

    def __init__(
        self,
        huey: Huey,
        stop_flag: threading.Event,
        alarm: Alarm,
        *,
        poll_seconds: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(huey, stop_flag)
        self.alarm = alarm
        self.poll_seconds = poll_seconds
        self.clock = clock or huey._get_timestamp

    def release_due(self) -> int:
        """Move every wake-up due by now to the queue; return how many."""
        now = self.clock()
        first = earliest_due_in(self.huey, now)
        if first is None or first > 0:
            # Looked at without a write lock; huey's read takes one on SQLite.
            return 0
        due = self.huey.read_schedule(now)
        for task in due:
            self.huey.enqueue(task)
        return len(due)

    def next_sleep(self) -> float:
        """How long to sleep from now: until the earliest wake-up is due, at most a poll."""
        found = earliest_due_in(self.huey, self.clock())
        return self.poll_seconds if found is None else min(max(found, 0.0), self.poll_seconds)

    def loop(self, now: datetime | None = None) -> None:
        # Reset before reading the storage: a wake-up scheduled after the reset
        # rings again and cuts the sleep short; one scheduled before is read.
        self.alarm.reset()
        try:
            self.release_due()
            pause = self.next_sleep()
        except Exception:
            # huey's own scheduler logs and carries on the same way: a storage
            # hiccup must not end the process that releases every wake-up.
            log.exception("could not read the schedule; trying again")
            pause = self.poll_seconds
        if pause > 0:
            self.alarm.sleep(pause)
