"""Overrides (`/gate override <reason>`): a person passes the gate for one head SHA.

The pipeline records an override bound to the head it saw when it ran the
command (`record`), once per comment; whether it still applies (the head
unchanged, pushed before the comment was written) is the evaluation's to
decide from `for_pull`. Rows are never deleted: they are the override
audit log too (`audit_entries`, for `gatebot audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from bot.keys import PullKey
from bot.store.dialect import insert_once
from bot.store.tables import pull_overrides as t


@dataclass(frozen=True)
class OverrideRecord:
    key: PullKey
    sha: str
    by: str
    reason: str
    at: datetime  # when the comment was written
    comment_id: int
    recorded_at: datetime  # when the bot took the override in

    def line(self) -> str:
        """One line for people: time recorded, repository and PR, SHA, who, why."""
        return (
            f"{self.recorded_at.isoformat(timespec='seconds')} {self.key.repo}#{self.key.number} "
            f"{self.sha[:12]} override by {self.by}: {self.reason}"
        )


def _record(row: Any) -> OverrideRecord:
    return OverrideRecord(
        key=PullKey(row.provider, row.repo, row.number),
        sha=row.sha,
        by=row.by,
        reason=row.reason,
        at=row.at,
        comment_id=row.comment_id,
        recorded_at=row.recorded_at,
    )


def record(
    conn: Connection,
    key: PullKey,
    *,
    sha: str,
    by: str,
    reason: str,
    at: datetime,
    comment_id: int,
    now: datetime,
) -> bool:
    """Record the override of comment `comment_id`; False when it is recorded already."""
    return insert_once(
        conn,
        t,
        provider=key.provider,
        repo=key.repo,
        number=key.number,
        sha=sha,
        by=by,
        reason=reason,
        at=at,
        recorded_at=now,
        comment_id=comment_id,
    )


def for_pull(conn: Connection, key: PullKey) -> list[OverrideRecord]:
    """Every override recorded on the PR (for any head), oldest comment first."""
    rows = conn.execute(
        select(t)
        .where(and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number))
        .order_by(t.c.at, t.c.id)
    )
    return [_record(r) for r in rows]


def audit_entries(
    conn: Connection, *, repo: str | None = None, since: datetime | None = None
) -> list[OverrideRecord]:
    """Overrides in the order the bot recorded them, optionally of one repository and
    recorded from a time on (`audit_query`'s filters, on `recorded_at`)."""
    stmt = select(t)
    if repo is not None:
        stmt = stmt.where(func.lower(t.c.repo) == repo.lower())
    if since is not None:
        stmt = stmt.where(t.c.recorded_at >= since)
    return [_record(r) for r in conn.execute(stmt.order_by(t.c.recorded_at, t.c.id))]
