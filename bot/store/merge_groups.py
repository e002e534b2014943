"""Merge-queue groups waiting for the bot's verdict, and how they ride the dirty queue.

A `merge_group` `checks_requested` webhook asks for a status on the group's
head commit; the gate passes it only if every PR in the group passes at its
own head. The routing records the group (`request`) and marks it in the
dirty table, so it travels the same queue, lease and sweeper as PRs:

- Key: `GroupKey(provider, repo, group.id)` (`bot.keys`): the forge, the
  repository, and the group's row id here. A pipeline tells it from a PR's
  key by its type and reads the group with `for_key(conn, key)`; the dirty
  table writes it in its rows as `bot.store.key_columns` says.
- `MergeGroup` gives the repository, the group's head SHA (where the status
  goes), its base branch and SHA, the PR numbers in the group (first those
  its webhook names — `merge_group.head_ref` and the head commit's message —
  then, with `set_members`, every PR the pipeline found in its commits) and
  the installation.
- `state` is `requested` until GitHub says the group is gone (`destroyed`:
  merged, dequeued, invalidated); a pipeline finding it `destroyed` stops.

The same group delivered twice (same repository and head SHA) keeps its id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, and_, select, update

from bot.keys import GroupKey, WorkKey
from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import merge_groups as t

REQUESTED = "requested"
DESTROYED = "destroyed"

@dataclass(frozen=True)
class MergeGroup:
    id: int
    provider: str
    repo: str
    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str | None
    pull_numbers: tuple[int, ...]
    installation_id: int | None
    state: str
    requested_at: datetime
    updated_at: datetime

    @property
    def key(self) -> GroupKey:
        """This group's key in the dirty table."""
        return GroupKey(self.provider, self.repo, self.id)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def _group(row: Any) -> MergeGroup:
    return MergeGroup(
        id=row.id,
        provider=row.provider,
        repo=row.repo,
        head_sha=row.head_sha,
        head_ref=row.head_ref,
        base_ref=row.base_ref,
        base_sha=row.base_sha,
        pull_numbers=_numbers(row.pull_numbers),
        installation_id=row.installation_id,
        state=row.state,
        requested_at=row.requested_at,
        updated_at=row.updated_at,
    )


@cached_statement
def _request_statement(dialect: str) -> Executable:
    stmt = insert_for(dialect, t)
    return stmt.on_conflict_do_update(
        index_elements=[t.c.provider, t.c.repo, t.c.head_sha],
        set_={
            "head_ref": stmt.excluded.head_ref,
            "base_ref": stmt.excluded.base_ref,
            "base_sha": stmt.excluded.base_sha,
            "pull_numbers": stmt.excluded.pull_numbers,
            "installation_id": stmt.excluded.installation_id,
            "state": stmt.excluded.state,
            "updated_at": stmt.excluded.updated_at,
        },
    ).returning(*t.c)


def request(
    conn: Connection,
    *,
    provider: str,
    repo: str,
    head_sha: str,
    head_ref: str,
    base_ref: str,
    base_sha: str | None,
    pull_numbers: Iterable[int],
    installation_id: int | None,
    now: datetime,
) -> MergeGroup:
    """Record that the group at `head_sha` wants a verdict; return it (with its id)."""
    row = conn.execute(
        _request_statement(conn),
        {
            "provider": provider,
            "repo": repo,
            "head_sha": head_sha,
            "head_ref": head_ref,
            "base_ref": base_ref,
            "base_sha": base_sha,
            "pull_numbers": ",".join(str(n) for n in sorted(set(pull_numbers))),
            "installation_id": installation_id,
            "state": REQUESTED,
            "requested_at": now,
            "updated_at": now,
        },
    ).one()
    return _group(row)


def end(conn: Connection, provider: str, repo: str, head_sha: str, now: datetime) -> int:
    """GitHub dropped the group (merged, dequeued, invalidated); return rows changed."""
    return conn.execute(
        update(t)
        .where(and_(t.c.provider == provider, t.c.repo == repo, t.c.head_sha == head_sha))
        .values(state=DESTROYED, updated_at=now)
    ).rowcount


def set_members(conn: Connection, group_id: int, numbers: Iterable[int], now: datetime) -> int:
    """Record the PRs found in the group's commits; return rows changed."""
    kept = sorted(set(numbers))
    listed = ",".join(str(n) for n in kept)
    while len(listed) > t.c.pull_numbers.type.length:
        # Past the column: the group still judges them all, it is just not
        # woken by the verdicts of the last few.
        kept.pop()
        listed = ",".join(str(n) for n in kept)
    return conn.execute(
        update(t).where(t.c.id == group_id).values(pull_numbers=listed, updated_at=now)
    ).rowcount


def get(conn: Connection, group_id: int) -> MergeGroup | None:
    row = conn.execute(select(t).where(t.c.id == group_id)).first()
    return None if row is None else _group(row)


def for_key(conn: Connection, key: WorkKey) -> MergeGroup | None:
    """The group a key names (None for a PR's key or a group that is gone)."""
    if not isinstance(key, GroupKey):
        return None
    group = get(conn, key.group_id)
    if group is None or group.key != key:
        return None
    return group


def find(conn: Connection, provider: str, repo: str, head_sha: str) -> MergeGroup | None:
    row = conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.repo == repo, t.c.head_sha == head_sha))
    ).first()
    return None if row is None else _group(row)
