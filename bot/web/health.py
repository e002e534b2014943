"""Liveness and readiness: `/healthz` (the process answers) and `/readyz`.

`/readyz` answers 200 only when the store is reachable and migrated and the
queue's storage is reachable; in setup mode it answers 503.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from bot.queue import QUEUE_ERRORS
from bot.settings import Mode
from bot.web.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", mode=services().settings.mode.value)


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    svc = services()
    if svc.settings.mode is Mode.SETUP or svc.store is None or svc.queue is None:
        return jsonify(status="setup", detail="no forge is configured"), 503
    checks: dict[str, str] = {}
    try:
        svc.store.ping()
        checks["store"] = "ok" if svc.store.is_current() else "not migrated: run gatebot migrate"
    except SQLAlchemyError as exc:
        checks["store"] = f"unreachable: {type(exc).__name__}"
    try:
        svc.queue.ping()
        checks["queue"] = "ok"
    except QUEUE_ERRORS as exc:
        checks["queue"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "not ready", **checks), 200 if ready else 503
