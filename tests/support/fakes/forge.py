"""The handle tests hold on either fake: lifecycle, request log queries, faults and
holds — so a test's `fail`, `hold`, `mark` or `requests_since` means the same on
both — and the pytest fixture helper that starts and stops them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self, TypeVar

from support.fakes.faults import Fault, FaultBook, Hold, Matcher
from support.fakes.recording import RecordedRequest, RequestLog
from support.fakes.server import HttpFrontend


class FakeForge:
    """Lifecycle, request log and faults of a fake forge; the forge's class adds the rest.

    Needs `log` (a `RequestLog`), `faults` (a `FaultBook`) and `_frontend`
    (an `HttpFrontend`), set by the forge's constructor, which also sets
    `_started` to False.
    """

    log: RequestLog
    faults: FaultBook
    _frontend: HttpFrontend
    _started: bool

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> Self:
        if not self._started:
            self._frontend.start()
            self._started = True
        return self

    def stop(self) -> None:
        self.faults.release_all()
        if self._started:
            self._frontend.stop()
            self._started = False

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by `seconds` from now on (0: answer at once); concurrent
        requests wait theirs out together, as over a real network."""
        self._frontend.latency = seconds

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request log --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.log.snapshot()

    @property
    def request_count(self) -> int:
        return len(self.log)

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests that matched nothing the fake implements (answered 404)."""
        return [r for r in self.requests if r.unknown]

    def requests_for(
        self, operation: str | None = None, *, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Logged requests by operation (GitHub's operationId, GitLab's route name),
        method and/or a path regex."""
        matcher = Matcher(operation, path, method) if (operation or path) else None
        return [
            r
            for r in self.requests
            if (matcher is None or matcher.matches(r.method, r.path, r.operation_id))
            and (method is None or r.method == method.upper())
        ]

    def mark(self) -> int:
        """A position in the log, for `requests_since` (e.g. around one evaluation)."""
        return len(self.log)

    def requests_since(self, mark: int) -> list[RecordedRequest]:
        return self.requests[mark:]

    def reset_log(self) -> None:
        self.log.clear()

    # -- faults -------------------------------------------------------------

    def default_fault_body(self, status: int) -> Any:
        """The body of an injected `status` when the test gives none (None: the
        fault's own, GitHub's style)."""
        return None

    def fail(
        self,
        operation: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        status: int = 500,
        times: int = 1,
        after_action: bool = False,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Fault:
        """The next `times` matching requests answer `status`; with `after_action`
        the request is performed first (a merge that answers 500 but happened).
        `query` narrows the match to requests carrying those parameters (`{"page": "2"}`)."""
        matcher = Matcher(operation, path, method, dict(query) if query else None)
        if body is None:
            body = self.default_fault_body(status)
        return self.faults.add_fault(
            Fault(matcher, status, times, after_action, body, dict(headers or {}))
        )

    def hold(
        self,
        operation: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        after_action: bool = False,
        timeout: float = 30.0,
    ) -> Hold:
        """Park the next `times` matching requests until `hold.release()` (or `timeout`)."""
        return self.faults.add_hold(
            Hold(Matcher(operation, path, method), times, after_action, timeout)
        )

    def clear_faults(self) -> None:
        self.faults.clear()


FakeT = TypeVar("FakeT", bound=FakeForge)


def started_fakes(make: Callable[..., FakeT]) -> Iterator[Callable[..., FakeT]]:
    """For a factory fixture: `make(**options)`, started; every one made is stopped at
    teardown."""
    started: list[FakeT] = []

    def start(**options: Any) -> FakeT:
        fake = make(**options).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
