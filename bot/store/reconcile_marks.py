"""Reconcile marks: per repository, the time back to which its PR list matches the store.

The catch-up's reconcile (`bot/catchup/reconcile.py`) lists a repository's
PRs newest-updated first and stops at the mark; a mark moves only after a
range was walked whole (`advance`), so a walk cut short by the round's
budget or a rate limit starts from the same mark next round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from bot.store.dialect import insert
from bot.store.tables import reconcile_marks as t


@dataclass(frozen=True)
class ReconcileMark:
    provider: str
    repo: str
    reconciled_to: datetime  # PRs updated before this matched the store when walked
    walked_at: datetime


def get(conn: Connection, provider: str, repo: str) -> ReconcileMark | None:
    row = conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.repo == repo))
    ).first()
    if row is None:
        return None
    return ReconcileMark(row.provider, row.repo, row.reconciled_to, row.walked_at)


def all_of(conn: Connection, provider: str) -> dict[str, ReconcileMark]:
    """Every mark of `provider`, by repository."""
    rows = conn.execute(select(t).where(t.c.provider == provider))
    return {
        r.repo: ReconcileMark(r.provider, r.repo, r.reconciled_to, r.walked_at) for r in rows
    }


def advance(conn: Connection, provider: str, repo: str, to: datetime, now: datetime) -> None:
    """Move the repository's mark to `to`; a mark never moves back."""
    stmt = insert(conn, t).values(provider=provider, repo=repo, reconciled_to=to, walked_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo],
            set_={"reconciled_to": stmt.excluded.reconciled_to, "walked_at": now},
            where=t.c.reconciled_to <= stmt.excluded.reconciled_to,
        )
    )
