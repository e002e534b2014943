"""Merges armed by a comment (`/gate merge`), disarmed by `/gate cancel`.

An armed PR is merged by the pipeline once its gate passes, as if the
policy's `merge.auto` asked for it, with `by` as who armed it. One arming
per PR: arming an armed PR keeps the first arming (its author and time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select

from bot.keys import PullKey
from bot.store.dialect import insert_once
from bot.store.tables import merge_arms as t


@dataclass(frozen=True)
class ArmedMerge:
    by: str
    at: datetime
    comment_id: int


def _of_pull(key: PullKey) -> Any:
    return and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number)


def arm(conn: Connection, key: PullKey, *, by: str, at: datetime, comment_id: int) -> bool:
    """Arm the PR's merge; False when it was armed already (the first arming stands)."""
    return insert_once(
        conn,
        t,
        provider=key.provider,
        repo=key.repo,
        number=key.number,
        by=by,
        at=at,
        comment_id=comment_id,
    )


def armed(conn: Connection, key: PullKey) -> ArmedMerge | None:
    row = conn.execute(select(t).where(_of_pull(key))).first()
    return ArmedMerge(by=row.by, at=row.at, comment_id=row.comment_id) if row else None


def disarm(conn: Connection, key: PullKey) -> ArmedMerge | None:
    """Disarm the PR's merge; the arming removed, or None when it was not armed."""
    row = conn.execute(select(t).where(_of_pull(key))).first()
    if row is None:
        return None
    # Only the caller whose DELETE removed the row reports it.
    removed = conn.execute(delete(t).where(t.c.id == row.id)).rowcount
    if removed != 1:
        return None
    return ArmedMerge(by=row.by, at=row.at, comment_id=row.comment_id)
