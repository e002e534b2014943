"""A repository's PRs as the forge lists them, newest-updated first, one page at a time.

The reconcile reads only the list: per PR its number, head SHA, base
branch, state and update time, 100 to a page, and no per-PR reads.

- GitHub: `GET /repos/{repo}/pulls?state=all&sort=updated&direction=desc`
  with the installation's token; `state=all`, so PRs closed or merged while
  the bot was away are seen. Pages follow the `Link` header.
- GitLab: `GET /projects/:id/merge_requests?state=all&order_by=updated_at
  &sort=desc&updated_after=...`; pages follow `X-Next-Page`.

Each page is retried on its own (`bot.retry`'s read policy) and says whether
the forge's rate limit is running low (`X-RateLimit-Remaining` on GitHub,
`RateLimit-Remaining` on GitLab), so the round stops before it starves the
evaluations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.providers.counting import RequestTally
from bot.providers.github.auth import GitHubApp
from bot.providers.github.client import ClientConfig as GitHubConfig
from bot.providers.github.client import installation_client
from bot.providers.gitlab.client import PER_PAGE, GitLabClient, project
from bot.providers.gitlab.client import ClientConfig as GitLabConfig
from bot.retry import RetryPolicies
from bot.store.pulls import CLOSED, OPEN

# Below this many requests left in the forge's rate-limit window the round
# stops: the evaluations need them more.
RATE_LIMIT_FLOOR = 100


@dataclass(frozen=True)
class ListedPull:
    number: int
    head_sha: str
    base_ref: str
    state: str  # OPEN or CLOSED (merged counts as closed)
    updated_at: datetime


@dataclass(frozen=True)
class ListedPage:
    pulls: tuple[ListedPull, ...]
    last: bool  # no page follows
    rate_limit_low: bool


class PullLister(Protocol):
    provider: str

    def pages(
        self, repo: str, installation_id: int | None, since: datetime | None, tally: RequestTally
    ) -> Iterator[ListedPage]:
        """The repository's PRs, newest-updated first, a page per item (lazily)."""
        ...


def forge_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    return next((str(v) for k, v in headers.items() if k.lower() == name.lower()), None)


def _low(headers: Mapping[str, Any], name: str) -> bool:
    remaining = _header(headers, name)
    return remaining is not None and remaining.isdigit() and int(remaining) < RATE_LIMIT_FLOOR


_NEXT = re.compile(r'<[^>]*>\s*;\s*rel="next"')


class GitHubLister:
    """GitHub's pull list, read with each installation's token."""

    provider = "github"

    def __init__(self, app: GitHubApp, config: GitHubConfig, retries: RetryPolicies) -> None:
        self.app = app
        self.config = config
        self.retries = retries

    def pages(
        self, repo: str, installation_id: int | None, since: datetime | None, tally: RequestTally
    ) -> Iterator[ListedPage]:
        if installation_id is None:
            raise LookupError(f"no App installation is known for {repo}")
        token = self.app.token(installation_id, tally)
        client = installation_client(self.config, token.value, tally)
        try:
            page = 1
            while True:
                params = {
                    "state": "all",
                    "sort": "updated",
                    "direction": "desc",
                    "per_page": PER_PAGE,
                    "page": page,
                }

                def fetch(params: dict[str, Any] = params) -> tuple[dict[str, Any], Any]:
                    return client.requester.requestJsonAndCheck(
                        "GET", f"/repos/{repo}/pulls", parameters=params
                    )

                headers, listed = self.retries.read.call(fetch, what=f"list pulls of {repo}")
                pulls = tuple(_github_pull(item) for item in listed or ())
                last = _NEXT.search(_header(headers, "link") or "") is None
                yield ListedPage(pulls, last, _low(headers, "x-ratelimit-remaining"))
                if last:
                    return
                page += 1
        finally:
            client.close()


def _github_pull(item: Mapping[str, Any]) -> ListedPull:
    return ListedPull(
        number=int(item["number"]),
        head_sha=str(item["head"]["sha"]).lower(),
        base_ref=str(item["base"]["ref"]),
        state=OPEN if item["state"] == "open" else CLOSED,
        updated_at=forge_time(str(item["updated_at"])),
    )


class GitLabLister:
    """GitLab's merge request list, read with the bot's token."""

    provider = "gitlab"

    def __init__(self, config: GitLabConfig, token: str, retries: RetryPolicies) -> None:
        self.config = config
        self._token = token
        self.retries = retries

    def __repr__(self) -> str:
        return f"GitLabLister({self.config.url})"

    def pages(
        self, repo: str, installation_id: int | None, since: datetime | None, tally: RequestTally
    ) -> Iterator[ListedPage]:
        client = GitLabClient(self.config, self._token, tally)
        page: int | None = 1
        while page is not None:
            query: dict[str, Any] = {
                "state": "all",
                "order_by": "updated_at",
                "sort": "desc",
                "per_page": PER_PAGE,
                "page": page,
            }
            if since is not None:
                query["updated_after"] = since.astimezone(UTC).isoformat()

            def fetch(query: dict[str, Any] = query) -> Any:
                return client.request("get", f"{project(repo)}/merge_requests", query=query)

            response = self.retries.read.call(fetch, what=f"list merge requests of {repo}")
            listed = response.json()
            pulls = tuple(_gitlab_pull(item) for item in listed if isinstance(item, dict))
            following = (response.headers.get("X-Next-Page") or "").strip()
            if following.isdigit():
                page = int(following)
            elif following == "" and "X-Next-Page" not in response.headers:
                page = page + 1 if len(listed) >= PER_PAGE else None
            else:
                page = None
            yield ListedPage(pulls, page is None, _low(response.headers, "ratelimit-remaining"))


def _gitlab_pull(item: Mapping[str, Any]) -> ListedPull:
    return ListedPull(
        number=int(item["iid"]),
        head_sha=str(item.get("sha") or "").lower(),
        base_ref=str(item["target_branch"]),
        state=OPEN if item["state"] == "opened" else CLOSED,
        updated_at=forge_time(str(item["updated_at"])),
    )
