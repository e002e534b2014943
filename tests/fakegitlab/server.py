"""The fake GitLab's HTTP side: a threaded server on 127.0.0.1 and the dispatch
of each request through route matching, token authentication, faults, holds,
the route's handler and the request log.

The API lives under /api/v4, as on GitLab. A request to a route the fake
does not implement answers 404 `{"error": "404 Not Found"}` (GitLab's body
for an unknown route) and is logged with no route, so `fake.unknown_requests`
and `fake.assert_clean()` catch code that calls something the fake (and so
the tests) never covered.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from fakegithub.recording import RecordedRequest

from .handlers import Call, Reply, match
from .shapes import example
from .state import GitLabError

if TYPE_CHECKING:
    from .fake import FakeGitLab

API_PREFIX = "/api/v4"


@dataclass
class GitLabRequest(RecordedRequest):
    """A logged request; `route` is the matched route name (None: unknown) and
    `user` the username its token belongs to (None: unauthenticated)."""

    user: str | None = None

    @property
    def route(self) -> str | None:
        return self.operation_id


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeGitLab) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY every
    # response would wait out the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        dispatch(self.server.fake, self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request log is the record; stderr noise would only hide test output.
        return


class HttpFrontend:
    """Owns the listening socket and its serving thread."""

    def __init__(self, fake: FakeGitLab) -> None:
        self._server = _Server(fake)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-gitlab",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _token(headers: Any) -> str | None:
    private = headers.get("PRIVATE-TOKEN")
    if private:
        return str(private)
    authorization = headers.get("Authorization") or ""
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "application/x-www-form-urlencoded" in content_type:
        parsed = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def dispatch(fake: FakeGitLab, handler: BaseHTTPRequestHandler) -> None:
    split = urllib.parse.urlsplit(handler.path)
    raw_path = split.path
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    length = int(handler.headers.get("Content-Length") or 0)
    raw_body = handler.rfile.read(length) if length else b""
    record = GitLabRequest(
        method=handler.command,
        path=raw_path,
        query=query,
        headers={k: v for k, v in handler.headers.items()},
        body=raw_body,
    )
    headers = {"X-Request-Id": uuid.uuid4().hex[:26].upper()}
    api_path = raw_path[len(API_PREFIX) :] if raw_path.startswith(API_PREFIX + "/") else None
    matched = match(handler.command, api_path) if api_path is not None else None
    if matched is None:
        _finish(
            fake, handler, record, Reply(404, example("api/error_404_unknown_route.json")), headers
        )
        return
    route_name, params = matched
    record.operation_id = route_name
    record.path_params = params

    with fake.world.lock:
        user = fake.world.token_user(_token(handler.headers))
    if user is None:
        _finish(fake, handler, record, Reply(401, {"message": "401 Unauthorized"}), headers)
        return
    record.user = user.username
    record.auth_kind = "token"
    try:
        body = _parse_body(raw_body, handler.headers.get("Content-Type") or "")
    except ValueError:
        _finish(
            fake,
            handler,
            record,
            Reply(400, {"error": "The request body is not valid JSON"}),
            headers,
        )
        return
    call = Call(route_name, params, query, body, user, f"{fake.url}{raw_path}")

    fault = fake.faults.take_fault(handler.command, raw_path, route_name, query)
    if fault is not None and not fault.after_action:
        record.injected = fault.label
        status, fault_body, fault_headers = fault.response()
        _finish_raw(fake, handler, record, status, fault_body, {**headers, **fault_headers})
        return

    hold = fake.faults.take_hold(handler.command, raw_path, route_name, after_action=False)
    if hold is not None:
        hold.park()

    try:
        with fake.world.lock:
            reply = fake.handlers.dispatch(route_name, call)
    except GitLabError as error:
        reply = Reply(error.status, error.body)
    record.performed = reply.status < 400

    hold = fake.faults.take_hold(handler.command, raw_path, route_name, after_action=True)
    if hold is not None:
        hold.park()

    if fault is not None:
        record.injected = fault.label
        status, fault_body, fault_headers = fault.response()
        _finish_raw(fake, handler, record, status, fault_body, {**headers, **fault_headers})
        return
    _finish(fake, handler, record, reply, headers)


def _finish(
    fake: FakeGitLab,
    handler: BaseHTTPRequestHandler,
    record: GitLabRequest,
    reply: Reply,
    headers: dict[str, str],
) -> None:
    if reply.raw is not None:
        body = reply.raw
    elif reply.body is None:
        body = b""
    else:
        body = json.dumps(reply.body).encode()
    _finish_raw(fake, handler, record, reply.status, body, {**headers, **reply.headers})


def _finish_raw(
    fake: FakeGitLab,
    handler: BaseHTTPRequestHandler,
    record: GitLabRequest,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    record.status = status
    record.response_body = body
    record.response_headers = dict(headers)
    fake.log.append(record)
    handler.send_response(status)
    sent = {k.lower() for k in headers}
    for name, value in headers.items():
        handler.send_header(name, value)
    if body and "content-type" not in sent:
        handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body and handler.command != "HEAD":
        handler.wfile.write(body)
