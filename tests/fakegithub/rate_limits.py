"""GitHub's rate-limit answers as faults: the secondary limit (403 or 429 with
`Retry-After`) and the primary one (403 with no requests remaining)."""

from __future__ import annotations

import time

from support.fakes.faults import Fault, Matcher

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before "
    "you try again. If you reach out to GitHub Support for help, please include "
    "the request ID."
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PRIMARY_RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"


def secondary_rate_limit_fault(
    matcher: Matcher, retry_after: int | None, status: int, times: int, after_action: bool
) -> Fault:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4990",
        "x-ratelimit-used": "10",
        "x-ratelimit-reset": str(int(time.time()) + 3600),
        "x-ratelimit-resource": "core",
    }
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {"message": SECONDARY_RATE_LIMIT_MESSAGE, "documentation_url": SECONDARY_RATE_LIMIT_DOCS}
    return Fault(matcher, status, times, after_action, body, headers, label="secondary-rate-limit")


def primary_rate_limit_fault(matcher: Matcher, reset_in: int, times: int) -> Fault:
    reset = int(time.time()) + reset_in
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-resource": "core",
    }
    body = {
        "message": "API rate limit exceeded for installation.",
        "documentation_url": PRIMARY_RATE_LIMIT_DOCS,
    }
    return Fault(matcher, 403, times, False, body, headers, label="primary-rate-limit")
