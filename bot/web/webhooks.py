"""Webhook endpoints: verify, parse the minimum, keep the delivery, answer.

Order of checks, per the spec: body over 25 MB → 413 (judged on
Content-Length before anything is read, and by a capped read for chunked
bodies); bad or missing signature / token → 401; missing event or delivery
headers or a body that is not a JSON object → 400; a delivery id already
kept or ingested → 200 `{"status": "duplicate"}`; the store unreachable (the
database down or restarting; on SQLite, its inbox file not writable) → 503,
nothing kept, so the forge logs the delivery as failed and the catch-up's redelivery brings it back
(`bot/catchup`); otherwise the delivery as it came is kept in the inbox
(`bot.store.inbox`: one statement in one short transaction; deliveries
arriving together share one commit: `bot.events.group_commit`) → 202, once
committed. Everything it causes — what the forge's routing decides
(`bot/events/github`, `bot/events/gitlab`): the delivery recorded, PRs and
merge requests marked dirty, caches dropped, tamper marks, merge groups and
new comments recorded, the PRs woken — is the consumer's work, moments
later (`bot.events.inbox_drain`). No forge is called on the way. In setup
mode every webhook is answered 503.

Every delivery is counted in `gatebot_deliveries_total` by forge, event (once
verified) and outcome (accepted or ignored once the consumer ingested it),
and the log lines of a kept one carry its id, forge, repository, PR and
head (`bot.logs`).

A GitLab delivery is accepted only with the secret of the project (or
group) it names: the token of the hook `gatebot gitlab connect` made there
(`bot.store.gitlab_hooks`), or, in the single-project mode
(`GITLAB_PROJECT` with a global `GITLAB_WEBHOOK_SECRET` / signing token),
the global secret for that one project. A project never connected is
refused (401).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from bot import logs, metrics
from bot.events.parsed import MalformedDelivery, ParsedDelivery, record_to_json
from bot.settings import Mode, Settings
from bot.standard_webhooks import signing_key
from bot.store import gitlab_hooks, utcnow
from bot.store.inbox import Arrival
from bot.web import github_webhook, gitlab_webhook
from bot.web.services import MAX_BODY_BYTES, services

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

_READ_CHUNK = 256 * 1024
UNVERIFIED = "unverified"


def _answer(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(**body), code


# The two answers of every verified delivery, built without an encoder each time.
_ACCEPTED = b'{"status":"accepted"}\n'
_DUPLICATE = b'{"status":"duplicate"}\n'


def _answer_with(code: int, body: bytes) -> tuple[Response, int]:
    return Response(body, code, mimetype="application/json"), code


def _too_large() -> tuple[Response, int]:
    response, status = _answer(413, error=f"the body is over {MAX_BODY_BYTES} bytes")
    # The unread rest of the body must not be parsed as a next request.
    response.headers["Connection"] = "close"
    return response, status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def _on_too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
        if request.blueprint == bp.name and request.endpoint:
            _count(request.endpoint.rpartition(".")[2], "too_large")
        return _too_large()


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(sqlite3.OperationalError)  # the inbox file of a SQLite store
def _store_unreachable(
    exc: OperationalError | InterfaceError | sqlite3.OperationalError,
) -> tuple[Response, int]:
    # The transaction that would have kept the delivery never committed: a 5xx
    # makes the forge log it as failed (a 202 would promise work nobody will do), and
    # 503 says what it is: the store is down for now, not a bug in this request.
    if request.endpoint:
        _count(request.endpoint.rpartition(".")[2], "store_unreachable")
    log.warning("webhook answered 503: the store cannot be reached (%s)", type(exc).__name__)
    return _answer(503, error="the store cannot be reached; the delivery was not recorded")


def _count(forge: str, outcome: str, event: str = UNVERIFIED) -> None:
    """One delivery in `gatebot_deliveries_total`. The event is named only once the
    delivery is verified: what an unsigned request claims must not mint label values."""
    metrics.DELIVERIES.labels(forge=forge, event=event, outcome=outcome).inc()


def _read_body() -> bytes:
    """The raw body; raises RequestEntityTooLarge (413) past the cap.

    A declared Content-Length is judged before anything is read; a chunked
    body is read at most one chunk past the cap. (werkzeug's own
    MAX_CONTENT_LENGTH silently truncates chunked bodies instead.)
    """
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    stream = request.stream
    # A declared body is read in one piece of its own size: each read allocates
    # the size asked for, and most bodies are a small part of a chunk.
    size = declared if declared else _READ_CHUNK
    parts: list[bytes] = []
    total = 0
    while chunk := stream.read(size):
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise RequestEntityTooLarge()
        parts.append(chunk)
    return b"".join(parts)


def _unavailable(forge: str) -> tuple[Response, int] | None:
    if services().settings.mode is Mode.SETUP:
        _count(forge, "setup_mode")
        return _answer(503, error="gatebot is in setup mode: no forge is configured")
    return None


@bp.post("/webhooks/github")
def github() -> tuple[Response, int]:
    if (busy := _unavailable("github")) is not None:
        return busy
    settings = services().settings
    if settings.github_webhook_secret is None:
        _count("github", "unconfigured")
        return _answer(404, error="GitHub is not configured")
    body = _read_body()
    try:
        github_webhook.verify_signature(
            body,
            request.headers.get(github_webhook.SIGNATURE_HEADER),
            settings.github_webhook_secret.get_secret_value(),
        )
    except github_webhook.InvalidSignature as exc:
        _count("github", "bad_signature")
        return _answer(401, error=str(exc))
    try:
        parsed = github_webhook.read_delivery(request.headers, body)
    except MalformedDelivery as exc:
        _count("github", "malformed")
        return _answer(400, error=str(exc))
    return _keep(parsed, body)


@bp.post("/webhooks/gitlab")
def gitlab() -> tuple[Response, int]:
    if (busy := _unavailable("gitlab")) is not None:
        return busy
    settings = services().settings
    if not settings.gitlab_configured:
        _count("gitlab", "unconfigured")
        return _answer(404, error="GitLab is not configured")
    body = _read_body()
    token = request.headers.get(gitlab_webhook.TOKEN_HEADER)
    single = settings.gitlab_single_project
    try:
        if single is not None:
            _verify_global(settings, body)
        elif not token:
            raise gitlab_webhook.InvalidToken(f"{gitlab_webhook.TOKEN_HEADER} is missing")
    except gitlab_webhook.InvalidToken as exc:
        _count("gitlab", "bad_signature")
        return _answer(401, error=str(exc))
    try:
        parsed = gitlab_webhook.read_delivery(request.headers, body)
        scope = gitlab_webhook.named_scope(parsed.payload)
    except MalformedDelivery as exc:
        _count("gitlab", "malformed")
        return _answer(400, error=str(exc))
    if single is not None:
        if not scope.names_project(single):
            log.info("GitLab delivery refused: it is not about %s, the one project served", single)
            _count("gitlab", "refused")
            return _answer(401, error="the delivery is not about the project this secret serves")
    elif not _connected_hook_holds(token or "", scope):
        _count("gitlab", "refused")
        return _answer(401, error="the token is not the hook secret of the project it names")
    return _keep(parsed, body)


def _verify_global(settings: Settings, body: bytes) -> None:
    """The single-project mode's checks: whatever is configured must hold."""
    secret, signing = settings.gitlab_webhook_secret, settings.gitlab_webhook_signing_token
    if secret is not None:
        gitlab_webhook.verify_token(
            request.headers.get(gitlab_webhook.TOKEN_HEADER), secret.get_secret_value()
        )
    if signing is not None:
        gitlab_webhook.verify_signature(
            request.headers, body, signing_key(signing.get_secret_value()), time.time()
        )


def _connected_hook_holds(token: str, scope: gitlab_webhook.Scope) -> bool:
    """Whether `token` is the secret of the hook `gatebot gitlab connect` made for the
    project the delivery names, or for a group holding it (never another's)."""
    svc = services()
    assert svc.store is not None  # full mode
    with svc.store.begin() as conn:
        hook = gitlab_hooks.authenticates(
            conn,
            token,
            project_id=scope.project_id,
            project_path=scope.project_path,
            group_id=scope.group_id,
        )
    if hook is None:
        # Which project, never the token: a maintainer's mistake, or someone
        # trying another project's secret.
        log.info(
            "GitLab delivery refused: no connected hook of %s holds its token",
            scope.project_path or scope.project_id or scope.group_id or "(no project named)",
        )
        return False
    return True


def _keep(parsed: ParsedDelivery, body: bytes) -> tuple[Response, int]:
    """Keep a verified delivery in the inbox; every log line meanwhile names it."""
    with logs.context(**parsed.record.log_fields()):
        return _keep_in_context(parsed, body)


def _keep_in_context(parsed: ParsedDelivery, body: bytes) -> tuple[Response, int]:
    svc = services()
    assert svc.deliveries is not None  # full mode
    record = parsed.record
    kept = svc.deliveries.submit(
        Arrival(
            record.provider, record.delivery_id, record.event, record_to_json(record), body, utcnow()
        )
    )
    if not kept:
        _count(record.provider, "duplicate", record.event)
        log.info("delivery %s %s: a duplicate, nothing done", record.provider, record.delivery_id)
        return _answer_with(200, _DUPLICATE)
    if svc.drain is not None:
        svc.drain()
    return _answer_with(202, _ACCEPTED)
