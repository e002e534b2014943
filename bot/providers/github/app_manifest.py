"""Turn the one-time code GitHub's App manifest flow hands back into the App.

`POST {api}/app-manifests/{code}/conversions` needs no authentication: the
code is the credential, valid for one hour and for one conversion. The
answer holds the App's id, slug, page, private key and webhook secret. It is
sent once and never repeated (a second try of the same code finds it spent,
and a repeat after a lost answer could not tell), so it runs without the
retry policies; its failures are said without the code or the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import requests

from bot.env_file import AppCredentials

TIMEOUT = (5.0, 30.0)
_CODE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class CreatedApp:
    """The App GitHub registered, with what gatebot keeps of it."""

    slug: str
    html_url: str
    credentials: AppCredentials = field(repr=False)

    @property
    def install_url(self) -> str:
        """Where the operator installs the App on repositories."""
        return f"{self.html_url.rstrip('/')}/installations/new"


class ConversionFailed(Exception):
    """GitHub did not hand the App over; the message is one sentence."""


def convert(api_url: str, code: str, session: requests.Session | None = None) -> CreatedApp:
    """Exchange the manifest flow's `code` at the API `api_url` for the App."""
    if not _CODE.fullmatch(code):
        # The code goes into the URL's path: nothing but what GitHub's codes hold.
        raise ConversionFailed("GitHub's answer carried no usable code.")
    http = session or requests.Session()
    try:
        response = http.post(
            f"{api_url.rstrip('/')}/app-manifests/{code}/conversions",
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "gatebot",
            },
            timeout=TIMEOUT,
        )
    except requests.exceptions.RequestException as exc:
        raise ConversionFailed(
            f"GitHub could not be reached to finish the App ({type(exc).__name__})."
        ) from None
    finally:
        if session is None:
            http.close()
    if response.status_code != 201:
        raise ConversionFailed(
            f"GitHub refused to hand the App over ({response.status_code}); the code is "
            "valid for one hour and once: start again from the setup page."
        )
    try:
        body = response.json()
        return CreatedApp(
            slug=str(body["slug"]),
            html_url=str(body["html_url"]),
            credentials=AppCredentials(
                app_id=int(body["id"]),
                private_key_pem=str(body["pem"]),
                webhook_secret=str(body["webhook_secret"]),
            ),
        )
    except (ValueError, KeyError, TypeError):
        raise ConversionFailed("GitHub's answer did not describe an App.") from None
