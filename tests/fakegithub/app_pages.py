"""GitHub's web pages of the App manifest flow, as the fake serves them.

A browser posts a manifest (form field `manifest`, query `state`) to
`/settings/apps/new` or `/organizations/<org>/settings/apps/new`; GitHub
shows the App it would create, with a button; pressing it creates the App and
sends the browser to the manifest's `redirect_url` with `code` and `state`.
The fake does the same: the button registers a one-time code (answered by
`POST /app-manifests/{code}/conversions` with the fake's own App) and keeps
the manifest in `fake.manifests` for tests to read.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

if TYPE_CHECKING:
    from .fake import FakeGitHub

NEW_APP = re.compile(r"^(?:/organizations/(?P<org>[A-Za-z0-9-]+))?/settings/apps/new$")
CREATE = "/settings/apps/new/create"
ENTERPRISE_API = "/api/v3"
"""Where GitHub Enterprise Server serves the REST API under its web address."""
HTML = "text/html; charset=utf-8"


def page(
    fake: FakeGitHub, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> tuple[int, bytes, dict[str, str]] | None:
    """The answer to a request for one of the flow's pages, or None for any other path."""
    if method != "POST":
        return None
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    new_app = NEW_APP.match(path)
    if new_app:
        return _confirm(fake, form, (query.get("state") or [""])[0], new_app.group("org"))
    if path == CREATE:
        return _create(fake, form)
    return None


def _confirm(
    fake: FakeGitHub, form: dict[str, str], state: str, org: str | None
) -> tuple[int, bytes, dict[str, str]]:
    try:
        manifest = json.loads(form["manifest"])
        name, redirect = manifest["name"], manifest["redirect_url"]
    except (KeyError, ValueError, TypeError):
        return 422, b"<p>Invalid GitHub App configuration</p>", {"Content-Type": HTML}
    owner = org or fake.world.app_owner
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in (("manifest", form["manifest"]), ("state", state), ("owner", owner))
    )
    text = (
        f"<!doctype html><title>Create GitHub App</title>"
        f"<h1>Create GitHub App for {html.escape(owner)}</h1>"
        f"<p id=app-name>{html.escape(name)}</p><p id=redirect>{html.escape(redirect)}</p>"
        f'<form method="post" action="{CREATE}">{fields}'
        f'<button type="submit" id="create">Create GitHub App for {html.escape(owner)}</button>'
        "</form>"
    )
    return 200, text.encode(), {"Content-Type": HTML}


def _create(fake: FakeGitHub, form: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    manifest: dict[str, Any] = json.loads(form["manifest"])
    code = secrets.token_hex(10)
    with fake.world.lock:
        fake.manifests.append({"owner": form.get("owner"), **manifest})
    fake.add_manifest_code(code)
    # The new App's webhook goes where the manifest said, as on GitHub.
    hook = manifest.get("hook_attributes") or {}
    if hook.get("url"):
        fake.set_webhook_url(str(hook["url"]))
    query = urlencode({"code": code, "state": form.get("state", "")})
    return 302, b"", {"Location": f"{manifest['redirect_url']}?{query}"}
