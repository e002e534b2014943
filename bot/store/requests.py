"""Forge requests per evaluation: how many were sent, and which (the request budget).

One row per evaluation, written when it ends, with the requests in the
order they were sent (`GET /repos/acme/api/pulls/7 -> 200`), so "why did
this PR cost eleven requests?" is answerable from the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from bot.store.tables import evaluation_requests as t


@dataclass(frozen=True)
class RequestCount:
    id: int
    provider: str
    repo: str
    number: int
    head_sha: str | None
    started_at: datetime
    finished_at: datetime
    total: int
    requests: tuple[str, ...]


def record(
    conn: Connection,
    provider: str,
    repo: str,
    number: int,
    head_sha: str | None,
    started_at: datetime,
    finished_at: datetime,
    requests: Sequence[str],
) -> int:
    stmt = (
        t.insert()
        .values(
            provider=provider,
            repo=repo,
            number=number,
            head_sha=head_sha,
            started_at=started_at,
            finished_at=finished_at,
            total=len(requests),
            requests=json.dumps(list(requests)),
        )
        .returning(t.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def for_pull(conn: Connection, provider: str, repo: str, number: int) -> list[RequestCount]:
    """The counts of one PR's evaluations, oldest first."""
    rows = conn.execute(
        select(t)
        .where(and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number))
        .order_by(t.c.started_at, t.c.id)
    )
    return [
        RequestCount(
            id=row.id,
            provider=row.provider,
            repo=row.repo,
            number=row.number,
            head_sha=row.head_sha,
            started_at=row.started_at,
            finished_at=row.finished_at,
            total=row.total,
            requests=tuple(json.loads(row.requests)),
        )
        for row in rows
    ]
