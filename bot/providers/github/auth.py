"""The GitHub App's credentials: App JWT → installation tokens, cached per installation.

An installation token lives an hour. `GitHubApp.token` mints one the first
time an installation needs it and hands out the same token until
`refresh_before` ahead of its expiry, so evaluations do not pay a mint each;
`forget` drops a token GitHub refused (revoked, installation suspended).
The App's own login (`<slug>[bot]`, from `GET /app`) is read once per
process.

The private key and the tokens never leave this module in a message: the
key is only handed to PyGithub's signer, tokens are kept in objects whose
`repr` hides them, and errors are re-raised without the library's text when
that text could quote them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from github import Auth

from bot.providers.counting import RequestTally
from bot.providers.github.client import ClientConfig, app_client
from bot.retry import RetryPolicies

TOKEN_REFRESH_BEFORE = timedelta(minutes=5)
JWT_ALGORITHM = "RS256"  # what GitHub accepts for an App's JWT


class AppKeyError(Exception):
    """The App's private key cannot sign a JWT (the message never quotes the key)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AppCredentials:
    """The App id and private key; `repr` and `str` never show the key.

    The key is parsed once, here. PyGithub, handed the PEM text, parses it
    again for every JWT it signs: about 45 ms of CPU each (the parse checks
    the RSA key), against under 1 ms to sign with the parsed key — and every
    request made as the App (a token minted, a page of the webhook delivery
    log, each redelivery asked) signs one.
    """

    def __init__(self, app_id: int, private_key_pem: str) -> None:
        self.app_id = app_id
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)

            def sign(payload: dict[str, Any]) -> str:
                return jwt.encode(payload, key=key, algorithm=JWT_ALGORITHM)  # type: ignore[arg-type]

            self._auth = Auth.AppAuth(app_id, sign_func=sign)
            self._auth.create_jwt()
        except (ValueError, TypeError, UnsupportedAlgorithm, jwt.PyJWTError):
            # The underlying error may describe the key material: say only what failed.
            raise AppKeyError(
                f"the private key of GitHub App {app_id} cannot sign a JWT (is it an RSA PEM key?)"
            ) from None

    @property
    def auth(self) -> Auth.AppAuth:
        return self._auth

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id}, private_key=<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True)
class InstallationToken:
    """An installation access token and when it expires; `repr` hides the token."""

    value: str = field(repr=False)
    expires_at: datetime
    installation_id: int


class GitHubApp:
    """Mints and caches installation tokens, and knows the App's own login. Thread-safe."""

    def __init__(
        self,
        credentials: AppCredentials,
        config: ClientConfig,
        retries: RetryPolicies,
        *,
        refresh_before: timedelta = TOKEN_REFRESH_BEFORE,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.credentials = credentials
        self.config = config
        self.retries = retries
        self.refresh_before = refresh_before
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[int, InstallationToken] = {}
        self._slug: str | None = None

    def token(self, installation_id: int, tally: RequestTally) -> InstallationToken:
        """A token for the installation, minted only when none is cached or it nearly expired."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.expires_at - self.refresh_before > self.clock():
                return cached
            minted = self._mint(installation_id, tally)
            self._tokens[installation_id] = minted
            return minted

    def forget(self, installation_id: int) -> None:
        """Drop the cached token (GitHub refused it); the next call mints a new one."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def _mint(self, installation_id: int, tally: RequestTally) -> InstallationToken:
        client = app_client(self.config, self.credentials.auth, tally)
        try:
            # A second mint after a lost answer only leaves an unused token to
            # expire, so minting is retried like an idempotent write.
            granted = self.retries.idempotent_write.call(
                lambda: client.get_access_token(installation_id),
                what=f"installation token for installation {installation_id}",
            )
        finally:
            client.close()
        expires_at = granted.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return InstallationToken(granted.token, expires_at, installation_id)

    def installation_of(self, repo: str, tally: RequestTally) -> int:
        """The id of the App's installation on `repo` (`GET /repos/{repo}/installation`),
        for a command naming a repository the store has not heard of."""
        owner, _, name = repo.partition("/")
        client = app_client(self.config, self.credentials.auth, tally)
        try:
            found = self.retries.read.call(
                lambda: client.get_repo_installation(owner, name), what="GET repo installation"
            )
        finally:
            client.close()
        return int(found.id)

    def bot_login(self, tally: RequestTally) -> str:
        """The App's account, `<slug>[bot]` (`GET /app`, read once per process)."""
        with self._lock:
            if self._slug is None:
                client = app_client(self.config, self.credentials.auth, tally)
                try:
                    app = self.retries.read.call(client.get_app, what="GET /app")
                    self._slug = app.slug
                finally:
                    client.close()
            return f"{self._slug}[bot]"
