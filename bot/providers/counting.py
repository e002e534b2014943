"""The request budget: every HTTP request an evaluation sends to a forge, counted at the wire.

Both forge libraries speak HTTP through `requests`, so the count is taken in
a `requests` transport adapter (`CountingAdapter`): each page of a list,
each token mint, each 404 of a fallback and each retried attempt is one
entry, whatever the library does above it. A `RequestTally` belongs to one
evaluation and is stored with it (`bot.store.requests`). The same adapter
counts each request in `gatebot_forge_requests_total` by forge, route
template (`bot.providers.routes`) and status, and keeps the rate-limit
headers of each answer in `gatebot_forge_rate_limit_remaining`.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from bot.providers.routes import route_of

# GitHub's and GitLab's names for what is left of the window; GitHub also names
# which window (core, search, graphql...).
_REMAINING = ("X-RateLimit-Remaining", "RateLimit-Remaining")
_RESOURCE = "X-RateLimit-Resource"


@dataclass(frozen=True)
class SentRequest:
    """One request on the wire: method, path with query, and the status (None: no answer)."""

    method: str
    target: str
    status: int | None

    def __str__(self) -> str:
        answer = str(self.status) if self.status is not None else "no answer"
        return f"{self.method} {self.target} -> {answer}"


class RequestTally:
    """The requests of one evaluation, in the order they were sent; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[SentRequest] = []

    def record(self, method: str, url: str, status: int | None) -> None:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self._sent.append(SentRequest(method.upper(), target, status))

    @property
    def sent(self) -> tuple[SentRequest, ...]:
        with self._lock:
            return tuple(self._sent)

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._sent)

    def lines(self) -> list[str]:
        return [str(r) for r in self.sent]


class CountingAdapter(HTTPAdapter):
    """A transport adapter that records every request it sends to `forge` in a tally
    and in the metrics."""

    def __init__(self, tally: RequestTally, forge: str, **kwargs: Any) -> None:
        self.tally = tally
        self.forge = forge
        super().__init__(**kwargs)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        method = request.method or "GET"
        url = request.url or ""
        try:
            response = super().send(request, *args, **kwargs)
        except requests.exceptions.RequestException:
            self.tally.record(method, url, None)
            self._count(method, url, None)
            raise
        self.tally.record(method, url, response.status_code)
        self._count(method, url, response)
        return response

    def _count(self, method: str, url: str, response: requests.Response | None) -> None:
        # Imported on first use: checking the settings loads the forge clients, and that
        # happens before the metrics directory is set up (`bot.metrics_files`).
        from bot import metrics

        status = str(response.status_code) if response is not None else "none"
        metrics.FORGE_REQUESTS.labels(
            forge=self.forge, route=route_of(method, url), status=status
        ).inc()
        if response is None:
            return
        for header in _REMAINING:
            remaining = response.headers.get(header, "").strip()
            if remaining.isdigit():
                resource = response.headers.get(_RESOURCE, "").strip().lower()
                metrics.RATE_LIMIT_REMAINING.labels(
                    forge=self.forge, resource=resource if resource.isidentifier() else "default"
                ).set(int(remaining))
                return


def count_requests(
    session: requests.Session, tally: RequestTally, forge: str, **adapter: Any
) -> None:
    """Route every request of `session` to `forge` through a counting adapter (no retries
    of its own)."""
    mounted: Mapping[str, Any] = dict(session.adapters)
    for prefix in mounted:
        session.mount(prefix, CountingAdapter(tally, forge, max_retries=0, **adapter))
