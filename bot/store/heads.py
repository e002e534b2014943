"""Who pushed which SHA, per (repository, SHA): a fact only events carry.

A webhook's ingestion (`bot.events.ingestion`) records every SHA a `push`
or `synchronize` delivered (and, for other PR events, that it was seen),
with the pusher; the first recorded value of each wins. A snapshot reads the pushers of every commit of the PR
at once (`for_shas`): pushing makes a person a contributor.

The times here are not push times for the policy: a SHA pushed to another
branch, or earlier to the same PR, would bring an older time along. A
head's push time is per PR, in `bot.store.pull_heads`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Row, and_, func, select

from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import head_pushes as t


@cached_statement
def _seen_statement(dialect: str) -> Executable:
    return insert_for(dialect, t).on_conflict_do_nothing(
        index_elements=[t.c.provider, t.c.repo, t.c.sha]
    )


@cached_statement
def _pushed_statement(dialect: str) -> Executable:
    stmt = insert_for(dialect, t)
    return stmt.on_conflict_do_update(
        index_elements=[t.c.provider, t.c.repo, t.c.sha],
        set_={
            "pushed_at": func.coalesce(t.c.pushed_at, stmt.excluded.pushed_at),
            "pusher": func.coalesce(t.c.pusher, stmt.excluded.pusher),
        },
    )


def record(
    conn: Connection,
    provider: str,
    repo: str,
    sha: str,
    now: datetime,
    *,
    pushed: bool = False,
    pusher: str | None = None,
) -> None:
    """Note that `sha` was seen (and, if `pushed`, pushed by `pusher`) at `now`."""
    params = {
        "provider": provider,
        "repo": repo,
        "sha": sha,
        "first_seen_at": now,
        "pushed_at": now if pushed else None,
        "pusher": pusher if pushed else None,
    }
    conn.execute((_pushed_statement if pushed else _seen_statement)(conn), params)


def get(conn: Connection, provider: str, repo: str, sha: str) -> Row[Any] | None:
    return conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.repo == repo, t.c.sha == sha))
    ).first()


_CHUNK = 500  # keeps the IN list well inside every database's parameter limit


@dataclass(frozen=True)
class HeadRecord:
    sha: str
    first_seen_at: datetime
    pushed_at: datetime | None
    pusher: str | None


def for_shas(conn: Connection, provider: str, repo: str, shas: Iterable[str]) -> list[HeadRecord]:
    """What the store knows of each of `shas` in `repo`, in SHA order."""
    wanted = sorted(set(shas))
    found: list[HeadRecord] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(
            select(t.c.sha, t.c.first_seen_at, t.c.pushed_at, t.c.pusher)
            .where(and_(t.c.provider == provider, t.c.repo == repo, t.c.sha.in_(chunk)))
            .order_by(t.c.sha)
        )
        found.extend(HeadRecord(r.sha, r.first_seen_at, r.pushed_at, r.pusher) for r in rows)
    return found
