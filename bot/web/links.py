"""Signed links to the details pages.

A details page shows who approved what on a private repository, so its URL
carries an HMAC of (provider, repository, PR number): pages cannot be
enumerated, and a bad or missing signature is answered exactly like a page
that does not exist. The key is GATEBOT_SECRET_KEY; without one it is
derived from the forge's webhook secret, which every instance already shares.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from bot.settings import Settings

_SIG_HEX = 32  # 128 bits: far beyond guessing, short enough for a status link


def link_key(settings: Settings) -> bytes | None:
    """The signing key, or None when nothing secret is configured (setup mode)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    for secret in (settings.github_webhook_secret, settings.gitlab_webhook_secret):
        if secret is not None:
            return hmac.new(secret.get_secret_value().encode(), b"gatebot details links",
                            hashlib.sha256).digest()
    return None


def details_path(provider: str, repo: str, number: int) -> str:
    return f"/details/{provider}/{quote(repo.lower(), safe='/')}/{number}"


def signature(key: bytes, provider: str, repo: str, number: int) -> str:
    message = f"{provider}\n{repo.lower()}\n{number}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_SIG_HEX]


def details_url(settings: Settings, provider: str, repo: str, number: int) -> str | None:
    """The signed, absolute link to a PR's details page (None without a public URL or key)."""
    key = link_key(settings)
    if key is None or not settings.public_url:
        return None
    base = settings.public_url.rstrip("/")
    sig = signature(key, provider, repo, number)
    return f"{base}{details_path(provider, repo, number)}?sig={sig}"


def verify(key: bytes | None, provider: str, repo: str, number: int, sig: str | None) -> bool:
    if key is None or not sig:
        return False
    return hmac.compare_digest(sig.encode(), signature(key, provider, repo, number).encode())
