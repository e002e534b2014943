"""The fake GitHub's HTTP side: a threaded server on 127.0.0.1 and the dispatch
of each request through matching, authentication, faults, holds, the
operation's handler, the conditional GET (`support.fakes.conditional`: an ETag
on every successful GET, 304 to one whose `If-None-Match` names it) and the
request log.

Everything a client can do goes over HTTP, so a `gatebot serve` started as a
subprocess with `GITHUB_API_URL` pointing here sees the same GitHub as the
test process, which inspects and arranges state in-process. GraphQL
(`POST /graphql`, `/api/graphql` on Enterprise) is answered by `graphql`.
"""

from __future__ import annotations

import json
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from support.fakes import conditional
from support.fakes import server as shared
from support.fakes.recording import RecordedRequest

from . import app_pages, graphql
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
from .schemas import body_errors
from .state import utcnow

if TYPE_CHECKING:
    from .fake import FakeGitHub

UNKNOWN_OPERATION_DOCS = "tests/fixtures/github/rest-operations.json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONTENT_TYPE = "application/json; charset=utf-8"


class HttpFrontend(shared.HttpFrontend):
    """Owns the listening socket and its serving thread."""

    def __init__(self, fake: FakeGitHub) -> None:
        # GitHub's `Date` follows the clock its timestamps use (a test may install one).
        super().__init__(
            lambda handler: dispatch(fake, handler), METHODS, name="fake-github", clock=utcnow
        )


def _rate_headers(fake: FakeGitHub, resource: str = "core") -> dict[str, str]:
    # A 304 to a conditional GET costs no rate limit.
    used = fake.counted()
    return {
        "x-ratelimit-limit": str(fake.rate_limit),
        "x-ratelimit-remaining": str(max(0, fake.rate_limit - used)),
        "x-ratelimit-used": str(used),
        "x-ratelimit-reset": str(int(time.time()) + 3600),
        "x-ratelimit-resource": resource,
    }


def _error_reply(fake: FakeGitHub, error: GitHubError) -> Reply:
    return Reply(error.status, fake.shapes.error(error.message, error.status, **error.extra))


# Reads any installation token may make of a public repository of another owner.
PUBLIC_READS = frozenset({"repos/get", "repos/get-content"})


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
    target = fake.world.repos.get(repo_key)
    # Any installation token reads public repositories, whoever owns them.
    public = operation_id in PUBLIC_READS and target is not None and not target.private
    call.caller = authenticate_installation(
        fake.world, authorization, None if public else repo_key
    )
    # A valid token for a repository that does not exist answers 404, like GitHub.
    fake.world.repo(repo_key)


def dispatch(fake: FakeGitHub, handler: BaseHTTPRequestHandler) -> None:
    record, body = shared.read_request(handler, RecordedRequest)
    if record.path.startswith(app_pages.ENTERPRISE_API + "/"):
        # GitHub Enterprise Server's API lives under /api/v3 of the web address.
        record.path = record.path[len(app_pages.ENTERPRISE_API) :]
    raw_path, query = record.path, record.query
    headers = {"X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(), **_rate_headers(fake)}
    web_page = app_pages.page(fake, handler.command, raw_path, query, body)
    if web_page is not None:
        status, text, page_headers = web_page
        shared.answer(fake.log, handler, record, status, text, page_headers,
                      content_type=app_pages.HTML)
        return
    if handler.command == "POST" and raw_path in graphql.PATHS:
        _graphql(fake, handler, record, body)
        return
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
    call = Call(operation, params, query, None, None, f"{fake.api_url}{raw_path}", record.headers)
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

    def act() -> Reply:
        try:
            with fake.world.lock:
                return handler_for(fake.handlers, operation.operation_id)(call)
        except GitHubError as error:
            return _error_reply(fake, error)

    shared.through_faults(
        fake.faults,
        record,
        operation.operation_id,
        act,
        performed=lambda reply: reply.status < 400,
        send=lambda reply: _finish(fake, handler, record, reply, headers),
        send_fault=lambda status, body, extra: _finish_raw(
            fake, handler, record, status, body, {**headers, **extra}
        ),
    )


def _graphql(
    fake: FakeGitHub, handler: BaseHTTPRequestHandler, record: RecordedRequest, body: bytes
) -> None:
    """A GraphQL request: installation-token auth like REST, then validated and executed
    (`graphql`), always answered 200 unless authentication fails or a fault answers."""
    record.operation_id = graphql.OPERATION
    headers = {
        "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
        **_rate_headers(fake, "graphql"),
    }
    try:
        with fake.world.lock:
            caller = authenticate_installation(
                fake.world, handler.headers.get("Authorization"), None
            )
    except GitHubError as error:
        _finish(fake, handler, record, _error_reply(fake, error), headers)
        return
    record.auth_kind = caller.kind
    record.installation_id = caller.installation_id
    try:
        request = json.loads(body) if body else None
    except ValueError:
        _finish(fake, handler, record, Reply(200, {"errors": [{"message": "Problems parsing JSON"}]}), headers)
        return

    def act() -> Reply:
        with fake.world.lock:
            return Reply(200, graphql.answer(fake.world, caller, request))

    shared.through_faults(
        fake.faults,
        record,
        graphql.OPERATION,
        act,
        performed=lambda reply: "errors" not in reply.body,
        send=lambda reply: _finish(fake, handler, record, reply, headers),
        send_fault=lambda status, body, extra: _finish_raw(
            fake, handler, record, status, body, {**headers, **extra}
        ),
    )


def _finish(
    fake: FakeGitHub,
    handler: BaseHTTPRequestHandler,
    record: RecordedRequest,
    reply: Reply,
    headers: dict[str, str],
) -> None:
    body = reply.text.encode() if reply.text is not None else shared.encode(reply.body)
    status, body, sent = conditional.answer(
        handler.command, record.headers, reply.status, body, {**headers, **reply.headers}
    )
    _finish_raw(fake, handler, record, status, body, sent)


def _finish_raw(
    fake: FakeGitHub,
    handler: BaseHTTPRequestHandler,
    record: RecordedRequest,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    shared.answer(
        fake.log, handler, record, status, body, headers, content_type=CONTENT_TYPE
    )
