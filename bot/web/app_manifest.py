"""The GitHub App manifest the one-click setup posts to GitHub, and where it posts it.

The manifest asks for exactly the permissions and events
`github_app_permissions` lists (the README's table is the same list), points
the webhook at `<public url>/webhooks/github` and brings the operator back to
`<public url>/setup/github/callback`. GitHub Enterprise Server takes the same
manifest at its own address; its API is then `<address>/api/v3`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from bot.web import github_app_permissions as app

GITHUB_COM = "https://github.com"
CALLBACK_PATH = "/setup/github/callback"
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,33}")


class ManifestInputError(ValueError):
    """A field of the setup form is not usable; the message says which."""


def github_address(given: str) -> str:
    """The GitHub (or GitHub Enterprise Server) web address: scheme and host only."""
    text = (given or GITHUB_COM).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
        raise ManifestInputError("The GitHub address must be like https://github.example.com.")
    if parts.path not in ("", "/"):
        raise ManifestInputError("The GitHub address must be the server's root, without a path.")
    return f"{parts.scheme}://{parts.netloc}"


def api_address(github: str) -> str:
    """The REST API of a GitHub web address."""
    return "https://api.github.com" if github == GITHUB_COM else f"{github}/api/v3"


def organisation(given: str | None) -> str | None:
    """The organisation to register the App under, or None for the personal account."""
    text = (given or "").strip()
    if not text:
        return None
    if not _LOGIN.fullmatch(text):
        raise ManifestInputError("The organisation must be its login, e.g. acme.")
    return text


def app_name(given: str | None) -> str:
    """The App's name (GitHub wants it unique among all Apps)."""
    text = (given or "").strip()
    if not _APP_NAME.fullmatch(text):
        raise ManifestInputError(
            "The App name must be 1 to 34 letters, digits, spaces, dots, dashes or underscores."
        )
    return text


def new_app_url(github: str, owner: str | None, state: str) -> str:
    """Where the manifest is posted: the account's or the organisation's new-App page."""
    where = f"/organizations/{quote(owner)}/settings/apps/new" if owner else "/settings/apps/new"
    return f"{github}{where}?state={quote(state)}"


def manifest(name: str, public_url: str) -> dict[str, Any]:
    """The manifest for an App called `name`, served at `public_url`."""
    base = public_url.rstrip("/")
    permissions = {
        p.key: p.level for p in (*app.REPOSITORY_PERMISSIONS, *app.ORGANIZATION_PERMISSIONS)
    }
    return {
        "name": name,
        "url": base + "/",
        "hook_attributes": {"url": f"{base}/webhooks/github", "active": True},
        "redirect_url": base + CALLBACK_PATH,
        "public": False,
        "default_permissions": permissions,
        "default_events": [e.key for e in app.EVENTS],
    }
