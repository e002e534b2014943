"""The one snapshot factory of the test suite, plus small builders.

`make_snapshot(**overrides)` returns a plausible pull request with a default
for every field; a test overrides only what it is about. The default cast:

- `ada` wrote the PR (write permission) and is its only contributor;
- `bob` (write) and `carol` (maintain) are in `acme/backend`;
- `carol` and `dave` (write) are in `acme/platform`;
- `erin` has read, `grace` triage, `frank` admin; `mallory` has no access;
- everyone but `mallory` is in the `acme` organisation.

Times are minutes after `T0`, when the head `HEAD` was pushed; the PR is
evaluated at `T0 + 60 minutes`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.snapshot import (
    Actor,
    ChangedFile,
    CheckResult,
    Comment,
    Commit,
    Directory,
    HeadChange,
    Review,
    Snapshot,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BASE = "b" * 40
HEAD = "c0ffee" + "1" * 34
OLD_HEAD = "dead00" + "2" * 34
AUTHOR = "ada"

PERMISSIONS = {
    "ada": "write",
    "bob": "write",
    "carol": "maintain",
    "dave": "write",
    "erin": "read",
    "frank": "admin",
    "grace": "triage",
    "mallory": "none",
    "renovate[bot]": "write",
    "gatebot[bot]": "write",
}
TEAMS = {
    "acme/backend": ("bob", "carol"),
    "acme/platform": ("carol", "dave"),
    "acme/admins": ("frank",),
}
ORGANIZATIONS = {"acme": ("ada", "bob", "carol", "dave", "erin", "frank", "grace")}

_ids = itertools.count(1000)


def at(minutes: float) -> datetime:
    """The time `minutes` after the head was pushed."""
    return T0 + timedelta(minutes=minutes)


def actor(login: str) -> Actor:
    return Actor(login=login, is_bot=login.endswith("[bot]"))


def review(
    author: str,
    state: str = "APPROVED",
    *,
    sha: str | None = HEAD,
    minutes: float = 10,
    body: str = "",
    id: int | None = None,
) -> Review:
    return Review(
        id=next(_ids) if id is None else id,
        author=actor(author),
        state=state,
        commit_sha=sha,
        submitted_at=at(minutes),
        body=body,
    )


def comment(
    author: str,
    body: str,
    *,
    minutes: float = 10,
    edited_by: str | None = None,
    edited: bool | None = None,
    edited_minutes: float | None = None,
    id: int | None = None,
) -> Comment:
    return Comment(
        id=next(_ids) if id is None else id,
        author=actor(author),
        body=body,
        created_at=at(minutes),
        edited=(edited_by is not None) if edited is None else edited,
        edited_by=edited_by,
        edited_at=at(edited_minutes) if edited_minutes is not None else None,
    )


def check(
    name: str,
    state: str = "success",
    *,
    app: str | None = "github-actions",
    kind: str = "check_run",
    minutes: float = 5,
) -> CheckResult:
    return CheckResult(
        name=name,
        kind=kind,
        app=app,
        state=state,
        completed_at=at(minutes) if state not in {"queued", "in_progress", "pending"} else None,
        updated_at=at(minutes),
    )


def changed(
    path: str,
    *,
    status: str = "modified",
    previous_path: str | None = None,
    additions: int = 1,
    deletions: int = 1,
) -> ChangedFile:
    return ChangedFile(
        path=path,
        previous_path=previous_path,
        status="renamed" if previous_path and status == "modified" else status,
        additions=additions,
        deletions=deletions,
    )


def commit(
    sha: str = HEAD,
    *,
    parents: tuple[str, ...] = (BASE,),
    author: str | None = AUTHOR,
    committer: str | None = AUTHOR,
    update_merge: bool = False,
) -> Commit:
    return Commit(
        sha=sha, parents=parents, author=author, committer=committer, is_update_merge=update_merge
    )


def directory(**overrides: Any) -> Directory:
    data: dict[str, Any] = {
        "teams": TEAMS,
        "organizations": ORGANIZATIONS,
        "permissions": PERMISSIONS,
    }
    data.update(overrides)
    return Directory(**data)


def head_change(
    sha: str = HEAD, minutes: float = 0, base_ref: str = "main", pusher: str | None = None
) -> HeadChange:
    """`sha` became the PR's head (on `base_ref`) `minutes` after T0, pushed by `pusher`."""
    return HeadChange(sha=sha, base_ref=base_ref, at=at(minutes), pusher=pusher)


def make_snapshot(**overrides: Any) -> Snapshot:
    """A PR by `ada` changing one file, pushed at T0 and not yet reviewed."""
    data: dict[str, Any] = {
        "number": 42,
        "title": "Add retry to the payment client",
        "body": "Retries idempotent calls.",
        "author": actor(AUTHOR),
        "draft": False,
        "base_ref": "main",
        "base_sha": BASE,
        "head_ref": "feature/retry",
        "head_sha": HEAD,
        "labels": (),
        "files": (changed("services/api/client.py"),),
        "files_truncated": False,
        "commits": (commit(),),
        "commits_truncated": False,
        "pushers": (AUTHOR,),
        "reviews": (),
        "comments": (),
        "checks": (),
        "head_history": (head_change(),),
        "holds": (),
        "overrides": (),
        "tampering": (),
        "directory": directory(),
        "codeowners": None,
        "bot": {"logins": ("gatebot[bot]",), "context_prefix": "gatebot"},
        "evaluated_at": at(60),
    }
    data.update(overrides)
    return Snapshot(**data)


def policy(text: str):
    """A policy built from YAML through the real loader; fails the test on errors."""
    from bot.core.policy.loader import load_policy

    result = load_policy(text.encode(), "test-policy.yml")
    errors = list(result.errors)
    assert not errors, "\n".join(str(e) for e in errors)
    assert result.policy is not None
    return result.policy
