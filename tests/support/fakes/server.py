"""The HTTP side both fakes share: a threaded server on 127.0.0.1, reading a request
into its log record, sending the answer, and passing faults and holds.

A `latency` (seconds, settable while serving) delays every answer by that
long, as a distant forge would; each request waits on its own thread, so
concurrent requests overlap their latency as they do over a real network.
Each log record carries when the request arrived and when its answer went
out (`time.monotonic()`), so the round trips of a piece of work can be told
from the log (`recording.round_trips`).

Each fake hands `HttpFrontend` a `dispatch` for its requests (routes,
authentication, bodies) and uses these helpers around it, so the plumbing
behaves the same for both.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from support.fakes.faults import Fault, FaultBook
from support.fakes.recording import RecordedRequest, RequestLog

RecordT = TypeVar("RecordT", bound=RecordedRequest)
ReplyT = TypeVar("ReplyT")

Dispatch = Callable[[BaseHTTPRequestHandler], None]
Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    """The real time, to the second (as forges report it)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, dispatch: Dispatch, handler: type[BaseHTTPRequestHandler], clock: Clock
    ) -> None:
        self.dispatch = dispatch
        self.clock = clock
        self.latency = 0.0
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer went out (a process killed mid-request)
        # is no fault of the fake's; anything else is printed as socketserver does.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY every
    # response would wait out the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server
    received_at = 0.0
    """When the request arrived (`time.monotonic()`), before the latency was waited out."""

    def _handle(self) -> None:
        self.received_at = time.monotonic()
        latency = self.server.latency
        if latency:
            time.sleep(latency)
        self.server.dispatch(self)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The `Date` header follows the fake's clock (a test may install one on the
        # fake GitHub), as a forge's follows the clock of its `updated_at` and `created_at`.
        now = self.server.clock().timestamp() if timestamp is None else timestamp
        return super().date_time_string(now)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request log is the record; stderr noise would only hide test output.
        return


def _handler_for(methods: Iterable[str]) -> type[BaseHTTPRequestHandler]:
    """A request handler answering the HTTP `methods` (others get the server's 501)."""
    answered = {f"do_{method}": _RequestHandler._handle for method in methods}
    return type("RequestHandler", (_RequestHandler,), answered)


class HttpFrontend:
    """Owns the listening socket on 127.0.0.1 and its serving thread; the `Date` header
    reads `clock`."""

    def __init__(
        self, dispatch: Dispatch, methods: Iterable[str], *, name: str, clock: Clock = wall_clock
    ) -> None:
        self._server = _Server(dispatch, _handler_for(methods), clock)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=name,
            daemon=True,
        )

    @property
    def latency(self) -> float:
        """Seconds every answer is delayed by."""
        return self._server.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._server.latency = seconds

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def read_request(
    handler: BaseHTTPRequestHandler, record_type: type[RecordT]
) -> tuple[RecordT, bytes]:
    """The request as the log records it (path without query, parsed query, when it
    arrived), and its body."""
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
        started=(
            handler.received_at if isinstance(handler, _RequestHandler) else time.monotonic()
        ),
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
    record.ended = time.monotonic()
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
