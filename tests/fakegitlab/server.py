"""The fake GitLab's HTTP side: a threaded server on 127.0.0.1 and the dispatch
of each request through route matching, token authentication, faults, holds,
the route's handler and the request log.

The API lives under /api/v4, as on GitLab. Like GitLab, every successful GET
carries a weak ETag and one whose `If-None-Match` names it is answered 304
(`support.fakes.conditional`). A request to a route the fake
does not implement answers 404 `{"error": "404 Not Found"}` (GitLab's body
for an unknown route) and is logged with no route, so `fake.unknown_requests`
and `fake.assert_clean()` catch code that calls something the fake (and so
the tests) never covered.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from support.fakes import conditional
from support.fakes import server as shared
from support.fakes.recording import RecordedRequest

from .handlers import Call, Reply, match
from .shapes import example
from .state import GitLabError

if TYPE_CHECKING:
    from .fake import FakeGitLab

API_PREFIX = "/api/v4"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass
class GitLabRequest(RecordedRequest):
    """A logged request; `route` is the matched route name (None: unknown) and
    `user` the username its token belongs to (None: unauthenticated)."""

    user: str | None = None

    @property
    def route(self) -> str | None:
        return self.operation_id


class HttpFrontend(shared.HttpFrontend):
    """Owns the listening socket and its serving thread."""

    def __init__(self, fake: FakeGitLab) -> None:
        super().__init__(lambda handler: dispatch(fake, handler), METHODS, name="fake-gitlab")


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
    record, raw_body = shared.read_request(handler, GitLabRequest)
    raw_path, query = record.path, record.query
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

    def act() -> Reply:
        try:
            with fake.world.lock:
                return fake.handlers.dispatch(route_name, call)
        except GitLabError as error:
            return Reply(error.status, error.body)

    shared.through_faults(
        fake.faults,
        record,
        route_name,
        act,
        performed=lambda reply: reply.status < 400,
        send=lambda reply: _finish(fake, handler, record, reply, headers),
        send_fault=lambda status, body, extra: _finish_raw(
            fake, handler, record, status, body, {**headers, **extra}
        ),
    )


def _finish(
    fake: FakeGitLab,
    handler: BaseHTTPRequestHandler,
    record: GitLabRequest,
    reply: Reply,
    headers: dict[str, str],
) -> None:
    body = reply.raw if reply.raw is not None else shared.encode(reply.body)
    status, body, sent = conditional.answer(
        handler.command, record.headers, reply.status, body, {**headers, **reply.headers}
    )
    _finish_raw(fake, handler, record, status, body, sent)


def _finish_raw(
    fake: FakeGitLab,
    handler: BaseHTTPRequestHandler,
    record: GitLabRequest,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    shared.answer(
        fake.log, handler, record, status, body, headers, content_type="application/json"
    )
