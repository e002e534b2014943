"""Catch-up rounds: the lease that lets one instance run a round at a time, and the
record of the last round (for `/readyz` and the running page).

One row per kind of round (`name`). `take` is one conditional UPDATE, atomic
on PostgreSQL and SQLite alike (as the dirty marks' lease is): it succeeds
only when nobody else holds an unexpired lease, so a killed instance blocks
the rounds only until its lease expires. The holder itself takes it again at
once: an owner runs one round at a time (`bot.periodic`), so its lease still
being there means its last round could not give it back (the store was down
as it ended) and must not keep it from the next. `finish` records what the round found,
gives the lease back and counts the rounds in a row that ended in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from bot.store.dialect import insert
from bot.store.tables import catchup_rounds as t

ROUND = "catchup"


@dataclass(frozen=True)
class LastRound:
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    caught_up_to: datetime | None
    requests: int
    marked: int
    error: str | None
    failures: int  # rounds in a row that ended in an error


def take(
    conn: Connection, owner: str, now: datetime, lease_seconds: float, name: str = ROUND
) -> bool:
    """Take the round's lease unless someone else holds a live one; True when taken."""
    conn.execute(
        insert(conn, t).values(name=name, requests=0, marked=0, failures=0).on_conflict_do_nothing()
    )
    taken = conn.execute(
        update(t)
        .where(
            t.c.name == name,
            or_(
                t.c.lease_owner.is_(None),
                t.c.lease_expires_at < now,
                t.c.lease_owner == owner,
            ),
        )
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=now,
        )
    ).rowcount
    return taken == 1


def finish(
    conn: Connection,
    owner: str,
    now: datetime,
    *,
    caught_up_to: datetime | None,
    requests: int,
    marked: int,
    error: str | None,
    name: str = ROUND,
) -> bool:
    """Record the round that `owner` ran and give its lease back; False if the lease was
    lost meanwhile (the record is then left to whoever holds it)."""
    row = conn.execute(
        select(t.c.started_at, t.c.failures, t.c.caught_up_to).where(
            t.c.name == name, t.c.lease_owner == owner
        )
    ).first()
    if row is None:
        return False
    duration = (now - row.started_at).total_seconds() if row.started_at is not None else None
    conn.execute(
        update(t)
        .where(t.c.name == name, t.c.lease_owner == owner)
        .values(
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            duration_seconds=duration,
            # A round that reached nothing keeps the last point known good.
            caught_up_to=caught_up_to if caught_up_to is not None else row.caught_up_to,
            requests=requests,
            marked=marked,
            error=error,
            failures=int(row.failures) + 1 if error else 0,
        )
    )
    return True


def last(conn: Connection, name: str = ROUND) -> LastRound | None:
    """The last finished round, or None when none has finished yet."""
    row = conn.execute(select(t).where(t.c.name == name)).first()
    if row is None or row.finished_at is None:
        return None
    return LastRound(
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=row.duration_seconds,
        caught_up_to=row.caught_up_to,
        requests=int(row.requests),
        marked=int(row.marked),
        error=row.error,
        failures=int(row.failures),
    )
