"""Each open PR's latest snapshot, with the policy that judged it.

The pipeline saves the snapshot it evaluated (`save`), and forgets it when
the PR is found closed (`forget`). A PR that proposes a policy reads the
others' rows (`on_base`, `of_owner`) to show what its policy would change,
without asking the forge again; `gatebot simulate` reads them offline
(`in_repo`, `every`). A row is JSON written and read by the shell:
`snapshot` (the core's `Snapshot`), `needs` (what the policy made the
evaluation read), the governing policy's text and origin.

`save` says whether the PR changed for a policy (its snapshot's digest,
which leaves the evaluation time out): only then are the PRs that show an
impact on it (`proposing`) marked to recompute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select

from bot.store.dialect import insert
from bot.store.tables import pull_snapshots as t

BASE = "base"
"""`proposes`: the PR edits its repository's policy for its base branch."""
OWNER = "owner"
"""`proposes`: the PR edits the owner-wide policy."""


@dataclass(frozen=True)
class SavedPull:
    provider: str
    repo: str
    number: int
    base_ref: str
    head_sha: str
    origin: str | None
    """Where the policy that judged it came from (`repository`, `owner`, ...)."""
    policy_file: str | None
    policy_text: str | None
    needs: str
    snapshot: str
    digest: str
    proposes: str | None
    saved_at: datetime

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0].lower()


def _match(provider: str, repo: str, number: int) -> ColumnElement[bool]:
    return and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number)


def _rows(conn: Connection, where: ColumnElement[bool]) -> list[SavedPull]:
    rows = conn.execute(select(t).where(where).order_by(t.c.repo, t.c.number))
    return [_saved(r) for r in rows]


def _saved(row: Any) -> SavedPull:
    return SavedPull(
        provider=row.provider,
        repo=row.repo,
        number=row.number,
        base_ref=row.base_ref,
        head_sha=row.head_sha,
        origin=row.origin,
        policy_file=row.policy_file,
        policy_text=row.policy_text,
        needs=row.needs,
        snapshot=row.snapshot,
        digest=row.digest,
        proposes=row.proposes,
        saved_at=row.saved_at,
    )


def save(conn: Connection, pull: SavedPull) -> bool:
    """Keep `pull` as the PR's latest; True when its digest (or base) differs from the
    row it replaces, or there was none."""
    before = conn.execute(
        select(t.c.digest, t.c.base_ref).where(_match(pull.provider, pull.repo, pull.number))
    ).first()
    values = {
        "provider": pull.provider,
        "repo": pull.repo,
        "number": pull.number,
        "owner": pull.owner,
        "base_ref": pull.base_ref,
        "head_sha": pull.head_sha,
        "origin": pull.origin,
        "policy_file": pull.policy_file,
        "policy_text": pull.policy_text,
        "needs": pull.needs,
        "snapshot": pull.snapshot,
        "digest": pull.digest,
        "proposes": pull.proposes,
        "saved_at": pull.saved_at,
    }
    stmt = insert(conn, t).values(values)
    keys = ("provider", "repo", "number")
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo, t.c.number],
            set_={k: getattr(stmt.excluded, k) for k in values if k not in keys},
        )
    )
    return before is None or (before.digest, before.base_ref) != (pull.digest, pull.base_ref)


def forget(conn: Connection, provider: str, repo: str, number: int) -> None:
    """The PR is closed: it is no longer anyone's concern."""
    conn.execute(delete(t).where(_match(provider, repo, number)))


def on_base(conn: Connection, provider: str, repo: str, base_ref: str) -> list[SavedPull]:
    """The saved open PRs of `repo` into `base_ref`, by number."""
    return _rows(conn, and_(t.c.provider == provider, t.c.repo == repo, t.c.base_ref == base_ref))


def of_owner(
    conn: Connection, provider: str, owner: str, origins: Sequence[str]
) -> list[SavedPull]:
    """The saved open PRs of `owner`'s repositories judged by a policy of one of
    `origins`, by repository and number."""
    return _rows(
        conn,
        and_(t.c.provider == provider, t.c.owner == owner.lower(), t.c.origin.in_(list(origins))),
    )


def in_repo(conn: Connection, provider: str, repo: str) -> list[SavedPull]:
    """Every saved open PR of `repo`, by number."""
    return _rows(conn, and_(t.c.provider == provider, t.c.repo == repo))


def every(conn: Connection, provider: str) -> list[SavedPull]:
    """Every saved open PR of `provider`, by repository and number."""
    return _rows(conn, t.c.provider == provider)


def proposing(
    conn: Connection, provider: str, repo: str, base_ref: str, *, owner_wide: bool
) -> list[tuple[str, int]]:
    """The PRs showing what their policy would change for a PR of `repo` into
    `base_ref`: those proposing `repo`'s policy for that base and, when the PR is
    judged by the owner-wide policy (`owner_wide`), those proposing that one."""
    owner = repo.split("/", 1)[0].lower()
    same_base = and_(t.c.proposes == BASE, t.c.repo == repo, t.c.base_ref == base_ref)
    stmt = (
        select(t.c.repo, t.c.number)
        .where(
            t.c.provider == provider,
            or_(same_base, and_(t.c.proposes == OWNER, t.c.owner == owner))
            if owner_wide
            else same_base,
        )
        .order_by(t.c.repo, t.c.number)
    )
    return [(r.repo, r.number) for r in conn.execute(stmt)]
