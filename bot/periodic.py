"""A pass run in the background every interval until stopped, one instance at a time.

The catch-up rounds (`bot.catchup.loop`) and the deploy follower
(`bot.pipeline.deploy_follow_loop`) each run their passes on such a thread
inside `gatebot serve` and `gatebot worker`; each pass takes a store-held
lease under `owner`, so with several instances one runs it at a time. The
queue's sweeper (`bot.queue.Sweeper`) runs on one too. A pass the store
failed (or that raised one of the errors its owner names as passing) is
skipped and tried again an interval later, and at the soonest a second later.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


def owner_id() -> str:
    """This instance's name on a lease: host and a random suffix (several per host)."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


class Periodic:
    """Calls `run` now and then every `interval` seconds on a daemon thread."""

    def __init__(
        self,
        name: str,
        interval: float,
        run: Callable[[], object],
        skips: tuple[type[Exception], ...] = (),
    ) -> None:
        self.name = name
        self.interval = interval
        self._run = run
        self._skips = skips
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"gatebot-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # After a failed pass, the next comes no sooner than this: a pass run every
    # few milliseconds (the inbox's) must not write a warning as often while the
    # store is down.
    RETRY_SECONDS = 1.0

    def _loop(self) -> None:
        while True:
            wait = self.interval
            try:
                self._run()
            except SQLAlchemyError as exc:
                wait = max(wait, self.RETRY_SECONDS)
                log.warning("%s pass skipped, the store failed: %s", self.name,
                            type(exc).__name__)
            except self._skips as exc:
                wait = max(wait, self.RETRY_SECONDS)
                log.warning("%s pass failed, retrying in %ss: %s", self.name, wait, exc)
            if self._stop.wait(wait):
                return
