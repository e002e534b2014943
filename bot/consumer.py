"""huey's consumer as gatebot runs it: wake-ups released at their due time, idle
worker threads woken as soon as this process queues a task.

- The scheduler is `bot.due_scheduler.DueScheduler` instead of huey's
  one-second tick.
- huey's worker threads on a storage that cannot block on a read (SQLite)
  poll the queue with a growing delay, up to `max_delay`: a task queued
  while they sleep waited up to that long. Here every task queued in this
  process (by the scheduler, the sweeper, a worker going round again) rings
  a `Doorbell` the sleeping threads wait on, so one of them takes it at
  once; `max_delay` only bounds how late a task queued by another process
  is seen. On Redis the threads block on the read (`BRPOP`) and are woken
  by Redis itself.
"""

from __future__ import annotations

import threading
from typing import Any

from huey import Huey
from huey import signals as huey_signals
from huey.consumer import Consumer, Worker

from bot.due_scheduler import Alarm, DueScheduler


class Doorbell:
    """Counts tasks queued in this process that no idle worker thread has looked for yet."""

    # More rings than this only make idle threads look at an empty queue.
    MOST = 64

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        with self._cond:
            self._rings = min(self._rings + 1, self.MOST)
            self._cond.notify()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a ring; True (and the ring taken) if there was one."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._rings > 0, timeout=seconds):
                return False
            self._rings -= 1
            return True

    def ring_all(self) -> None:
        with self._cond:
            self._rings = self.MOST
            self._cond.notify_all()


class DoorbellWorker(Worker):  # type: ignore[misc]  # huey is untyped
    """A worker thread that sleeps on the doorbell instead of a blind delay."""

    def __init__(self, doorbell: Doorbell, **options: Any) -> None:
        super().__init__(**options)
        self.doorbell = doorbell

    def sleep(self) -> None:
        if self.delay > self.max_delay:
            self.delay = self.max_delay
        if self.doorbell.wait(self.delay):
            self.delay = self.default_delay
        else:
            self.delay *= self.backoff


class GatebotConsumer(Consumer):  # type: ignore[misc]  # huey is untyped
    """huey's thread consumer with the due-time scheduler and the doorbell."""

    def __init__(
        self, huey: Huey, alarm: Alarm, *, poll_seconds: float, **options: Any
    ) -> None:
        # Set before huey's constructor, which creates the scheduler and workers.
        self.alarm = alarm
        self.poll_seconds = poll_seconds
        self.doorbell = Doorbell()
        super().__init__(huey, **options)

        @huey.signal(huey_signals.SIGNAL_ENQUEUED)
        def _ring(_signal: str, _task: Any, *_args: Any, **_kwargs: Any) -> None:
            self.doorbell.ring()

        self._ring = _ring

    def _create_scheduler(self) -> DueScheduler:
        return DueScheduler(
            self.huey, self.stop_flag, self.alarm, poll_seconds=self.poll_seconds
        )

    def _create_worker(self) -> DoorbellWorker:
        return DoorbellWorker(
            self.doorbell,
            huey=self.huey,
            stop_flag=self.stop_flag,
            default_delay=self.default_delay,
            max_delay=self.max_delay,
            backoff=self.backoff,
            max_tasks=self.max_tasks,
        )

    def stop(self, graceful: bool = False) -> None:
        # The sleeping threads notice the stop flag at once instead of after a poll.
        self.stop_flag.set()
        self.alarm.ring()
        self.doorbell.ring_all()
        super().stop(graceful=graceful)
