"""A merge request's parts read from GitLab and turned into the core's snapshot models.

Each function is one object or one list (every page, 100 a page), read
under the `read` retry policy, a failed page asked for again on its own.

- Files come from `GET .../merge_requests/:iid/diffs` (python-gitlab's
  `mr.diffs` would read `/versions` instead). GitLab gives no line counts:
  they are counted from each file's diff, which GitLab leaves empty for a
  file too large to show; `changes_count` (`"1000+"` past GitLab's limit) says
  whether the list was cut.
- Commits come from `.../commits`, which GitLab lists newest first; they are
  turned oldest first, like GitHub's. GitLab names no account for a commit's
  author or committer, only a name and an e-mail address: a login is taken
  only from GitLab's own private commit address
  (`<id>-<username>@users.noreply.<host>`), which names its user exactly;
  any other address is an author with no known account (None), which the
  contributor rules count against "only contributor". GitLab's rebase
  rewrites commits instead of merging the target in, so no commit is an
  update merge.
- Reviews: each approver in `.../approvals` (`approved_by`) is an APPROVED
  review with no `commit_sha`, dated by its `approved_at`: GitLab's
  approvals name no commit, so the policy ties them to the head by time
  alone (given after the head's push time), whatever the project's own
  "Remove all approvals when commits are added" setting.
- Pushers: GitLab's commits name no account, so who pushed is what the push
  hooks recorded, and — for a push whose hooks were lost — the "added N
  commits" system notes (`pushers_of`), which GitLab writes as the pusher.
- Comments are the merge request's notes that people wrote: system notes
  ("added 1 commit", "approved this merge request") and inline diff notes
  are left out, as GitHub's review comments are. A note counts as edited
  when its `updated_at` is later than its `created_at` and not explained by
  resolving its thread.
- Checks are the head's commit statuses (`.../repository/commits/:sha/statuses`:
  pipeline jobs and external statuses), the latest per name. The bot's own
  `gatebot: <target>` statuses are left out, and the pipeline's composite
  status is never read: it includes the bot's own status.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from bot.core.snapshot import (
    Actor,
    ChangedFile,
    CheckResult,
    CheckState,
    Comment,
    Commit,
    Review,
)
from bot.providers.base import PullHead
from bot.providers.gitlab.client import GitLabClient, encoded, project
from bot.retry import RetryPolicy

GHOST = "ghost"  # GitLab's stand-in for a deleted account
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PRIVATE_ADDRESS = re.compile(r"^\d+-(?P<username>[^@\s]+)@users\.noreply\.", re.IGNORECASE)
# Users GitLab makes for project and group access tokens.
_TOKEN_BOT = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$", re.IGNORECASE)
# GitLab's system note for a push to a merge request's source branch
# (`SystemNotes::CommitService#add_commits`), and each commit or range it lists.
_ADDED_COMMITS = re.compile(r"added \d+ commits?\b")
_LISTED = re.compile(r"<li>([0-9a-f]{7,40})(?:(\.\.\.?)([0-9a-f]{7,40}))? - ")

# GitLab's job and commit-status states in the snapshot's one vocabulary;
# anything unknown is pending (never passing).
_STATUS_STATES: Mapping[str, CheckState] = {
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "canceling": "cancelled",
    "skipped": "skipped",
    "created": "queued",
    "preparing": "queued",
    "scheduled": "queued",
    "waiting_for_resource": "waiting",
    "waiting_for_callback": "waiting",
    "manual": "waiting",
    "pending": "pending",
    "running": "in_progress",
}


def parse_time(value: Any) -> datetime | None:
    """A GitLab timestamp (ISO 8601, `Z` or an offset) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def actor(user: Mapping[str, Any] | None) -> Actor:
    if not user or not user.get("username"):
        return Actor(login=GHOST)
    login = str(user["username"])
    return Actor(login=login, is_bot=bool(user.get("bot")) or bool(_TOKEN_BOT.match(login)))


def login_from_address(address: str | None) -> str | None:
    """The username in GitLab's private commit address, else None (no known account)."""
    found = _PRIVATE_ADDRESS.match(address or "")
    return found.group("username") if found else None


def mr_path(repo: str, iid: int) -> str:
    return f"{project(repo)}/merge_requests/{iid}"


def read_merge_request(client: GitLabClient, repo: str, iid: int, retry: RetryPolicy) -> Any:
    return retry.call(
        lambda: client.json("get", mr_path(repo, iid)), what=f"GET merge request {iid}"
    )


def merge_sha_of(mr: Mapping[str, Any]) -> str | None:
    """The commit a merged merge request left on its target branch.

    The merge commit, else the squash commit; a fast-forward merge makes
    neither, and the target branch then points at the merged head itself.
    """
    if mr.get("state") != "merged":
        return None
    for field in ("merge_commit_sha", "squash_commit_sha", "sha"):
        if mr.get(field):
            return str(mr[field])
    return None


def state_of(mr: Mapping[str, Any]) -> str:
    """GitLab's `opened` / `locked` (being merged) / `closed` / `merged` → open or closed."""
    return "open" if mr.get("state") in ("opened", "locked") else "closed"


def project_path_of(mr: Mapping[str, Any]) -> str | None:
    """The full path of the merge request's project as GitLab spells it now
    (`references.full` is `group/project!iid`), or None if GitLab did not say."""
    full = (mr.get("references") or {}).get("full")
    suffix = f"!{mr.get('iid')}"
    if not isinstance(full, str) or not full.endswith(suffix):
        return None
    return full.removesuffix(suffix) or None


def pull_head(mr: Mapping[str, Any]) -> PullHead:
    return PullHead(
        number=int(mr["iid"]),
        base_ref=str(mr["target_branch"]),
        head_ref=str(mr["source_branch"]),
        head_sha=str(mr.get("sha") or ""),
        state=state_of(mr),
        merged=mr.get("state") == "merged",
        updated_at=str(mr.get("updated_at") or ""),
        merge_sha=merge_sha_of(mr),
    )


def base_sha_of(mr: Mapping[str, Any]) -> str:
    """The target branch's commit the merge request's current diff was taken against."""
    refs = mr.get("diff_refs") or {}
    return str(refs.get("start_sha") or refs.get("base_sha") or "")


def changes_count(mr: Mapping[str, Any]) -> tuple[int | None, bool]:
    """GitLab's count of changed files, and whether it is past GitLab's limit (`1000+`)."""
    raw = str(mr.get("changes_count") or "").strip()
    if not raw:
        return None, False
    capped = raw.endswith("+")
    digits = raw.rstrip("+")
    return (int(digits) if digits.isdigit() else None), capped


def _line_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines():
        # GitLab's diffs start at the first hunk: no `---` / `+++` header lines.
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed


def changed_file(entry: Mapping[str, Any]) -> ChangedFile:
    new_path = str(entry.get("new_path") or entry.get("old_path"))
    old_path = str(entry.get("old_path") or new_path)
    added, removed = _line_counts(str(entry.get("diff") or ""))
    if entry.get("new_file"):
        return ChangedFile(path=new_path, status="added", additions=added, deletions=removed)
    if entry.get("deleted_file"):
        return ChangedFile(path=old_path, status="removed", additions=added, deletions=removed)
    if entry.get("renamed_file") or old_path != new_path:
        return ChangedFile(
            path=new_path,
            previous_path=old_path,
            status="renamed",
            additions=added,
            deletions=removed,
        )
    return ChangedFile(path=new_path, status="modified", additions=added, deletions=removed)


def read_files(
    client: GitLabClient, repo: str, mr: Mapping[str, Any], retry: RetryPolicy
) -> tuple[tuple[ChangedFile, ...], bool]:
    """The changed files and whether GitLab's list is short of the whole change."""
    listed = client.pages(
        f"{mr_path(repo, int(mr['iid']))}/diffs", retry, "GET merge request diffs"
    )
    files = tuple(changed_file(entry) for entry in listed)
    count, capped = changes_count(mr)
    return files, capped or (count is not None and count > len(files))


def read_raw_commits(
    client: GitLabClient, repo: str, iid: int, retry: RetryPolicy
) -> list[dict[str, Any]]:
    """The merge request's commits as GitLab sends them, oldest first."""
    listed = client.pages(f"{mr_path(repo, iid)}/commits", retry, "GET merge request commits")
    return list(reversed(listed))


def commits_of(raw: Iterable[Mapping[str, Any]]) -> tuple[Commit, ...]:
    return tuple(
        Commit(
            sha=str(c["id"]),
            parents=tuple(str(p) for p in c.get("parent_ids") or ()),
            author=login_from_address(c.get("author_email")),
            committer=login_from_address(c.get("committer_email")),
        )
        for c in raw
    )


def read_reviews(
    client: GitLabClient, repo: str, mr: Mapping[str, Any], retry: RetryPolicy
) -> tuple[Review, ...]:
    """Each current approval as an APPROVED review naming no commit (see the module's note)."""
    iid = int(mr["iid"])
    data = retry.call(
        lambda: client.json("get", f"{mr_path(repo, iid)}/approvals"),
        what="GET merge request approvals",
    )
    # An approval whose time GitLab does not tell is dated at the MR's opening:
    # it can never be shown to follow the head's push, so it never counts.
    undated = parse_time(mr.get("created_at")) or _EPOCH
    reviews = []
    for entry in (data or {}).get("approved_by") or ():
        user = entry.get("user") or {}
        reviewer = actor(user)
        reviews.append(
            Review(
                id=f"approval-{user.get('id', reviewer.login)}",
                author=reviewer,
                state="APPROVED",
                commit_sha=None,
                submitted_at=parse_time(entry.get("approved_at")) or undated,
            )
        )
    return tuple(reviews)


def _edited_at(note: Mapping[str, Any], created: datetime) -> datetime | None:
    updated = parse_time(note.get("updated_at"))
    if updated is None or updated <= created:
        return None
    resolved = parse_time(note.get("resolved_at"))
    if resolved is not None and updated <= resolved:
        return None  # resolving the thread, not an edit of the text
    return updated


class MergeRequestNotes:
    """The merge request's notes as GitLab sends them, oldest first: read at most
    once per evaluation, for the comments and for who pushed (`pushers_of`), which
    may ask for them at the same time from two threads."""

    def __init__(self, client: GitLabClient, repo: str, iid: int, retry: RetryPolicy) -> None:
        self.client, self.repo, self.iid, self.retry = client, repo, iid, retry
        self._notes: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._notes is None:
                self._notes = self.client.pages(
                    f"{mr_path(self.repo, self.iid)}/notes",
                    self.retry,
                    "GET merge request notes",
                    query={"sort": "asc", "order_by": "created_at"},
                )
            return self._notes


def read_comments(
    client: GitLabClient, repo: str, iid: int, retry: RetryPolicy
) -> tuple[Comment, ...]:
    """The notes people wrote on the merge request, oldest first."""
    return comments_of(MergeRequestNotes(client, repo, iid, retry)())


def comments_of(notes: Iterable[Mapping[str, Any]]) -> tuple[Comment, ...]:
    """The notes people wrote, of the merge request's notes."""
    found = []
    for note in notes:
        if note.get("system") or note.get("type") == "DiffNote":
            continue
        created = parse_time(note.get("created_at"))
        if created is None:
            continue
        edited = _edited_at(note, created)
        found.append(
            Comment(
                id=int(note["id"]),
                author=actor(note.get("author")),
                body=str(note.get("body") or ""),
                created_at=created,
                edited=edited is not None,
                edited_at=edited,
            )
        )
    return tuple(found)


def pushers_of(notes: Iterable[Mapping[str, Any]], shas: Iterable[str]) -> tuple[str, ...]:
    """Who pushed one of `shas` (the merge request's commits), as GitLab's own
    "added N commits" system notes tell: each is written by the pusher and lists
    the pushed commits' short ids (`<li>1a2b3c4d - title</li>`; past ten commits
    the earliest as `oldrev...last` or `first..last`, where a three-dot range
    starts at the previous head, which someone else may have pushed).

    Only system notes count: no API creates one, and GitLab lets nobody edit or
    delete one (`Note#editable?` is false for them), so what they say can be
    added to the pushers the push hooks recorded, never taken from them."""
    wanted = tuple(sha.lower() for sha in shas)
    found: set[str] = set()
    for note in notes:
        body = str(note.get("body") or "")
        if not note.get("system") or not _ADDED_COMMITS.match(body):
            continue
        login = str((note.get("author") or {}).get("username") or "")
        if not login or login == GHOST:
            continue
        for first, dots, last in _LISTED.findall(body):
            named = [last] if dots == "..." else [first, last] if dots else [first]
            if any(sha.startswith(short.lower()) for short in named if short for sha in wanted):
                found.add(login)
                break
    return tuple(sorted(found))


def confirmed_note(
    note: Mapping[str, Any] | None, author: str, body: str, created_at: datetime
) -> tuple[str, str, datetime] | str:
    """The API's (author, body, created_at) of a note a delivery described as written by
    `author` with `body` at `created_at`; or why it is not that note (a sentence).

    Hook payloads give times to the second at best, so the times must agree
    within a second; the author (case-insensitively) and the text exactly. A
    system note or an internal note (an answer to it would be public) is not a
    comment that may command anything; nor is an edited note: edited comments
    never run commands, and GitLab lets a project's maintainers edit anyone's
    note, so an old note retold as new in someone else's words would otherwise
    run with its author's rights.
    """
    if not note:
        return "GitLab has no such note on this merge request"
    if note.get("system"):
        return "it is a system note"
    if note.get("internal") or note.get("confidential"):
        return "it is an internal note"
    login = str((note.get("author") or {}).get("username") or "")
    if login.casefold() != author.casefold():
        return "its author is not the one the delivery named"
    if str(note.get("body") or "") != body:
        return "its text is not the one the delivery carried"
    created = parse_time(note.get("created_at"))
    if created is None or abs((created - created_at).total_seconds()) >= 1:
        return "its time is not the one the delivery gave"
    if _edited_at(note, created) is not None:
        return "it was edited"
    return login, str(note["body"]), created


def read_statuses(
    client: GitLabClient, repo: str, sha: str, retry: RetryPolicy
) -> list[dict[str, Any]]:
    """The commit statuses of `sha` as GitLab lists them (jobs and external statuses)."""
    return client.pages(
        f"{project(repo)}/repository/commits/{encoded(sha)}/statuses", retry, "GET commit statuses"
    )


def status_state(status: Mapping[str, Any]) -> CheckState:
    return _STATUS_STATES.get(str(status.get("status") or ""), "pending")


def check_results(
    statuses: Iterable[Mapping[str, Any]], own_prefix: str, now: datetime
) -> tuple[CheckResult, ...]:
    """The latest status per name, oldest first, without the bot's own contexts."""
    latest: dict[str, Mapping[str, Any]] = {}
    for status in statuses:
        name = str(status.get("name") or "")
        if not name or name.casefold().startswith(own_prefix.casefold()):
            continue
        known = latest.get(name)
        if known is None or int(status.get("id") or 0) > int(known.get("id") or 0):
            latest[name] = status
    results = []
    for status in sorted(latest.values(), key=lambda s: int(s.get("id") or 0)):
        finished = parse_time(status.get("finished_at"))
        updated = (
            finished
            or parse_time(status.get("started_at"))
            or parse_time(status.get("created_at"))
            or now
        )
        author = status.get("author") or {}
        results.append(
            CheckResult(
                name=str(status["name"]),
                kind="status",
                app=cast(str | None, author.get("username")),
                state=status_state(status),
                completed_at=finished,
                updated_at=updated,
            )
        )
    return tuple(results)
