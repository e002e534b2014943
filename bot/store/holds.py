"""Holds on PRs (`/gate hold`, `/gate unhold`): a held PR does not pass the gate.

One hold per person and PR: holding again is no new hold. Logins compare
case-insensitively, as on the forge; each hold keeps its login as written,
and the holder's repository permission when they held it (`permission`:
a role name, `none`, or None for holds recorded before it was kept). Which
holds an `unhold` may lift is the core's rule (`bot.core.authorize.may_lift`);
`lift` removes the ones it allows. The pipeline reads `for_pull` into the
snapshot's holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select

from bot.keys import PullKey
from bot.store.dialect import insert_once
from bot.store.tables import pull_holds as t


@dataclass(frozen=True)
class HoldRecord:
    by: str
    at: datetime
    comment_id: int
    permission: str | None = None


def _of_pull(key: PullKey) -> Any:
    return and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number)


def hold(
    conn: Connection,
    key: PullKey,
    *,
    by: str,
    at: datetime,
    comment_id: int,
    permission: str | None,
) -> bool:
    """Hold the PR for `by` (whose permission is `permission`); False when `by`
    (in any letter case) already holds it."""
    # The PR's commands run one at a time (under its dirty lease), so this
    # check cannot race with another hold of the same PR; the unique key
    # still refuses a second row of the same spelling.
    held = conn.execute(
        select(t.c.id).where(_of_pull(key), func.lower(t.c.by) == by.lower())
    ).first()
    if held is not None:
        return False
    return insert_once(
        conn,
        t,
        provider=key.provider,
        repo=key.repo,
        number=key.number,
        by=by,
        at=at,
        comment_id=comment_id,
        permission=permission,
    )


def lift(conn: Connection, key: PullKey, holders: list[str]) -> int:
    """Lift the holds of `holders` (any letter case); how many there were."""
    if not holders:
        return 0
    folded = [login.lower() for login in holders]
    return conn.execute(delete(t).where(_of_pull(key), func.lower(t.c.by).in_(folded))).rowcount


def for_pull(conn: Connection, key: PullKey) -> list[HoldRecord]:
    """The PR's holds, oldest first."""
    rows = conn.execute(select(t).where(_of_pull(key)).order_by(t.c.at, t.c.id))
    return [
        HoldRecord(by=r.by, at=r.at, comment_id=r.comment_id, permission=r.permission)
        for r in rows
    ]
