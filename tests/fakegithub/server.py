"""The fake GitHub's HTTP side: a threaded server on 127.0.0.1 and the dispatch
of each request through matching, authentication, faults, holds, the
operation's handler and the request log.

Everything a client can do goes over HTTP, so a `gatebot serve` started as a
subprocess with `GITHUB_API_URL` pointing here sees the same GitHub as the
test process, which inspects and arranges state in-process.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .auth import authenticate_app, authenticate_installation
from .handlers import (
    APP_JWT_OPERATIONS,
    ORG_OPERATIONS,
    UNAUTHENTICATED_OPERATIONS,
    Call,
    GitHubError,
    Reply,
    handler_for,
)
from .recording import RecordedRequest
from .schemas import body_errors

if TYPE_CHECKING:
    from .fake import FakeGitHub

UNKNOWN_OPERATION_DOCS = "tests/fixtures/github/rest-operations.json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeGitHub) -> None:
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

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request log is the record; stderr noise would only hide test output.
        return


class HttpFrontend:
    """Owns the listening socket and its serving thread."""

    def __init__(self, fake: FakeGitHub) -> None:
        self._server = _Server(fake)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-github",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _rate_headers(fake: FakeGitHub) -> dict[str, str]:
    used = len(fake.log)
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(max(0, 5000 - used)),
        "x-ratelimit-used": str(used),
        "x-ratelimit-reset": str(int(time.time()) + 3600),
        "x-ratelimit-resource": "core",
    }


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
) -> None:
    handler.send_response(status)
    sent = {k.lower() for k in headers}
    for name, value in headers.items():
        handler.send_header(name, value)
    if body and "content-type" not in sent:
        handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body and handler.command != "HEAD":
        handler.wfile.write(body)


def _encode(body: Any) -> bytes:
    if body is None:
        return b""
    return json.dumps(body).encode()


def _error_reply(fake: FakeGitHub, error: GitHubError) -> Reply:
    return Reply(error.status, fake.shapes.error(error.message, error.status, **error.extra))


def _authenticate(
    fake: FakeGitHub, call: Call, operation_id: str, authorization: str | None
) -> None:
    if operation_id in UNAUTHENTICATED_OPERATIONS:
        return
    if operation_id in APP_JWT_OPERATIONS:
        call.caller = authenticate_app(fake.world, fake.public_key_pem, authorization)
        return
    if operation_id in ORG_OPERATIONS:
        call.caller = authenticate_installation(fake.world, authorization, None)
        return
    repo_key = f"{call.params['owner']}/{call.params['repo']}".lower()
    call.caller = authenticate_installation(fake.world, authorization, repo_key)
    # A valid token for a repository that does not exist answers 404, like GitHub.
    fake.world.repo(repo_key)


def dispatch(fake: FakeGitHub, handler: BaseHTTPRequestHandler) -> None:
    split = urllib.parse.urlsplit(handler.path)
    raw_path = split.path
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    record = RecordedRequest(
        method=handler.command,
        path=raw_path,
        query=query,
        headers={k: v for k, v in handler.headers.items()},
        body=body,
    )
    headers = {"X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(), **_rate_headers(fake)}
    matched = fake.operations.match(handler.command, raw_path)
    if matched is None:
        reply = Reply(
            404,
            {
                "message": "Not Found",
                "documentation_url": UNKNOWN_OPERATION_DOCS,
                "fake_github": f"no operation in rest-operations.json matches {handler.command} {raw_path}",
            },
        )
        _finish(fake, handler, record, reply, headers)
        return
    operation, params = matched
    record.operation_id = operation.operation_id
    record.path_params = params
    call = Call(operation, params, query, None, None, f"{fake.url}{raw_path}")
    try:
        call.body = json.loads(body) if body else None
    except ValueError:
        _finish(fake, handler, record, Reply(400, {"message": "Problems parsing JSON"}), headers)
        return

    try:
        with fake.world.lock:
            _authenticate(fake, call, operation.operation_id, handler.headers.get("Authorization"))
    except GitHubError as error:
        _finish(fake, handler, record, _error_reply(fake, error), headers)
        return
    if call.caller is not None:
        record.auth_kind = call.caller.kind
        record.installation_id = call.caller.installation_id

    if body:
        problems = body_errors(operation.operation_id, call.body)
    elif (operation.request_body or {}).get("required"):
        problems = ["request body is required"]
    else:
        problems = []
    if problems:
        # GitHub refuses a body its schema rejects before doing anything.
        message = "Invalid request.\n\n" + "\n".join(problems)
        invalid = Reply(
            422, {"message": message, "documentation_url": "https://docs.github.com/rest"}
        )
        _finish(fake, handler, record, invalid, headers)
        return

    fault = fake.faults.take_fault(handler.command, raw_path, operation.operation_id, query)
    if fault is not None and not fault.after_action:
        record.injected = fault.label
        status, fault_body, fault_headers = fault.response()
        _finish_raw(fake, handler, record, status, fault_body, {**headers, **fault_headers})
        return

    hold = fake.faults.take_hold(
        handler.command, raw_path, operation.operation_id, after_action=False
    )
    if hold is not None:
        hold.park()

    try:
        with fake.world.lock:
            reply = handler_for(fake.handlers, operation.operation_id)(call)
    except GitHubError as error:
        reply = _error_reply(fake, error)
    record.performed = reply.status < 400

    hold = fake.faults.take_hold(
        handler.command, raw_path, operation.operation_id, after_action=True
    )
    if hold is not None:
        hold.park()

    if fault is not None:
        record.injected = fault.label
        status, fault_body, fault_headers = fault.response()
        _finish_raw(fake, handler, record, status, fault_body, {**headers, **fault_headers})
        return
    _finish(fake, handler, record, reply, headers)


def _finish(
    fake: FakeGitHub,
    handler: BaseHTTPRequestHandler,
    record: RecordedRequest,
    reply: Reply,
    headers: dict[str, str],
) -> None:
    _finish_raw(
        fake, handler, record, reply.status, _encode(reply.body), {**headers, **reply.headers}
    )


def _finish_raw(
    fake: FakeGitHub,
    handler: BaseHTTPRequestHandler,
    record: RecordedRequest,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    record.status = status
    record.response_body = body
    record.response_headers = dict(headers)
    fake.log.append(record)
    _send(handler, status, body, headers)
