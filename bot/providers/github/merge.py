"""Merging on GitHub: the PR read fresh, the repository's merge methods, and the writes.

- `merge` is `PUT /pulls/{n}/merge` with `sha` = the evaluated head, under
  the `unsafe_write` policy: repeated only when GitHub certainly did not act
  (a connection never opened, a rate limit). Its answer is sorted into a
  `MergeAnswer`: 200 merged, 409 head moved, 405/403/422 refused (with
  GitHub's own message), 5xx / timeout / dropped connection unknown — the
  caller re-reads the PR before anything else.
- `update_branch` is `PUT /pulls/{n}/update-branch` with
  `expected_head_sha`: it can never update a head the bot has not judged.
- The repository's allowed merge methods (`GET /repos/{o}/{r}`) are cached
  per process for the forge cache's lifetime (`MergeMethods`).
- Writes go through the client's requester with relative URLs, so a lazy
  object never fetches itself behind the bot's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from github import Github, GithubException
from github.PullRequest import PullRequest

from bot.providers import merge_methods
from bot.providers.base import MergeAnswer, MergeState
from bot.providers.github.snapshot import COMMITS_LIMIT
from bot.retry import RetryPolicies, classify

METHOD_FLAGS = {
    "merge": "allow_merge_commit",
    "squash": "allow_squash_merge",
    "rebase": "allow_rebase_merge",
}


def merge_state(pr: PullRequest) -> MergeState:
    """A completed PR object as the merge step needs it."""
    head_repo = pr.head.repo
    base_repo = pr.base.repo
    from_fork = head_repo is None or (
        base_repo is not None and head_repo.full_name.lower() != base_repo.full_name.lower()
    )
    return MergeState(
        number=pr.number,
        state=pr.state,
        merged=bool(pr.merged),
        merge_sha=pr.merge_commit_sha if pr.merged else None,
        head_sha=pr.head.sha,
        head_ref=pr.head.ref,
        base_ref=pr.base.ref,
        base_sha=pr.base.sha,
        mergeable=pr.mergeable,
        mergeable_state=pr.mergeable_state or "unknown",
        from_fork=from_fork,
        title=pr.title or "",
        body=pr.body or "",
        author=pr.user.login if pr.user is not None else "ghost",
    )


def methods_of(settings: Mapping[str, Any]) -> frozenset[str]:
    """A repository's `allow_*_merge` flags → gatebot's merge method names."""
    # A missing flag (a token without admin sight of the settings) means allowed:
    # GitHub itself then has the last word through the merge call's 405.
    return frozenset(m for m, flag in METHOD_FLAGS.items() if settings.get(flag, True))


class MergeMethods(merge_methods.MergeMethods):
    """The allowed merge methods per repository, cached for `ttl_seconds`; thread-safe."""

    methods_of = staticmethod(methods_of)


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return f"GitHub answered {exc.status}"


class GitHubMerging:
    """The merge writes for one PR, through one installation client."""

    def __init__(self, client: Github, repo: str, number: int, retries: RetryPolicies) -> None:
        self.client = client
        self.repo = repo
        self.number = number
        self.retries = retries

    @property
    def _pull_url(self) -> str:
        return f"/repos/{self.repo}/pulls/{self.number}"

    def repository(self) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            _, data = self.client.requester.requestJsonAndCheck("GET", f"/repos/{self.repo}")
            return dict(data)

        return self.retries.read.call(fetch, what="GET repository")

    def merge(
        self, sha: str, method: str, title: str | None, message: str | None, now: float
    ) -> MergeAnswer:
        body: dict[str, Any] = {"sha": sha, "merge_method": method}
        if method != "rebase":
            # A rebase makes no merge commit: GitHub ignores a title and message.
            if title is not None:
                body["commit_title"] = title
            if message is not None:
                body["commit_message"] = message

        def put() -> dict[str, Any]:
            _, data = self.client.requester.requestJsonAndCheck(
                "PUT", f"{self._pull_url}/merge", input=body
            )
            return dict(data)

        try:
            data = self.retries.unsafe_write.call(put, what="PUT merge")
        except GithubException as exc:
            failure = classify(exc, now)
            if failure.kind == "server":
                return MergeAnswer("unknown", message=_message(exc), status=exc.status)
            if failure.kind == "rate_limit":
                raise
            if exc.status == 409:
                return MergeAnswer("head_moved", message=_message(exc), status=409)
            if exc.status in (403, 404, 405, 422):
                return MergeAnswer("refused", message=_message(exc), status=exc.status)
            raise
        except requests.exceptions.RequestException as exc:
            failure = classify(exc, now)
            if failure.kind == "unsent":
                raise
            return MergeAnswer("unknown", message=f"no answer from GitHub ({failure.kind})")
        return MergeAnswer("merged", merge_sha=str(data.get("sha") or "") or None)

    def update_branch(self, expected_head_sha: str) -> str | None:
        def put() -> None:
            self.client.requester.requestJsonAndCheck(
                "PUT",
                f"{self._pull_url}/update-branch",
                input={"expected_head_sha": expected_head_sha},
            )

        try:
            # Not repeated after a 5xx: a retry of an update that happened would be
            # refused (the head moved) and read as a refusal. The PR stays marked
            # and the next evaluation sees either head.
            self.retries.unsafe_write.call(put, what="PUT update-branch")
        except GithubException as exc:
            if exc.status in (403, 404, 422):
                return _message(exc)
            raise
        return None

    def delete_branch(self, ref: str) -> bool:
        def delete() -> None:
            self.client.requester.requestJsonAndCheck(
                "DELETE", f"/repos/{self.repo}/git/refs/heads/{quote(ref, safe='/')}"
            )

        try:
            self.retries.idempotent_write.call(delete, what="DELETE branch")
        except GithubException as exc:
            if exc.status == 422:  # "Reference does not exist": already gone
                return False
            raise
        return True

    def open_pulls_into(self, branch: str) -> tuple[int, ...]:
        numbers: list[int] = []
        page = 1
        while True:
            params = {"state": "open", "base": branch, "per_page": 100, "page": page}

            def fetch(params: dict[str, Any] = params) -> list[Any]:
                _, data = self.client.requester.requestJsonAndCheck(
                    "GET", f"/repos/{self.repo}/pulls", parameters=params
                )
                return list(data)

            listed = self.retries.read.call(fetch, what="GET open pulls by base")
            numbers.extend(int(p["number"]) for p in listed)
            if len(listed) < 100:
                return tuple(numbers)
            page += 1

    def commit_messages(self) -> tuple[str, ...]:
        messages: list[str] = []
        page = 1
        while True:
            params = {"per_page": 100, "page": page}

            def fetch(params: dict[str, Any] = params) -> list[Any]:
                _, data = self.client.requester.requestJsonAndCheck(
                    "GET", f"{self._pull_url}/commits", parameters=params
                )
                return list(data)

            listed = self.retries.read.call(fetch, what="GET pull commits")
            messages.extend(str((c.get("commit") or {}).get("message") or "") for c in listed)
            if len(listed) < 100 or page * 100 >= COMMITS_LIMIT:
                return tuple(messages)
            page += 1

    def comment(self, body: str) -> int:
        def post() -> int:
            _, data = self.client.requester.requestJsonAndCheck(
                "POST", f"/repos/{self.repo}/issues/{self.number}/comments", input={"body": body}
            )
            return int(data["id"])

        return self.retries.unsafe_write.call(post, what="POST comment")

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Rewrite one of the bot's comments (the same body twice is no error: retried)."""

        def patch() -> None:
            self.client.requester.requestJsonAndCheck(
                "PATCH", f"/repos/{self.repo}/issues/comments/{comment_id}", input={"body": body}
            )

        self.retries.idempotent_write.call(patch, what="PATCH comment")
