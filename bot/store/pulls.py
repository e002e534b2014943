"""The PRs the bot has heard of: number, base branch, head SHA, open or closed.

The webhook routing keeps one row per PR from `pull_request` and
`pull_request_review` events (`remember`), so that events which name only
a commit or a branch find their PRs without asking the forge:

- `open_for_sha(conn, provider, repo, sha)` — open PRs whose head is `sha`
  (statuses, check runs of forks, workflow runs);
- `numbers_for_sha(...)` — the same, plus PRs the bot already posted a
  verdict for on `sha` that are not known to be closed (PRs opened before
  the App was installed, which no `pull_request` event introduced);
- `open_on_base(conn, provider, repo, base_ref)` — open PRs into a branch
  (a push changing the policy file or CODEOWNERS there);
- `open_in_repo(conn, provider, repo)` — every open PR of a repository (a
  collaborator's permission changed);
- `open_of_owner(conn, provider, owner, without_policy_at=...)` — every
  open PR in an owner's repositories (team and organisation changes, the
  owner's fallback policy), optionally only those whose base branch is not
  known to hold a policy file of its own;
- `get(conn, provider, repo, number)` — one PR as last heard of;
- `known_repositories(conn, provider)` — every repository with a PR heard
  of (the catch-up's reconcile walks them).

`repo` is kept as the forge spells it (`Octo-Org/App`), the same spelling
the dirty marks use; `owner` is kept lower-case. A PR's `updated_at` is the
forge's own time from the event, so an older event delivered late never
overwrites what a newer one said (a late review cannot move the head back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    and_,
    exists,
    func,
    or_,
    select,
    union,
)

from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import evaluations, forge_files
from bot.store.tables import pulls as t

OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True)
class PullState:
    """A PR as one event described it."""

    provider: str
    repo: str
    number: int
    base_ref: str
    head_sha: str
    state: str  # OPEN or CLOSED
    installation_id: int | None = None
    updated_at: datetime | None = None  # the forge's time of the PR in the event

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0].lower()


@dataclass(frozen=True)
class OpenPull:
    """An open PR found by a lookup, with the installation it was last heard through."""

    repo: str
    number: int
    installation_id: int | None


@cached_statement
def _remember_statement(dialect: str) -> Executable:
    stmt = insert_for(dialect, t)
    newer = stmt.excluded.updated_at
    return stmt.on_conflict_do_update(
        index_elements=[t.c.provider, t.c.repo, t.c.number],
        set_={
            "owner": stmt.excluded.owner,
            "base_ref": stmt.excluded.base_ref,
            "head_sha": stmt.excluded.head_sha,
            "state": stmt.excluded.state,
            "installation_id": func.coalesce(stmt.excluded.installation_id, t.c.installation_id),
            "updated_at": func.coalesce(newer, t.c.updated_at),
            "seen_at": stmt.excluded.seen_at,
        },
        # Ties go to the later delivery: GitHub's times have one-second steps.
        where=or_(t.c.updated_at.is_(None), newer.is_(None), newer >= t.c.updated_at),
    )


def remember(conn: Connection, pull: PullState, now: datetime) -> None:
    """Keep what `pull` says, unless the store already holds a newer description."""
    conn.execute(
        _remember_statement(conn),
        {
            "provider": pull.provider,
            "repo": pull.repo,
            "number": pull.number,
            "owner": pull.owner,
            "base_ref": pull.base_ref,
            "head_sha": pull.head_sha,
            "state": pull.state,
            "installation_id": pull.installation_id,
            "updated_at": pull.updated_at,
            "seen_at": now,
        },
    )


def get(conn: Connection, provider: str, repo: str, number: int) -> PullState | None:
    row = conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number))
    ).first()
    if row is None:
        return None
    return PullState(
        provider=row.provider,
        repo=row.repo,
        number=row.number,
        base_ref=row.base_ref,
        head_sha=row.head_sha,
        state=row.state,
        installation_id=row.installation_id,
        updated_at=row.updated_at,
    )


def _open_in(provider: str, repo: str) -> ColumnElement[bool]:
    return and_(t.c.provider == provider, t.c.repo == repo, t.c.state == OPEN)


def _found(rows: Any) -> list[OpenPull]:
    return [OpenPull(r.repo, r.number, r.installation_id) for r in rows]


def open_for_sha(conn: Connection, provider: str, repo: str, sha: str) -> list[OpenPull]:
    """Open PRs of `repo` whose head is `sha`, by number."""
    return _found(
        conn.execute(
            select(t.c.repo, t.c.number, t.c.installation_id)
            .where(_open_in(provider, repo), t.c.head_sha == sha.lower())
            .order_by(t.c.number)
        )
    )


def numbers_for_sha(conn: Connection, provider: str, repo: str, sha: str) -> list[int]:
    """PR numbers to re-evaluate when something about commit `sha` of `repo` changed.

    The open PRs with that head, and the PRs the bot posted a verdict for on
    that SHA unless the store knows them closed — one query.
    """
    e = evaluations
    known_closed = exists().where(
        t.c.provider == e.c.provider,
        func.lower(t.c.repo) == e.c.repo,
        t.c.number == e.c.number,
        t.c.state != OPEN,
    )
    stmt = union(
        select(t.c.number).where(_open_in(provider, repo), t.c.head_sha == sha.lower()),
        select(e.c.number).where(
            e.c.provider == provider,
            e.c.repo == repo.lower(),
            e.c.sha == sha.lower(),
            ~known_closed,
        ),
    )
    return sorted({int(n) for n in conn.execute(stmt).scalars()})


def open_on_base(conn: Connection, provider: str, repo: str, base_ref: str) -> list[OpenPull]:
    """Open PRs of `repo` into branch `base_ref`, by number."""
    return _found(
        conn.execute(
            select(t.c.repo, t.c.number, t.c.installation_id)
            .where(_open_in(provider, repo), t.c.base_ref == base_ref)
            .order_by(t.c.number)
        )
    )


def open_in_repo(conn: Connection, provider: str, repo: str) -> list[OpenPull]:
    """Every open PR of `repo`, by number."""
    return _found(
        conn.execute(
            select(t.c.repo, t.c.number, t.c.installation_id)
            .where(_open_in(provider, repo))
            .order_by(t.c.number)
        )
    )


def open_of_owner(
    conn: Connection, provider: str, owner: str, *, without_policy_at: Sequence[str] = ()
) -> list[OpenPull]:
    """Every open PR in `owner`'s repositories, by repository and number.

    With `without_policy_at` (policy file paths), PRs whose base branch is
    known — from the file cache — to hold one of those files are left out:
    their own policy, not the owner's fallback, judges them. A base branch
    the cache knows nothing about is kept.
    """
    where = and_(t.c.provider == provider, t.c.owner == owner.lower(), t.c.state == OPEN)
    if without_policy_at:
        f = forge_files
        has_own = exists().where(
            f.c.provider == t.c.provider,
            f.c.repo == func.lower(t.c.repo),
            f.c.ref == t.c.base_ref,
            f.c.path.in_(list(without_policy_at)),
            f.c.found.is_(True),
        )
        where = and_(where, ~has_own)
    return _found(
        conn.execute(
            select(t.c.repo, t.c.number, t.c.installation_id)
            .where(where)
            .order_by(t.c.repo, t.c.number)
        )
    )


@dataclass(frozen=True)
class KnownRepository:
    """A repository the bot has heard of PRs in."""

    repo: str
    installation_id: int | None  # the latest one a PR was heard through
    oldest_open_update: datetime | None  # the oldest `updated_at` of a PR known open
    last_seen: datetime  # when the bot last heard of any of its PRs


def known_repositories(conn: Connection, provider: str) -> list[KnownRepository]:
    """Every repository of `provider` with a PR heard of, by name."""
    rows = conn.execute(
        select(
            t.c.repo,
            func.max(t.c.installation_id).label("installation_id"),
            func.min(t.c.updated_at).filter(t.c.state == OPEN).label("oldest_open"),
            func.max(t.c.seen_at).label("last_seen"),
        )
        .where(t.c.provider == provider)
        .group_by(t.c.repo)
        .order_by(t.c.repo)
    )
    return [
        KnownRepository(r.repo, r.installation_id, r.oldest_open, r.last_seen) for r in rows
    ]
