"""python-gitlab as gatebot needs it: no hidden retries or sleeps, counted, 100 per page.

- Every call goes through `Gitlab.http_request` with `retry_transient_errors`
  and `obey_rate_limit` off: python-gitlab would otherwise repeat a merge
  after a 5xx, or sleep through any `Retry-After` GitLab sends; `bot.retry`
  decides instead, around each call.
- Paths are built here, with the project path URL-encoded
  (`/projects/acme%2Fapi/...`): no manager object fetches itself behind the
  bot's back, and each request is one the tally can name.
- The `requests.Session` is the bot's own, handed to python-gitlab: a counting
  transport adapter records every request in the evaluation's tally, every
  GET the process sent before goes out with the ETag GitLab gave it
  (`bot.providers.conditional`; GitLab answers 304 without a body), and a
  response hook keeps the last answer's headers (python-gitlab's errors carry
  no headers, and a 429's `Retry-After` lives there).
- A GitLab answer outside 2xx becomes a `GitLabError`, a `bot.retry.ForgeAnswer`:
  `bot.retry` (the one place retry policies live) and `bot.pipeline.errors`
  sort it by status, headers and message as they sort GitHub's answers, so a
  5xx is a `server` failure, a 429 waits for `Retry-After` and an outage
  leaves the merge request marked, exactly as on GitHub.
- The token travels in the `PRIVATE-TOKEN` header only, never in a URL (so
  no `requests` exception quotes it); the client's `repr` names the server
  only, and the libraries' loggers are filtered for anything shaped like a
  GitLab token.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gitlab
import requests

from bot.providers import redaction
from bot.providers.conditional import ANSWERS, ResponseCache, remember_answers
from bot.providers.counting import RequestTally, count_requests
from bot.retry import ForgeAnswer, RetryPolicy
from bot.settings import ConfigurationError, Settings

PER_PAGE = 100
USER_AGENT = "gatebot"
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class ClientConfig:
    """Where GitLab is and how long the bot waits for an answer."""

    url: str = "https://gitlab.com"
    timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientConfig:
        return cls(url=settings.gitlab_url.rstrip("/"))


def token_of(settings: Settings) -> str:
    if settings.gitlab_token is None:
        raise ConfigurationError("GITLAB_TOKEN is missing.")
    return settings.gitlab_token.get_secret_value()


def project(repo: str) -> str:
    """The API path of a project (`group/sub/project`, URL-encoded as GitLab requires)."""
    return f"/projects/{quote(repo, safe='')}"


def encoded(segment: str) -> str:
    """One path segment (a branch, a file path, a group path), slashes included."""
    return quote(segment, safe="")


class GitLabError(ForgeAnswer):
    """GitLab answered outside 2xx: its status, its own message (`text`) and the headers."""

    def __repr__(self) -> str:
        return f"GitLabError({self.status}, {self.text!r})"


def message_of(raw: Any, status: int | None = None) -> str:
    """GitLab's error message as one line: a string, or `field: problems` pairs."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, Mapping):
        parts = []
        for field, problems in raw.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field} {', '.join(str(p) for p in listed)}")
        text = "; ".join(parts)
    else:
        text = str(raw or "").strip()
    if not text:
        text = f"GitLab answered {status}" if status is not None else "GitLab gave no reason"
    return redact(text)[:MESSAGE_LIMIT]


class GitLabClient:
    """One evaluation's connection to GitLab; its reads may run on several threads at
    once (`bot.providers.parallel`)."""

    def __init__(
        self,
        config: ClientConfig,
        token: str,
        tally: RequestTally,
        answers: ResponseCache = ANSWERS,
    ) -> None:
        install_log_redaction()
        self.config = config
        session = requests.Session()
        count_requests(session, tally, "gitlab")
        remember_answers(session, answers)
        session.hooks["response"].append(self._remember)
        # Per thread: an error's headers (a 429's `Retry-After`) are those of the
        # answer that failed, not of another read answered meanwhile.
        self._answers = threading.local()
        self.gl = gitlab.Gitlab(
            config.url,
            private_token=token,
            session=session,
            timeout=config.timeout,
            per_page=PER_PAGE,
            user_agent=USER_AGENT,
            retry_transient_errors=False,
        )

    def __repr__(self) -> str:
        return f"GitLabClient({self.config.url})"

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._answers.headers = response.headers

    @property
    def _headers(self) -> Mapping[str, str]:
        headers: Mapping[str, str] = getattr(self._answers, "headers", {})
        return headers

    def request(
        self,
        verb: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """One HTTP request; a non-2xx answer raises `GitLabError`."""
        try:
            return self.gl.http_request(
                verb,
                path,
                query_data=dict(query or {}),
                post_data=dict(body) if body is not None else None,
                obey_rate_limit=False,
                retry_transient_errors=False,
            )
        except gitlab.exceptions.GitlabError as exc:
            if exc.response_code is None:
                raise
            status = int(exc.response_code)
            raise GitLabError(status, message_of(exc.error_message, status), self._headers) from None

    def json(
        self,
        verb: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self.request(verb, path, query=query, body=body)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def pages(
        self,
        path: str,
        retry: RetryPolicy,
        what: str,
        *,
        query: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a list, 100 a page, each page retried on its own."""
        items: list[dict[str, Any]] = []
        page: int | None = 1
        while page is not None:
            params = {**(query or {}), "per_page": PER_PAGE, "page": page}

            def fetch(params: dict[str, Any] = params) -> requests.Response:
                return self.request("get", path, query=params)

            response = retry.call(fetch, what=what)
            listed = response.json()
            if not isinstance(listed, list):
                raise GitLabError(502, f"{what}: GitLab sent no list", response.headers)
            items.extend(item for item in listed if isinstance(item, dict))
            page = _next_page(response, len(listed), page)
        return items


def _next_page(response: requests.Response, listed: int, page: int) -> int | None:
    """The next page's number: GitLab's `X-Next-Page` (empty on the last page); without
    the header, a short page is the last."""
    header = response.headers.get("X-Next-Page")
    if header is None:
        return None if listed < PER_PAGE else page + 1
    header = header.strip()
    return int(header) if header.isdigit() else None


# -- secrets in logs -----------------------------------------------------------

# GitLab's prefixed tokens: personal, project and group access tokens (glpat-),
# OAuth (gloas-), deploy (gldt-), runner (glrt-), CI job (glcbt-), trigger
# (glptt-), feed (glft-), incoming mail (glimt-), agent (glagent-), SCIM (glsoat-).
_SECRET_PATTERNS = re.compile(
    r"\bgl(?:pat|oas|dt|rt|cbt|ptt|ft|imt|agent|soat)-[A-Za-z0-9_.\-]{16,}"
    r"|(?i:private-token['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"
)


def redact(text: str) -> str:
    """`text` with anything shaped like a GitLab token (or a `PRIVATE-TOKEN` header) replaced."""
    return _SECRET_PATTERNS.sub(redaction.REDACTED, text)


_LOGGERS = ("gitlab", "gitlab.client", "urllib3.connectionpool")


def install_log_redaction() -> None:
    """Attach a `redaction.RedactSecrets` filter to the client libraries' loggers (once per
    process)."""
    redaction.install(_SECRET_PATTERNS, _LOGGERS)
