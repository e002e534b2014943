"""What a pipeline does when the forge fails it: one safe log line, and the PR stays dirty.

The adapters have already retried what may be retried (`bot.retry`). What
still fails reaches here: the failure is logged as its kind and HTTP status
only — a library's exception text may quote request or response data —
and re-raised as `ForgeUnavailable`, whose message holds nothing else. The
worker then leaves the PR marked and backs it off (`bot.store.dirty.back_off`:
a growing delay, capped), and the PR's status says what failed
(`failure_reason`) and when it is tried again, so a failure costs a few
tries an hour, never a loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from bot.keys import WorkKey
from bot.providers.base import FileTooLarge
from bot.retry import HTTP_ERRORS, RateLimited, classify

log = logging.getLogger(__name__)

FORGE_ERRORS = (*HTTP_ERRORS, requests.exceptions.RequestException, RateLimited)


class ForgeUnavailable(Exception):
    """The forge could not be read or written; the PR is evaluated again later."""

    def __init__(self, message: str, what: str = "no usable answer") -> None:
        super().__init__(message)
        self.what = what
        """The failure as kind and status (`describe`), safe to show."""


def failure_reason(exc: BaseException) -> str:
    """What made an evaluation fail, in words safe for a status: the forge's failure as
    kind and status, a file too large to read by name and size, anything else by its
    exception type only (exception texts may quote data)."""
    if isinstance(exc, ForgeUnavailable):
        return f"the forge failed ({exc.what})"
    if isinstance(exc, FileTooLarge):
        return f"{exc.path} is {exc.size:,} bytes, too large to read"
    return f"an internal error ({type(exc).__name__})"


def describe(exc: BaseException) -> str:
    """The failure as kind and status, never the exception's own text."""
    if isinstance(exc, RateLimited):
        return f"rate limited for {exc.wait:.0f} s"
    failure = classify(exc, time.time())
    status = f" {failure.status}" if failure.status else ""
    return f"{failure.kind}{status} ({type(exc).__name__})"


def guarded(key: WorkKey, work: Callable[[], str]) -> str:
    """Run `work`; turn a forge failure into a logged `ForgeUnavailable`."""
    try:
        return work()
    except FORGE_ERRORS as exc:
        what = describe(exc)
        log.warning(
            "%s: the forge failed (%s); the PR stays marked and is tried again later", key, what
        )
        raise ForgeUnavailable(f"{key}: the forge failed ({what})", what) from None
