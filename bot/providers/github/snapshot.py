"""A PR's parts read from GitHub's REST API and turned into the core's snapshot models.

An evaluation reads its PR in one GraphQL query (`graphql_reads`); these REST
reads remain for what that query cannot tell and for the other reads of a PR:

- the PR itself (`read_pull`: mergeability for the merge step, a merge
  group's member PRs);
- the file list when a file was renamed or copied (GraphQL's changed file
  has no previous path);
- the commit list when a commit's author or committer is an account GraphQL
  maps to no user (a bot), and the commits of a PR longer than GitHub's
  250, read from the comparison of its base and head — and flagged
  (`commits_truncated`) only when that cannot list them all;
- the head's check runs and statuses when the query's last commit is not
  the head; and the statuses the publisher reads to confirm an unchanged
  verdict on another commit.

Each function is one list (every page of it, 100 a page) or one object,
read under the `read` retry policy; a failed page is asked for again
without re-reading the pages before it. GitHub's own caps are kept and
flagged, so the core can fail closed: at most 3,000 files
(`files_truncated`).

Update merges are recognised afterwards, by content (`update_merges`): the
commits read here carry no such flag, whoever committed them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, get_args
from urllib.parse import quote

from github.CheckRun import CheckRun
from github.CommitStatus import CommitStatus
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest
from github.Repository import Repository
from github.Requester import Requester

from bot.core.snapshot import (
    ChangedFile,
    CheckResult,
    CheckState,
    Commit,
    FileStatus,
)
from bot.retry import RetryPolicy

FILES_LIMIT = 3000
COMMITS_LIMIT = 250
COMPARE_COMMITS_LIMIT = 10_000  # commits read from a comparison, 100 a page
_COMPARE_PAGE = 100
GHOST = "ghost"  # GitHub's stand-in for a deleted account

# The snapshot's own vocabularies; anything else GitHub sends is mapped below.
_FILE_STATUSES = frozenset(get_args(FileStatus))
_CONCLUSIONS = frozenset(
    {
        "success",
        "neutral",
        "skipped",
        "failure",
        "cancelled",
        "timed_out",
        "action_required",
        "stale",
    }
)
_RUN_STATUSES = frozenset({"queued", "in_progress", "pending", "waiting", "requested"})
_STATUS_STATES = frozenset({"success", "failure", "error", "pending"})

T = TypeVar("T")


def read_all(
    items: PaginatedList[T], retry: RetryPolicy, what: str, limit: int | None = None
) -> list[T]:
    """Every item of a paginated list (at most `limit`), each page retried on its own.

    PyGithub's list keeps the pages it already has and the link to the next
    one, so iterating again after a failed page resumes at that page.
    """

    def fetch() -> list[T]:
        return list(itertools.islice(items, limit)) if limit is not None else list(items)

    return retry.call(fetch, what=what)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_pull(repo: Repository, number: int, retry: RetryPolicy) -> PullRequest:
    def fetch() -> PullRequest:
        # The client is lazy: `complete()` is the GET, so it happens under the retry.
        return repo.get_pull(number).complete()

    return retry.call(fetch, what=f"GET pull {number}")


def read_files(
    pull: PullRequest, retry: RetryPolicy, changed_files: int
) -> tuple[tuple[ChangedFile, ...], bool]:
    """The changed files (GitHub lists at most 3,000 of the PR's `changed_files`) and
    whether the list was cut."""
    files = read_all(pull.get_files(), retry, "GET pull files", FILES_LIMIT)
    changed = tuple(
        ChangedFile(
            path=f.filename,
            previous_path=f.previous_filename or None,
            status=cast(FileStatus, f.status if f.status in _FILE_STATUSES else "modified"),
            additions=max(f.additions or 0, 0),
            deletions=max(f.deletions or 0, 0),
        )
        for f in files
    )
    return changed, changed_files > len(changed)


@dataclass(frozen=True)
class CommitRange:
    """Where a PR's commits lie: its repository, how many, its base and head SHAs."""

    repo: str
    count: int
    base_sha: str
    head_sha: str


def read_commits(
    pull: PullRequest, retry: RetryPolicy, requester: Requester, where: CommitRange
) -> tuple[tuple[Commit, ...], bool]:
    """The PR's commits, oldest first, and whether the list was cut.

    GitHub lists at most 250 commits of a PR; a longer PR's commits are read
    from the comparison of its base and head instead (the same commits, and
    pages of them), up to `COMPARE_COMMITS_LIMIT`."""
    expected = where.count
    if expected > COMMITS_LIMIT:
        return _compared_commits(where, retry, requester)
    listed = read_all(pull.get_commits(), retry, "GET pull commits", COMMITS_LIMIT)
    commits = tuple(
        Commit(
            sha=c.sha,
            parents=tuple(p.sha for p in c.parents),
            author=c.author.login if c.author is not None else None,
            committer=c.committer.login if c.committer is not None else None,
        )
        for c in listed
    )
    return commits, expected > len(commits)


def _compared_commits(
    where: CommitRange, retry: RetryPolicy, requester: Requester
) -> tuple[tuple[Commit, ...], bool]:
    """`compare/{base}...{head}`, 100 commits a page: cut (fail closed) unless it
    lists exactly the PR's commits."""
    expected = where.count
    base, head = quote(where.base_sha, safe=""), quote(where.head_sha, safe="")
    path = f"/repos/{where.repo}/compare/{base}...{head}"
    found: list[Commit] = []
    for page in range(1, COMPARE_COMMITS_LIMIT // _COMPARE_PAGE + 1):
        params = {"per_page": _COMPARE_PAGE, "page": page}

        def fetch(params: dict[str, int] = params) -> Any:
            return requester.requestJsonAndCheck("GET", path, parameters=params)[1]

        data = retry.call(fetch, what="GET compare commits")
        listed = data.get("commits") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            break
        found.extend(_commit_of(c) for c in listed if isinstance(c, dict))
        if len(listed) < _COMPARE_PAGE or len(found) >= expected:
            break
    complete = len(found) == expected and len({c.sha for c in found}) == expected
    return tuple(found), not complete


def _commit_of(raw: dict[str, Any]) -> Commit:
    def login(who: Any) -> str | None:
        value = who.get("login") if isinstance(who, dict) else None
        return value if isinstance(value, str) and value else None

    return Commit(
        sha=str(raw.get("sha")),
        parents=tuple(
            str(p["sha"]) for p in raw.get("parents") or () if isinstance(p, dict) and "sha" in p
        ),
        author=login(raw.get("author")),
        committer=login(raw.get("committer")),
    )


def run_state(status: str | None, conclusion: str | None) -> CheckState:
    """A check run's status and conclusion in the snapshot's one vocabulary.

    An unknown conclusion fails and an unknown status is pending: neither passes.
    """
    if status == "completed":
        if conclusion in _CONCLUSIONS:
            return cast(CheckState, conclusion)
        return "failure"
    return cast(CheckState, status if status in _RUN_STATUSES else "pending")


def check_run_result(run: CheckRun, now: datetime) -> CheckResult:
    completed = _aware(run.completed_at)
    started = _aware(run.started_at)
    app = run.app.slug if run.app is not None else None
    return CheckResult(
        name=run.name,
        kind="check_run",
        app=app,
        state=run_state(run.status, run.conclusion),
        completed_at=completed,
        updated_at=completed or started or now,
    )


def status_result(status: CommitStatus) -> CheckResult:
    state = status.state if status.state in _STATUS_STATES else "error"
    return CheckResult(
        name=status.context,
        kind="status",
        app=status.creator.login if status.creator is not None else None,
        state=cast(CheckState, state),
        completed_at=None,
        updated_at=cast(datetime, _aware(status.updated_at or status.created_at)),
    )


def read_check_runs(
    repo: Repository, sha: str, retry: RetryPolicy, now: datetime
) -> tuple[CheckResult, ...]:
    """Every check run on `sha` (`filter=all`: the core picks the latest per name), oldest
    first: GitHub lists the newest first, and the core breaks ties of equal times (whole
    seconds) in favour of the later entry."""
    runs = read_all(repo.get_commit(sha).get_check_runs(filter="all"), retry, "GET check runs")
    return tuple(check_run_result(run, now) for run in sorted(runs, key=lambda r: r.id))


def status_results(statuses: Iterable[CommitStatus]) -> tuple[CheckResult, ...]:
    """Commit statuses for the core, oldest first (ids grow; see `read_check_runs`)."""
    return tuple(status_result(s) for s in sorted(statuses, key=lambda s: s.id))


def read_statuses(repo: Repository, sha: str, retry: RetryPolicy) -> list[CommitStatus]:
    """Every commit status on `sha`, newest first as GitHub lists them."""
    # `Commit.get_statuses()` asks the legacy `/statuses/{sha}` alias; this is the
    # documented `repos/list-commit-statuses-for-ref`.
    statuses = PaginatedList(
        CommitStatus, repo.requester, f"{repo.url}/commits/{quote(sha, safe='')}/statuses", None
    )
    return read_all(statuses, retry, "GET statuses")
