"""PyGithub clients as gatebot needs them: no hidden retries, paced, counted, 100 per page.

- `retry=None`: PyGithub's default `GithubRetry` repeats POSTs and PUTs (a
  merge, a deployment) on a 5xx and sleeps a fixed minute on a secondary
  rate limit; `bot.retry` decides instead.
- The pauses PyGithub keeps between requests and between writes come from the
  settings (its own defaults in production, zero in tests).
- Every list asks for 100 items a page (PyGithub's default is 30).
- `lazy=True`: objects named by URL (a repository, a commit) are not fetched
  until something needs a field only the forge knows, which saves a `GET` per
  object the bot only uses as a path.
- Every HTTP request goes through a counting transport adapter, so the
  evaluation's tally sees each page, token mint and failed attempt.
- Every GET the process sent before goes out conditionally (`bot.providers.
  conditional`): a 304 costs no rate limit and PyGithub sees the remembered 200.
- One connection may serve two threads (a verdict's status and check run are
  posted at once): PyGithub keeps the request it is about to send on the
  connection object, so those fields are kept per thread.

PyGithub creates its HTTP connection lazily from a per-requester connection
class; `_count_requests` swaps that class for one that mounts the counting
and conditional adapters and keeps the pending request per thread. This is the only place that reaches into PyGithub's internals, and
the request-count tests fail if a PyGithub upgrade moves them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubIntegration
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
)

from bot.providers import redaction
from bot.providers.conditional import ANSWERS, ResponseCache, remember_answers
from bot.providers.counting import RequestTally, count_requests
from bot.settings import Settings

PER_PAGE = 100
USER_AGENT = "gatebot"


@dataclass(frozen=True)
class ClientConfig:
    """Where GitHub is and how fast the bot may talk to it."""

    api_url: str = "https://api.github.com"
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    timeout: int = 15

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientConfig:
        return cls(
            api_url=settings.github_api_url.rstrip("/"),
            seconds_between_requests=settings.github_seconds_between_requests,
            seconds_between_writes=settings.github_seconds_between_writes,
        )

    def requester_options(self) -> dict[str, Any]:
        return {
            "base_url": self.api_url,
            "timeout": self.timeout,
            "user_agent": USER_AGENT,
            "per_page": PER_PAGE,
            "retry": None,
            "seconds_between_requests": self.seconds_between_requests,
            "seconds_between_writes": self.seconds_between_writes,
        }


def installation_client(
    config: ClientConfig, token: str, tally: RequestTally, answers: ResponseCache = ANSWERS
) -> Github:
    """A client acting as one installation, with `token` (an installation access token);
    its GETs are conditional on what `answers` remembers."""
    install_log_redaction()
    client = Github(auth=Auth.Token(token), lazy=True, **config.requester_options())
    _count_requests(client.requester, tally, answers)
    return client


def app_client(
    config: ClientConfig, auth: Auth.AppAuth, tally: RequestTally, answers: ResponseCache = ANSWERS
) -> GithubIntegration:
    """A client acting as the App itself (JWT): token mints and `GET /app`."""
    install_log_redaction()
    client = GithubIntegration(auth=auth, lazy=True, **config.requester_options())
    _count_requests(client.requester, tally, answers)
    return client


# What PyGithub's connection notes in `request()` for `getresponse()` to send.
_PENDING = ("verb", "url", "input", "headers", "stream")


def _per_thread(name: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self._pending, name)

    def put(self: Any, value: Any) -> None:
        setattr(self._pending, name, value)

    return property(get, put)


def _count_requests(requester: Requester, tally: RequestTally, answers: ResponseCache) -> None:
    attribute = "_Requester__connectionClass"
    current = getattr(requester, attribute, None)
    if current not in (HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass):
        raise RuntimeError(
            "PyGithub's Requester no longer picks its connection class as expected; "
            "gatebot cannot count its requests"
        )
    assert current is not None

    class CountingConnection(current):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._pending = threading.local()
            super().__init__(*args, **kwargs)
            count_requests(
                self.session, tally, "github", pool_connections=self.pool_size, pool_maxsize=self.pool_size
            )
            remember_answers(self.session, answers)

    for name in _PENDING:
        setattr(CountingConnection, name, _per_thread(name))
    setattr(requester, attribute, CountingConnection)


# -- secrets in logs -----------------------------------------------------------

# Installation and user tokens, JWTs and PEM blocks. PyGithub masks the
# Authorization header in its debug log but prints response bodies in full,
# and the body of a token mint *is* the token.
_SECRET_PATTERNS = re.compile(
    r"gh[pousr]_[A-Za-z0-9_]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
    re.DOTALL,
)


def redact(text: str) -> str:
    """`text` with anything shaped like a GitHub token, a JWT or a private key replaced."""
    return _SECRET_PATTERNS.sub(redaction.REDACTED, text)


_LOGGERS = ("github.Requester", "github.GithubRetry", "urllib3.connectionpool")


def install_log_redaction() -> None:
    """Attach a `redaction.RedactSecrets` filter to the client libraries' loggers (once per
    process)."""
    redaction.install(_SECRET_PATTERNS, _LOGGERS)
