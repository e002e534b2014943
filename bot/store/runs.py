"""Runs: one row per piece of work done for a PR (or merge-queue group), with its start and end.

Written by the worker around every call of the pipeline, so "what was done
for PR N, when, by which process" is answerable from the store alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, select, update

from bot.keys import WorkKey
from bot.store.key_columns import columns
from bot.store.tables import runs as t

OK = "ok"
ERROR = "error"


def start(conn: Connection, key: WorkKey, generation: int, worker: str, now: datetime) -> int:
    provider, repo, number = columns(key)
    stmt = (
        t.insert()
        .values(
            provider=provider,
            repo=repo,
            number=number,
            generation=generation,
            worker=worker,
            started_at=now,
        )
        .returning(t.c.id)
    )
    return int(conn.execute(stmt).scalar_one())


def finish(
    conn: Connection, run_id: int, now: datetime, outcome: str, summary: str | None = None
) -> None:
    conn.execute(
        update(t).where(t.c.id == run_id).values(finished_at=now, outcome=outcome, summary=summary)
    )


def for_pull(conn: Connection, key: WorkKey) -> list[Row[Any]]:
    provider, repo, number = columns(key)
    stmt = (
        select(t)
        .where(and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number))
        .order_by(t.c.started_at, t.c.id)
    )
    return list(conn.execute(stmt))


def all_runs(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(t).order_by(t.c.started_at, t.c.id)))
