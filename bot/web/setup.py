"""The setup page: what a fresh install shows, and how to connect a forge."""

from __future__ import annotations

from flask import Blueprint, render_template

from bot.settings import Mode
from bot.web import github_app_permissions
from bot.web.services import services

bp = Blueprint("setup", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    svc = services()
    if svc.settings.mode is Mode.SETUP:
        return render_template("setup.html", app=github_app_permissions)
    return render_template(
        "running.html",
        github=svc.settings.github_configured,
        gitlab=svc.settings.gitlab_configured,
    )
