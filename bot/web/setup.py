"""The setup page: what a fresh install shows, and how to connect a forge; once running,
which webhooks it takes and when the last catch-up round ran."""

from __future__ import annotations

from flask import Blueprint, render_template

from bot.catchup import status
from bot.settings import Mode
from bot.store import catchup_rounds, utcnow
from bot.web import github_app_permissions
from bot.web.services import services

bp = Blueprint("setup", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    svc = services()
    if svc.settings.mode is Mode.SETUP:
        return render_template("setup.html", app=github_app_permissions)
    catchup = None
    if svc.store is not None:
        with svc.store.begin() as conn:
            catchup = status.summary(catchup_rounds.last(conn), utcnow())
    return render_template(
        "running.html",
        github=svc.settings.github_configured,
        gitlab=svc.settings.gitlab_configured,
        catchup=catchup,
        catchup_seconds=int(svc.settings.catchup_seconds),
    )
