"""The slow-changing parts of a PR, kept between evaluations to spare the forge.

Files, commits, reviews and comments of a PR change only with its head SHA
or its `updated_at` (a review, a comment, a label, an edit all move it), so
an evaluation that finds both unchanged reuses them and reads only checks
and statuses, which change without touching the PR. `parts` is JSON written
and read by the provider; `invalidate` is for the webhook routing when an
event says the PR changed in a way `updated_at` may not show (an edited
comment, a dismissed review).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, select

from bot.store.dialect import insert
from bot.store.tables import pull_parts as t


@dataclass(frozen=True)
class StoredParts:
    head_sha: str
    updated_at: str
    parts: str
    fetched_at: datetime


def _match(provider: str, repo: str, number: int) -> ColumnElement[bool]:
    return and_(t.c.provider == provider, t.c.repo == repo.lower(), t.c.number == number)


def get(conn: Connection, provider: str, repo: str, number: int) -> StoredParts | None:
    row = conn.execute(
        select(t.c.head_sha, t.c.updated_at, t.c.parts, t.c.fetched_at).where(
            _match(provider, repo, number)
        )
    ).first()
    if row is None:
        return None
    return StoredParts(row.head_sha, row.updated_at, row.parts, row.fetched_at)


def put(
    conn: Connection,
    provider: str,
    repo: str,
    number: int,
    head_sha: str,
    updated_at: str,
    parts: str,
    now: datetime,
) -> None:
    values = {
        "provider": provider,
        "repo": repo.lower(),
        "number": number,
        "head_sha": head_sha,
        "updated_at": updated_at,
        "parts": parts,
        "fetched_at": now,
    }
    stmt = insert(conn, t).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo, t.c.number],
            set_={
                "head_sha": stmt.excluded.head_sha,
                "updated_at": stmt.excluded.updated_at,
                "parts": stmt.excluded.parts,
                "fetched_at": stmt.excluded.fetched_at,
            },
        )
    )


def invalidate(conn: Connection, provider: str, repo: str, number: int) -> int:
    """Forget the PR's stored parts: the next evaluation reads them all again."""
    return conn.execute(delete(t).where(_match(provider, repo, number))).rowcount
