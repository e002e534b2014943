"""What the fake GitHub and the fake GitLab share: the HTTP server, the way a request
passes faults and holds, the request log's queries, and the pytest fixtures.

Each fake (`fakegithub`, `fakegitlab`) keeps what makes it that forge —
routes, authentication, bodies, state — and hands this module a `dispatch`
for its requests; the plumbing around it behaves the same for both, so a
test's `fail`, `hold`, `mark` or `requests_since` means the same on either.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

from fakegithub.faults import Fault, FaultBook, Hold, Matcher
from fakegithub.recording import RecordedRequest, RequestLog
from fakegithub.state import utcnow

RecordT = TypeVar("RecordT", bound=RecordedRequest)
ReplyT = TypeVar("ReplyT")
T = TypeVar("T")

Dispatch = Callable[[BaseHTTPRequestHandler], None]


# -- the HTTP side --------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, dispatch: Dispatch, handler: type[BaseHTTPRequestHandler]) -> None:
        self.dispatch = dispatch
        super().__init__(("127.0.0.1", 0), handler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY every
    # response would wait out the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        self.server.dispatch(self)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The `Date` header follows the fake's clock (a test may install one), as
        # GitHub's follows the clock of its `updated_at` and `created_at`.
        return super().date_time_string(utcnow().timestamp() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request log is the record; stderr noise would only hide test output.
        return


def _handler_for(methods: Iterable[str]) -> type[BaseHTTPRequestHandler]:
    """A request handler answering the HTTP `methods` (others get the server's 501)."""
    answered = {f"do_{method}": _RequestHandler._handle for method in methods}
    return type("RequestHandler", (_RequestHandler,), answered)


class HttpFrontend:
    """Owns the listening socket on 127.0.0.1 and its serving thread."""

    def __init__(self, dispatch: Dispatch, methods: Iterable[str], *, name: str) -> None:
        self._server = _Server(dispatch, _handler_for(methods))
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=name,
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def read_request(
    handler: BaseHTTPRequestHandler, record_type: type[RecordT]
) -> tuple[RecordT, bytes]:
    """The request as the log records it (path without query, parsed query), and its body."""
    split = urllib.parse.urlsplit(handler.path)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    record = record_type(
        method=handler.command,
        path=split.path,
        query=query,
        headers={k: v for k, v in handler.headers.items()},
        body=body,
    )
    return record, body


def encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body).encode()


def answer(
    log: RequestLog,
    handler: BaseHTTPRequestHandler,
    record: RecordedRequest,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    content_type: str,
) -> None:
    """Log `record` with its response, then send it (`content_type` unless headers say)."""
    record.status = status
    record.response_body = body
    record.response_headers = dict(headers)
    log.append(record)
    handler.send_response(status)
    sent = {k.lower() for k in headers}
    for name, value in headers.items():
        handler.send_header(name, value)
    if body and "content-type" not in sent:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body and handler.command != "HEAD":
        handler.wfile.write(body)


def through_faults(
    faults: FaultBook,
    record: RecordedRequest,
    operation: str,
    act: Callable[[], ReplyT],
    *,
    performed: Callable[[ReplyT], bool],
    send: Callable[[ReplyT], None],
    send_fault: Callable[[int, bytes, dict[str, str]], None],
) -> None:
    """Do `act` the way the faults and holds in force allow, and send its reply — or a
    fault's status, body and headers when a fault answers instead.

    A fault without `after_action` answers before anything is done; holds park
    the request before and after the action; a fault with `after_action`
    replaces the answer of an action that happened.
    """
    method, path = record.method, record.path
    fault = faults.take_fault(method, path, operation, record.query)
    if fault is not None and not fault.after_action:
        send_fault(*_injected(record, fault))
        return
    hold = faults.take_hold(method, path, operation, after_action=False)
    if hold is not None:
        hold.park()
    reply = act()
    record.performed = performed(reply)
    hold = faults.take_hold(method, path, operation, after_action=True)
    if hold is not None:
        hold.park()
    if fault is not None:
        send_fault(*_injected(record, fault))
        return
    send(reply)


def _injected(record: RecordedRequest, fault: Fault) -> tuple[int, bytes, dict[str, str]]:
    record.injected = fault.label
    return fault.response()


# -- the handle tests hold ------------------------------------------------------


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


# -- pytest fixtures ------------------------------------------------------------


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


# -- pagination -----------------------------------------------------------------


def query_int(values: list[str] | None, default: int) -> int:
    """The first value of a query parameter as a number; `default` if absent or not one."""
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


def page_of(
    items: Sequence[T], query: dict[str, list[str]], *, default_per_page: int, max_per_page: int
) -> tuple[list[T], int, int, int]:
    """(the requested page of `items`, its number, the page size, the last page's number)."""
    per_page = max(1, min(query_int(query.get("per_page"), default_per_page), max_per_page))
    page = max(1, query_int(query.get("page"), 1))
    last = max(1, math.ceil(len(items) / per_page))
    return list(items[(page - 1) * per_page : page * per_page]), page, per_page, last
