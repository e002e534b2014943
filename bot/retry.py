"""The one place retry policies live (tenacity): which forge calls may be repeated, and when.

Forge clients are built without retries of their own (PyGithub with
`retry=None`, python-gitlab with `retry_transient_errors=False`): a blind library retry would repeat a merge or a deployment
after a 5xx that may well have happened. Callers wrap each call in the policy
that fits what the call does:

- `read` — GETs. Retried on 5xx, connection errors and timeouts, and on rate
  limits, with exponential backoff.
- `idempotent_write` — writes whose repetition leaves the same state: a
  commit status (GitHub keeps the latest per (sha, context), and posting the
  same state twice changes nothing the gate reads), a PATCH of a check run
  with the same fields. Retried like reads.
- `unsafe_write` — writes that create something each time (a check run, a
  merge, a deployment, a dispatch). Retried only when the forge certainly did
  not act: a rate-limit refusal, or a connection that was never opened. After
  a 5xx or a timeout the caller must look before it writes again (list the
  check runs, re-read the PR, list the deployments).

Rate limits: a secondary limit waits for `Retry-After` when the forge sends
it, else one minute (GitHub's advice); a primary limit (`x-ratelimit-remaining:
0`) waits until `x-ratelimit-reset`. A wait longer than `max_wait` is not
slept through: the error is raised, the PR stays dirty and a later sweep
tries again.

The `sleep` and `clock` functions are injectable so tests can observe the
waits instead of sleeping them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import requests
import tenacity
import urllib3.exceptions
from github.GithubException import GithubException

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# GitHub's advice for a secondary rate limit without a Retry-After header.
SECONDARY_LIMIT_DEFAULT_WAIT = 60.0

FailureKind = Literal["server", "connection", "timeout", "unsent", "rate_limit", "other"]


@dataclass(frozen=True)
class Failure:
    """What went wrong with one forge call, as far as retrying is concerned."""

    kind: FailureKind
    status: int | None = None
    wait: float | None = None
    """For rate limits: how long the forge asked us to wait, in seconds."""


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


class ForgeAnswer(Exception):
    """A forge answered outside 2xx, as raised by the adapters whose client library is not
    PyGithub (GitLab): the status, the forge's own message and the response headers."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None) -> None:
        super().__init__(status, message)
        self.status = status
        self.text = message
        self.headers = dict(headers or {})


class Sorted(Exception):
    """A failure of a client whose own exceptions the caller has already sorted (boto3's,
    which this module does not import): `failure` is what `classify` returns for it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind, failure.status)
        self.failure = failure


HTTP_ERRORS = (GithubException, ForgeAnswer)
"""The forge answered, with an error status: what `classify` reads statuses from."""


def _message(exc: GithubException | ForgeAnswer) -> str:
    if isinstance(exc, ForgeAnswer):
        return exc.text.lower()
    data = exc.data
    if isinstance(data, dict):
        return str(data.get("message") or "").lower()
    return ""


def rate_limit_wait(
    status: int, headers: Mapping[str, Any] | None, message: str, now: float
) -> float | None:
    """Seconds to wait before retrying a rate-limited response, or None if it is not one.

    GitHub answers a rate limit with 403 or 429. `Retry-After` wins when sent;
    an exhausted primary limit (`x-ratelimit-remaining: 0`) waits until
    `x-ratelimit-reset` (epoch seconds); a secondary limit without a header
    waits one minute.
    """
    if status not in (403, 429):
        return None
    retry_after = _number(_header(headers, "retry-after"))
    remaining = _header(headers, "x-ratelimit-remaining")
    secondary = "secondary rate limit" in message or message.endswith(
        (
            "please retry your request again later.",
            "please wait a few minutes before you try again.",
        )
    )
    primary = remaining is not None and remaining.strip() == "0"
    if retry_after is not None and (secondary or primary or status == 429):
        return max(retry_after, 0.0)
    if primary:
        reset = _number(_header(headers, "x-ratelimit-reset"))
        if reset is not None:
            return max(reset - now, 0.0)
    if secondary or status == 429:
        return SECONDARY_LIMIT_DEFAULT_WAIT
    return None


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """The connection was never established, so the forge cannot have acted."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


def classify(exc: BaseException, now: float) -> Failure:
    """Sort an exception raised by a forge client into what a retry policy decides on."""
    if isinstance(exc, Sorted):
        return exc.failure
    if isinstance(exc, HTTP_ERRORS):
        wait = rate_limit_wait(exc.status, exc.headers, _message(exc), now)
        if wait is not None:
            return Failure("rate_limit", exc.status, wait)
        if exc.status in TRANSIENT_STATUSES:
            return Failure("server", exc.status)
        return Failure("other", exc.status)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Failure("unsent" if _never_sent(exc) else "connection")
    if isinstance(exc, requests.exceptions.Timeout):
        return Failure("timeout")
    return Failure("other")


class RateLimited(Exception):
    """The forge asked for a longer pause than the bot will wait inside one evaluation."""

    def __init__(self, wait: float, limit: float) -> None:
        super().__init__(
            f"the forge's rate limit asks for a {wait:.0f} s pause, longer than the "
            f"{limit:.0f} s the bot waits within one evaluation; the PR stays queued"
        )
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """How one kind of call is retried; `call(fn)` runs `fn` under it."""

    name: str
    retry_kinds: frozenset[FailureKind]
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def wait_for(self, failure: Failure, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th (1-based) failed call."""
        if failure.kind == "rate_limit" and failure.wait is not None:
            return failure.wait
        backoff = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        # Up to a quarter of jitter keeps several workers from retrying in step.
        return backoff * (1 + self.jitter() / 4)

    def call(self, fn: Callable[[], T], what: str = "forge call") -> T:
        def should_retry(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if exc is None:
                return False
            return self._retryable(classify(exc, self.clock()))

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            assert exc is not None  # only called after a retryable failure
            return self.wait_for(classify(exc, self.clock()), state.attempt_number)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            failure = classify(exc, self.clock()) if exc is not None else Failure("other")
            delay = state.next_action.sleep if state.next_action else 0.0
            # The failure's kind and status only: exception texts may quote request data.
            log.warning(
                "%s failed (%s%s), attempt %d of %d; retrying in %.2f s",
                what,
                failure.kind,
                f" {failure.status}" if failure.status else "",
                state.attempt_number,
                self.attempts,
                delay,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=wait,
            retry=should_retry,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except (*HTTP_ERRORS, Sorted, requests.exceptions.RequestException) as exc:
            failure = classify(exc, self.clock())
            too_long = (failure.wait or 0.0) > self.max_wait
            if failure.kind == "rate_limit" and failure.kind in self.retry_kinds and too_long:
                raise RateLimited(failure.wait or 0.0, self.max_wait) from exc
            raise

    def _retryable(self, failure: Failure) -> bool:
        if failure.kind not in self.retry_kinds:
            return False
        return failure.kind != "rate_limit" or (failure.wait or 0.0) <= self.max_wait


@dataclass(frozen=True)
class RetryPolicies:
    """The three policies, configured once from the settings and handed to the adapters."""

    read: RetryPolicy
    idempotent_write: RetryPolicy
    unsafe_write: RetryPolicy

    @classmethod
    def build(
        cls,
        *,
        max_wait: float = 60.0,
        attempts: int = 4,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> RetryPolicies:
        common: dict[str, Any] = {
            "attempts": attempts,
            "base_delay": base_delay,
            "max_wait": max_wait,
            "sleep": sleep,
            "clock": clock,
        }
        repeatable: frozenset[FailureKind] = frozenset(
            {"server", "connection", "timeout", "unsent", "rate_limit"}
        )
        return cls(
            read=RetryPolicy("read", repeatable, **common),
            idempotent_write=RetryPolicy("idempotent write", repeatable, **common),
            unsafe_write=RetryPolicy("unsafe write", frozenset({"unsent", "rate_limit"}), **common),
        )


__all__ = [
    "Failure",
    "RateLimited",
    "RetryPolicies",
    "RetryPolicy",
    "Sorted",
    "classify",
    "rate_limit_wait",
]
