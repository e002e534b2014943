"""Independent forge requests sent at the same time: one round trip instead of several.

With 50 ms between gatebot and the forge, five reads one after another cost a
quarter of a second before any work starts; sent together they cost one
round trip. `gather` runs each call on its own short-lived thread (the first
on the caller's), each under a copy of the caller's context variables, so
log lines keep the delivery and PR they concern (`bot.logs`). It waits for
all of them, then returns their results in order or raises the first
call's error (in the calls' order, not the time they failed), so a caller
sees the same error whatever the timing was.

Only reads whose inputs are known before any of them is sent go here; and
only calls that are safe from several threads at once (the forge clients'
`requests` sessions are, and the request tallies are).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any


class _Outcome:
    __slots__ = ("value", "error")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


def _run(call: Callable[[], Any], outcome: _Outcome) -> None:
    try:
        outcome.value = call()
    except BaseException as exc:  # noqa: BLE001 -- handed to the caller, which re-raises it
        outcome.error = exc


def gather(*calls: Callable[[], Any]) -> tuple[Any, ...]:
    """Each call's result, in order, having run them all at once."""
    outcomes = [_Outcome() for _ in calls]
    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(_run, call, outcome),
            name="gatebot-read",
            daemon=True,
        )
        for call, outcome in zip(calls[1:], outcomes[1:], strict=True)
    ]
    for thread in threads:
        thread.start()
    if calls:
        _run(calls[0], outcomes[0])
    for thread in threads:
        thread.join()
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return tuple(outcome.value for outcome in outcomes)

