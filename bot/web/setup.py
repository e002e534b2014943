"""The setup page: what a fresh install shows, and how to connect a forge — by hand, or
for GitHub in one click (the App manifest flow); once running, which webhooks it takes
and when the last catch-up round ran.

The one-click flow: the operator gives the setup code `gatebot serve` printed,
the account or organisation and the GitHub address; `POST /setup/github`
answers a page that posts the manifest (`app_manifest`) to GitHub; GitHub
creates the App and sends the browser to `/setup/github/callback` with a code,
which is exchanged for the App's id, key and webhook secret; they are written
to the credentials file (`bot/env_file.py`) and the process switches to full
mode without a restart (`bot/web/server.py`). `setup_flow` guards each step.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, make_response, render_template, request

from bot.catchup import status
from bot.env_file import EnvFileError, write_github_app
from bot.providers.github.app_manifest import ConversionFailed, convert
from bot.settings import Mode, Settings
from bot.store import catchup_rounds, utcnow
from bot.web import app_manifest, github_app_permissions
from bot.web.services import services
from bot.web.setup_flow import COOKIE, SetupFlow, SetupRefused

bp = Blueprint("setup", __name__, template_folder="templates")

COOKIE_PATH = "/setup/github"


@bp.get("/")
def index() -> str:
    svc = services()
    if svc.settings.mode is Mode.SETUP:
        return _setup_page(svc.setup_flow)
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


def _setup_page(flow: SetupFlow | None, error: str | None = None) -> str:
    return render_template(
        "setup.html", app=github_app_permissions, one_click=flow is not None,
        error=error, github_com=app_manifest.GITHUB_COM,
    )


def _flow() -> SetupFlow:
    svc = services()
    if svc.settings.mode is not Mode.SETUP or svc.setup_flow is None:
        abort(404)
    return svc.setup_flow


@bp.post("/setup/github")
def start_github() -> Response | tuple[str, int]:
    flow = _flow()
    settings = services().settings
    form = request.form
    try:
        github = app_manifest.github_address(form.get("github_url", ""))
        owner = app_manifest.organisation(
            form.get("organisation") if form.get("account") == "organisation" else None
        )
        name = app_manifest.app_name(form.get("app_name"))
        public = _public_url(settings)
        pending = flow.start(
            form.get("setup_code", ""), github, app_manifest.api_address(github), public
        )
    except app_manifest.ManifestInputError as exc:
        return _setup_page(flow, str(exc)), 400
    except SetupRefused as exc:
        return _setup_page(flow, str(exc)), 403
    response = make_response(render_template(
        "setup_github.html",
        action=app_manifest.new_app_url(github, owner, pending.state),
        manifest=json.dumps(app_manifest.manifest(name, public)),
        github=github,
    ))
    response.set_cookie(
        COOKIE, pending.state, max_age=3600, path=COOKIE_PATH, httponly=True,
        samesite="Lax", secure=public.startswith("https://"),
    )
    return response


@bp.get("/setup/github/callback")
def github_callback() -> Response | tuple[str, int]:
    flow = _flow()
    settings = services().settings
    try:
        pending = flow.take(request.args.get("state", ""), request.cookies.get(COOKIE))
    except SetupRefused as exc:
        return render_template("setup_result.html", error=str(exc)), 403
    try:
        created = convert(pending.api, request.args.get("code", ""))
        path = settings.env_file
        write_github_app(
            path, created.credentials,
            api_url=pending.api if pending.api != settings.github_api_url else None,
            public_url=pending.public_url if settings.public_url is None else None,
        )
    except (ConversionFailed, EnvFileError) as exc:
        return render_template("setup_result.html", error=str(exc)), 502
    flow.finished()
    response = make_response(render_template(
        "setup_result.html", error=None, slug=created.slug,
        install_url=created.install_url, env_file=str(path),
    ))
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _public_url(settings: Settings) -> str:
    """`GATEBOT_PUBLIC_URL`, else the address this page was opened at."""
    return (settings.public_url or request.host_url).rstrip("/")
