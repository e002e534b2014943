"""Liveness and readiness: `/healthz` (the process answers) and `/readyz`.

`/readyz` answers 200 only when the store is reachable and migrated and the
queue's storage is reachable; in setup mode it answers 503. Its `catchup`
field tells when the last catch-up round ran, how long it took, how far
behind the point it reached is and its error (`bot.catchup.status`); the
rounds make an instance unready only once several in a row have failed.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from bot.catchup import status
from bot.queue import QUEUE_ERRORS
from bot.settings import Mode
from bot.store import catchup_rounds, utcnow
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
    catchup: dict[str, object] = {}
    if ready:
        with svc.store.begin() as conn:
            last = catchup_rounds.last(conn)
        catchup = status.summary(last, utcnow())
        ready = not status.failing(last)
    return (
        jsonify(status="ok" if ready else "not ready", **checks, catchup=catchup),
        200 if ready else 503,
    )
