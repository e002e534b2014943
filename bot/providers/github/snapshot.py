"""A PR's parts read from GitHub and turned into the core's snapshot models.

Each function is one list (every page of it, 100 a page) or one object,
read under the `read` retry policy; a failed page is asked for again
without re-reading the pages before it. GitHub's own caps are kept and
flagged, so the core can fail closed: at most 3,000 files
(`files_truncated`); a PR's commit list stops at 250, so the commits of a
longer PR are read from the comparison of its base and head, and flagged
(`commits_truncated`) only when that cannot list them all.

Update merges are recognised afterwards, by content (`update_merges`): the
commits read here carry no such flag, whoever committed them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, get_args
from urllib.parse import quote

from github.CheckRun import CheckRun
from github.CommitStatus import CommitStatus
from github.NamedUser import NamedUser
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest
from github.Repository import Repository
from github.Requester import Requester

from bot.core.snapshot import (
    Actor,
    ChangedFile,
    CheckResult,
    CheckState,
    Comment,
    Commit,
    FileStatus,
    Review,
    ReviewState,
)
from bot.retry import RetryPolicy

FILES_LIMIT = 3000
COMMITS_LIMIT = 250
COMPARE_COMMITS_LIMIT = 10_000  # commits read from a comparison, 100 a page
_COMPARE_PAGE = 100
GHOST = "ghost"  # GitHub's stand-in for a deleted account

# The snapshot's own vocabularies; anything else GitHub sends is mapped below.
_FILE_STATUSES = frozenset(get_args(FileStatus))
_REVIEW_STATES = frozenset(get_args(ReviewState))
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


def actor(user: NamedUser | None) -> Actor:
    if user is None:
        return Actor(login=GHOST)
    login = user.login
    return Actor(login=login, is_bot=user.type == "Bot" or login.lower().endswith("[bot]"))


def read_pull(repo: Repository, number: int, retry: RetryPolicy) -> PullRequest:
    def fetch() -> PullRequest:
        # The client is lazy: `complete()` is the GET, so it happens under the retry.
        return repo.get_pull(number).complete()

    return retry.call(fetch, what=f"GET pull {number}")


def read_files(pull: PullRequest, retry: RetryPolicy) -> tuple[tuple[ChangedFile, ...], bool]:
    """The changed files (GitHub lists at most 3,000) and whether the list was cut."""
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
    return changed, (pull.changed_files or 0) > len(changed)


def read_commits(
    pull: PullRequest, retry: RetryPolicy, requester: Requester
) -> tuple[tuple[Commit, ...], bool]:
    """The PR's commits, oldest first, and whether the list was cut.

    GitHub lists at most 250 commits of a PR; a longer PR's commits are read
    from the comparison of its base and head instead (the same commits, and
    pages of them), up to `COMPARE_COMMITS_LIMIT`."""
    expected = pull.commits or 0
    if expected > COMMITS_LIMIT:
        return _compared_commits(pull, retry, requester, expected)
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
    pull: PullRequest, retry: RetryPolicy, requester: Requester, expected: int
) -> tuple[tuple[Commit, ...], bool]:
    """`compare/{base}...{head}`, 100 commits a page: cut (fail closed) unless it
    lists exactly the PR's commits."""
    repo = pull.base.repo.full_name
    path = f"/repos/{repo}/compare/{quote(pull.base.sha, safe='')}...{quote(pull.head.sha, safe='')}"
    commits: list[Commit] = []
    for page in range(1, COMPARE_COMMITS_LIMIT // _COMPARE_PAGE + 1):
        params = {"per_page": _COMPARE_PAGE, "page": page}

        def fetch(params: dict[str, int] = params) -> Any:
            return requester.requestJsonAndCheck("GET", path, parameters=params)[1]

        data = retry.call(fetch, what="GET compare commits")
        listed = data.get("commits") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            break
        commits.extend(_commit_of(c) for c in listed if isinstance(c, dict))
        if len(listed) < _COMPARE_PAGE or len(commits) >= expected:
            break
    complete = len(commits) == expected and len({c.sha for c in commits}) == expected
    return tuple(commits), not complete


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


def read_reviews(pull: PullRequest, retry: RetryPolicy) -> tuple[Review, ...]:
    """Submitted reviews (a reviewer's own unsubmitted draft is not one)."""
    reviews = read_all(pull.get_reviews(), retry, "GET pull reviews")
    return tuple(
        Review(
            id=r.id,
            author=actor(r.user),
            state=r.state,  # type: ignore[arg-type]
            commit_sha=r.commit_id or None,
            submitted_at=cast(datetime, _aware(r.submitted_at)),
            body=r.body or "",
        )
        for r in reviews
        if r.state in _REVIEW_STATES and r.submitted_at is not None
    )


def read_comments(pull: PullRequest, retry: RetryPolicy) -> tuple[Comment, ...]:
    """Conversation comments; a comment updated after it was written counts as edited."""
    comments = read_all(pull.get_issue_comments(), retry, "GET issue comments")
    found = []
    for c in comments:
        created = cast(datetime, _aware(c.created_at))
        updated = _aware(c.updated_at)
        edited = updated is not None and updated > created
        found.append(
            Comment(
                id=c.id,
                author=actor(c.user),
                body=c.body or "",
                created_at=created,
                edited=edited,
                edited_at=updated if edited else None,
            )
        )
    return tuple(found)


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
