"""Signed links to the details pages, and the deploy callback address.

A details page shows who approved what on a private repository, so its URL
carries an HMAC over (provider, repository, PR number, head SHA): pages
cannot be enumerated, and a bad or missing signature is answered exactly
like a page that does not exist. The link names the head it was made for
(`?sha=`): once the PR has a verdict for a newer head, links to older heads
stop opening, so a link that leaked (a forwarded e-mail, an old status)
shows nothing after the next push.

The key is GATEBOT_SECRET_KEY; without one it is a random key the service
generates once and keeps in its store (`bot.store.signing_keys`), so every
instance sharing the database signs alike and restarts keep old links valid.
It is never derived from a webhook secret: whoever can configure a webhook
(a GitLab project's maintainers, say) must not be able to sign links.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from bot.settings import Settings
from bot.store import Store, signing_keys, utcnow

_SIG_HEX = 32  # 128 bits: far beyond guessing, short enough for a status link


DEPLOY_CALLBACK_PATH = "/deploy/callback"
"""Where webhook targets with `callback: true` report how a deployment ended."""


def deploy_callback_url(settings: Settings) -> str | None:
    """The absolute callback address told to webhook targets; None without a public URL."""
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}{DEPLOY_CALLBACK_PATH}"


def details_path(provider: str, repo: str, number: int) -> str:
    return f"/details/{provider}/{quote(repo.lower(), safe='/')}/{number}"


def signature(key: bytes, provider: str, repo: str, number: int, head_sha: str) -> str:
    message = f"{provider}\n{repo.lower()}\n{number}\n{head_sha.lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_SIG_HEX]


@dataclass(frozen=True)
class DetailsLinks:
    """Makes and checks the signed links of one deployment."""

    settings: Settings
    store: Store | None
    """None in setup mode: no key, no links."""

    def key(self) -> bytes | None:
        """The signing key, or None when there is neither a configured key nor a store."""
        if self.settings.secret_key is not None:
            return self.settings.secret_key.get_secret_value().encode()
        if self.store is None:
            return None
        with self.store.begin() as conn:
            return signing_keys.get_or_create(conn, signing_keys.DETAILS_LINKS, utcnow())

    def url(self, provider: str, repo: str, number: int, head_sha: str) -> str | None:
        """The signed, absolute link to a PR's details page for `head_sha` (None
        without a public URL or key)."""
        if not self.settings.public_url:
            return None
        key = self.key()
        if key is None:
            return None
        base = self.settings.public_url.rstrip("/")
        sig = signature(key, provider, repo, number, head_sha)
        return f"{base}{details_path(provider, repo, number)}?sha={head_sha.lower()}&sig={sig}"

    def verify(
        self, provider: str, repo: str, number: int, head_sha: str | None, sig: str | None
    ) -> bool:
        if not head_sha or not sig:
            return False
        key = self.key()
        if key is None:
            return False
        expected = signature(key, provider, repo, number, head_sha)
        return hmac.compare_digest(sig.encode(), expected.encode())
