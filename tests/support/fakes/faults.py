"""Fault injection for both fakes: canned failures and held requests, matched by
operation (GitHub's operationId, GitLab's route name) or path.

A `Fault` answers the next `times` matching requests with an error status
instead of (or, with `after_action=True`, after) doing what was asked: a
merge that answers 500 but happened. A `Hold` parks matching requests in the
server thread until the test releases them, before or after the action, to
stand for a slow forge while something else happens (a worker killed,
another event arriving). A fault without a body answers GitHub's
`{"message": ...}`; the fake GitLab gives its own (`default_fault_body`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MESSAGES = {
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time.",
}


@dataclass
class Matcher:
    """Which requests a rule applies to: an operationId and/or a path regex, and a method;
    optionally query parameters that must be present with these values (e.g. a page)."""

    operation: str | None = None
    path: str | None = None
    method: str | None = None
    query: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.operation is None and self.path is None:
            raise ValueError("give an operation id or a path pattern")
        self._path_re = re.compile(self.path) if self.path is not None else None

    def matches(
        self,
        method: str,
        path: str,
        operation_id: str | None,
        query: dict[str, list[str]] | None = None,
    ) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.operation is not None and self.operation != operation_id:
            return False
        if self.query and any(
            (query or {}).get(name, [None])[0] != value for name, value in self.query.items()
        ):
            return False
        return not (self._path_re is not None and not self._path_re.search(path))


@dataclass
class Fault:
    matcher: Matcher
    status: int
    times: int
    after_action: bool = False
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    label: str = "fault"
    used: int = 0

    def response(self) -> tuple[int, bytes, dict[str, str]]:
        body = self.body
        if body is None:
            body = {"message": DEFAULT_MESSAGES.get(self.status, "Server Error")}
        encoded = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.status, encoded, dict(self.headers)


class Hold:
    """Parks matching requests until `release()`; `arrived` is set when one is parked."""

    def __init__(self, matcher: Matcher, times: int, after_action: bool, timeout: float) -> None:
        self.matcher = matcher
        self.times = times
        self.after_action = after_action
        self.timeout = timeout
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.count = 0

    def wait_arrived(self, timeout: float = 10.0) -> bool:
        """True once a matching request is parked (False when none came within `timeout`)."""
        return self.arrived.wait(timeout)

    def release(self) -> None:
        self.released.set()

    def park(self) -> bool:
        """Called from the server thread; returns False when the hold timed out unreleased."""
        self.arrived.set()
        return self.released.wait(self.timeout)


class FaultBook:
    """The faults and holds in force, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._holds: list[Hold] = []

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_hold(self, hold: Hold) -> Hold:
        with self._lock:
            self._holds.append(hold)
        return hold

    def take_fault(
        self,
        method: str,
        path: str,
        operation_id: str | None,
        query: dict[str, list[str]] | None = None,
    ) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.used < fault.times and fault.matcher.matches(
                    method, path, operation_id, query
                ):
                    fault.used += 1
                    return fault
        return None

    def take_hold(
        self, method: str, path: str, operation_id: str | None, after_action: bool
    ) -> Hold | None:
        with self._lock:
            for hold in self._holds:
                if (
                    hold.after_action == after_action
                    and hold.count < hold.times
                    and hold.matcher.matches(method, path, operation_id)
                ):
                    hold.count += 1
                    return hold
        return None

    def release_all(self) -> None:
        with self._lock:
            holds = list(self._holds)
        for hold in holds:
            hold.release()

    def clear(self) -> None:
        self.release_all()
        with self._lock:
            self._faults.clear()
            self._holds.clear()
