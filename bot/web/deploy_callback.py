"""`POST /deploy/callback`: a webhook target reports how a deployment it was sent went.

Only targets with `callback: true` are told the address (`callback_url` in the
body the bot sent them). The report is JSON,
`{"status": "succeeded" | "failed" | "running", "url": …, "message": …}`
(`url` and `message` optional), with two headers:

- `Idempotency-Key`: the key the bot sent with the deployment, which names it;
- `X-Gatebot-Signature-256`: `sha256=` + the hex HMAC-SHA256 of the raw body
  keyed with THAT deployment's target's secret (the scheme of the bot's own
  calls and of GitHub's webhooks), compared in constant time.

The key picks the deployment, the deployment picks its target, and only that
target's secret verifies: one target's secret cannot report for another
target's deployment. An unknown key and a bad signature are answered alike
(401), so keys cannot be probed. An end is recorded once
(`bot.store.deploy_outcomes.end`, into the deploy audit too); a repeated or
late report changes nothing and is answered 200. The PR comment is edited by
the deploy follower's next pass.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping

from flask import Blueprint, Response, current_app, jsonify, request

from bot.links import DEPLOY_CALLBACK_PATH
from bot.pipeline.deploy_targets import SIGNATURE_HEADER, signature
from bot.pipeline.operator import DeployTarget, load_targets
from bot.store import deploy_outcomes, utcnow
from bot.web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("deploy_callback", __name__)

MAX_REPORT_BYTES = 64 * 1024
MAX_MESSAGE = 300
"""Characters of the target's message kept for the comment and the audit."""
STATUSES = ("succeeded", "failed", "running")
TARGET = "target"
REFUSED = "the report is not signed by the deployment's target"


def _answer(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(**body), code


def _targets() -> Mapping[str, DeployTarget]:
    """The operator's targets, read once per app."""
    cached: Mapping[str, DeployTarget] | None = current_app.extensions.get("gatebot_targets")
    if cached is None:
        path = services().settings.deploy_targets
        cached = load_targets(path) if path is not None else {}
        current_app.extensions["gatebot_targets"] = cached
    return cached


@bp.post(DEPLOY_CALLBACK_PATH)
def report() -> tuple[Response, int]:
    store = services().store
    if store is None:
        return _answer(503, error="gatebot is in setup mode")
    if request.content_length is not None and request.content_length > MAX_REPORT_BYTES:
        return _answer(413, error="the report is too large")
    body = request.stream.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return _answer(413, error="the report is too large")
    key = request.headers.get("Idempotency-Key", "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    with store.begin() as conn:
        row = deploy_outcomes.by_reference(conn, None, TARGET, key) if key else None
    target = _targets().get(row.target or "") if row is not None else None
    if row is None or target is None or not target.callback or not hmac.compare_digest(
        given.encode("ascii", "replace"), signature(target.secret, body).encode()
    ):
        log.info("deploy callback refused: unknown deployment or bad signature")
        return _answer(401, error=REFUSED)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, error="the report is not JSON")
    status = data.get("status") if isinstance(data, dict) else None
    if status not in STATUSES:
        return _answer(400, error="`status` must be succeeded, failed or running")
    url = data.get("url")
    link = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
    said = data.get("message")
    message = " ".join(said.split())[:MAX_MESSAGE] if isinstance(said, str) else ""
    with store.begin() as conn:
        if status == deploy_outcomes.RUNNING:
            deploy_outcomes.progressed(conn, row.key, link=link, message=message)
            return _answer(200, stage=deploy_outcomes.RUNNING)
        ended = deploy_outcomes.end(conn, row.key, status, utcnow(), link=link, message=message)
        current = deploy_outcomes.get(conn, row.key)
    log.info("deploy callback: %s deploy %s %s", row.key.repo, row.key.name,
             status if ended else "reported again")
    return _answer(200, stage=current.stage if current is not None else status)
