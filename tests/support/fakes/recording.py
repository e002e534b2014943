"""A fake forge's log: one record per HTTP request, with what it answered.

The fake GitLab logs `GitLabRequest`, a `RecordedRequest` that adds the user
a token belongs to; `operation_id` holds its route name. `round_trips` tells
from the records' times how many answers a piece of work waited for in a row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedRequest:
    """A request as the fake saw it and the response it sent.

    `headers` are kept as sent (the tokens in them are the fake's own);
    `auth_scheme` is "token", "bearer" or None, `auth_kind` (set by the fake
    GitHub) what the credentials proved to be: "app" (a valid JWT),
    "installation" (a valid installation token) or None. `injected` names the fault that produced or
    replaced the response, if any.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    operation_id: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    auth_kind: str | None = None
    installation_id: int | None = None
    injected: str | None = None
    performed: bool = False
    started: float = 0.0
    """When the request arrived (`time.monotonic()`, before the fake's latency)."""
    ended: float = 0.0
    """When its answer went out (`time.monotonic()`)."""

    @property
    def json(self) -> Any:
        """The request body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None

    @property
    def response_json(self) -> Any:
        return json.loads(self.response_body) if self.response_body else None

    @property
    def authorization(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                return value
        return None

    @property
    def auth_scheme(self) -> str | None:
        value = self.authorization
        if not value:
            return None
        return value.split(" ", 1)[0].lower()

    @property
    def unknown(self) -> bool:
        return self.operation_id is None

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, vs in self.query.items() for v in vs)
        target = f"{self.path}?{query}" if query else self.path
        return f"{self.method} {target} [{self.operation_id or 'unknown'}] -> {self.status}"


class RequestLog:
    """Thread-safe, append-only list of RecordedRequest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        # How many of the first i records were answered 304, for each i: the fake
        # GitHub's rate-limit headers on every answer count the others, and a scan
        # of the whole log per answer made a long benchmark quadratic.
        self._not_modified = [0]

    def append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)
            self._not_modified.append(self._not_modified[-1] + (record.status == 304))

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def answered_since(self, mark: int) -> tuple[int, int]:
        """(requests logged since the position `mark`, of those answered 304)."""
        with self._lock:
            start = min(max(mark, 0), len(self._records))
            return (
                len(self._records) - start,
                self._not_modified[-1] - self._not_modified[start],
            )

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._not_modified = [0]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def round_trips(intervals: Iterable[tuple[float, float]]) -> int:
    """The longest chain of requests one after another: the most (start, end) intervals
    that do not overlap. Requests sent together count once, so this is how many
    latencies a piece of work waits out in a row, however many requests it makes."""
    count, free_at = 0, float("-inf")
    # Taking the interval that ends first, whenever one starts after the chain's end,
    # builds a longest chain (the classic interval scheduling argument).
    for start, end in sorted(intervals, key=lambda interval: interval[1]):
        if start >= free_at:
            count, free_at = count + 1, end
    return count
