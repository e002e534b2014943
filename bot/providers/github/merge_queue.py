"""What a merge-queue group contains, read from GitHub rather than from its name.

A group's branch name and head commit message name only some of its PRs
(the one at its tip, and whatever a squash title claims); PRs ahead of it in
the queue ride along unnamed, and titles are chosen by PR authors. So the
group is read as GitHub stores it:

1. the commits between the group's base and head
   (`GET /repos/{o}/{r}/compare/{base}...{head}`, 100 a page, at most
   `MAX_COMMITS`; more and the contents are `truncated`);
2. each commit mapped to the PRs GitHub associates with it
   (`GET /repos/{o}/{r}/commits/{sha}/pulls`), keeping the open ones into the
   group's base branch — the merge queue's own squash or merge commit of a PR
   is associated with that PR, as are the PR's own commits;
3. a commit that maps to no such PR is a `stray`.

Newest first; once a PR is found, the commits its current head contains are
its own (its evaluation at that head covers them), so they are not asked
about one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github.Requester import Requester

from bot.retry import RetryPolicy

MAX_COMMITS = 1000
_PAGE = 100


@dataclass(frozen=True)
class GroupContents:
    pulls: tuple[int, ...]
    """Open PRs into the group's base whose changes the group contains, by number."""
    strays: tuple[str, ...]
    """Commits of the group that belong to no such PR, newest first."""
    truncated: bool
    """More than `MAX_COMMITS` commits: the group cannot be read whole."""


def group_contents(
    requester: Requester,
    repo: str,
    base_ref: str,
    base_sha: str,
    head_sha: str,
    read: RetryPolicy,
) -> GroupContents:
    commits, truncated = _compare(requester, repo, base_sha, head_sha, read)
    if truncated:
        return GroupContents((), (), True)
    parents = {c["sha"]: [p["sha"] for p in c.get("parents") or ()] for c in commits}
    pulls: set[int] = set()
    strays: list[str] = []
    covered: set[str] = set()
    for sha in reversed(list(parents)):
        if sha in covered:
            continue
        found = _associated(requester, repo, sha, base_ref, read)
        if not found:
            strays.append(sha)
        for number, pull_head in found:
            pulls.add(number)
            covered |= _within(parents, pull_head)
    return GroupContents(tuple(sorted(pulls)), tuple(strays), False)


def _compare(
    requester: Requester, repo: str, base_sha: str, head_sha: str, read: RetryPolicy
) -> tuple[list[dict[str, Any]], bool]:
    path = f"/repos/{repo}/compare/{base_sha}...{head_sha}"
    commits: list[dict[str, Any]] = []
    page = 1
    while True:

        def fetch(page: int = page) -> dict[str, Any]:
            _, body = requester.requestJsonAndCheck(
                "GET", path, parameters={"per_page": _PAGE, "page": page}
            )
            return body

        body = read.call(fetch, what=f"GET compare page {page}")
        total = int(body.get("total_commits") or 0)
        if total > MAX_COMMITS:
            return [], True
        listed = body.get("commits") or []
        commits.extend(listed)
        if not listed or len(commits) >= total:
            return commits, False
        page += 1


def _associated(
    requester: Requester, repo: str, sha: str, base_ref: str, read: RetryPolicy
) -> list[tuple[int, str]]:
    """(number, head SHA) of the open PRs into `base_ref` GitHub associates with `sha`."""

    def fetch() -> list[dict[str, Any]]:
        _, body = requester.requestJsonAndCheck(
            "GET", f"/repos/{repo}/commits/{sha}/pulls", parameters={"per_page": _PAGE}
        )
        return body if isinstance(body, list) else []

    return [
        (int(pr["number"]), str((pr.get("head") or {}).get("sha") or ""))
        for pr in read.call(fetch, what=f"GET pulls of commit {sha[:12]}")
        if pr.get("state") == "open" and (pr.get("base") or {}).get("ref") == base_ref
    ]


def _within(parents: dict[str, list[str]], start: str) -> set[str]:
    """`start` and its ancestors, among the group's commits."""
    seen: set[str] = set()
    todo: list[str] = [start]
    while todo:
        sha = todo.pop()
        if sha in seen or sha not in parents:
            continue
        seen.add(sha)
        todo.extend(parents[sha])
    return seen

