"""Dirty PRs: which PRs (and merge-queue groups) need work, and the per-key lease
that serialises it.

A key is a `bot.keys.WorkKey`, a PR's or a merge group's, kept in the rows
as `bot.store.key_columns` writes it.

A mark is an upsert that bumps `generation`. A worker *claims* a dirty PR by
taking its lease in one conditional UPDATE (only if nobody holds an unexpired
lease), which is atomic on PostgreSQL and SQLite alike, so two processes never
work on the same PR at once and a killed worker blocks its PR only until the
lease expires. When the work is done the worker *clears* the row, but only if
the generation is still the one it claimed; otherwise it releases the lease
and the PR goes round again.

An evaluation that fails *backs off* (`back_off`): the row keeps its mark,
counts the failures in a row and names a time before which the PR is
neither claimed nor swept (`retry_at`), growing with each failure up to a
cap — so a PR whose evaluation keeps failing costs a few tries an hour, not
a full evaluation every sweep. A new mark from a delivery resets the count;
the sweeper's own marks (unsettled merge intents) do not.

The sweeper notes when it queued a PR (`swept`), and a claim forgets it, so
that while tasks wait in the queue a sweep can leave out the PRs whose
wake-up may be among them (`claimable(swept_before=...)`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
)

from bot.keys import WorkKey
from bot.store.dialect import cached_statement, insert_for
from bot.store.key_columns import columns, in_column_order, key_of
from bot.store.tables import dirty_pulls as t


@dataclass(frozen=True)
class Claim:
    key: WorkKey
    owner: str
    generation: int
    installation_id: int | None


class Finish(enum.Enum):
    CLEARED = "cleared"  # no mark arrived during the run: the PR is clean
    NEWER_MARK = "newer-mark"  # marked again meanwhile: lease released, run again
    LEASE_LOST = "lease-lost"  # the lease expired and someone else has the PR


def _match(key: WorkKey) -> ColumnElement[bool]:
    provider, repo, number = columns(key)
    return and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number)


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(t.c.lease_owner.is_(None), t.c.lease_expires_at < now)


def _ready(now: datetime) -> ColumnElement[bool]:
    """Not backing off after a failure, or its back-off is over."""
    return or_(t.c.retry_at.is_(None), t.c.retry_at <= now)


def _upsert(dialect: str, *, reset_backoff: bool) -> Executable:
    stmt = insert_for(dialect, t)
    changes: dict[str, Any] = {
        "generation": t.c.generation + 1,
        "marked_at": stmt.excluded.marked_at,
        "installation_id": func.coalesce(stmt.excluded.installation_id, t.c.installation_id),
    }
    if reset_backoff:
        # SQL constants, not bound values: a bound value in the update clause
        # would stop SQLAlchemy from sending many marks as one statement.
        changes.update(failures=literal_column("0"), retry_at=null())
    return stmt.on_conflict_do_update(
        index_elements=[t.c.provider, t.c.repo, t.c.number], set_=changes
    ).returning(t.c.provider, t.c.repo, t.c.number, t.c.generation)


@cached_statement
def _mark_statement(dialect: str) -> Executable:
    return _upsert(dialect, reset_backoff=True)


@cached_statement
def _remark_statement(dialect: str) -> Executable:
    return _upsert(dialect, reset_backoff=False)


def _mark_params(key: WorkKey, now: datetime, installation_id: int | None) -> dict[str, Any]:
    provider, repo, number = columns(key)
    return {
        "provider": provider,
        "repo": repo,
        "number": number,
        "installation_id": installation_id,
        "generation": 1,
        "dirty_since": now,
        "marked_at": now,
        "failures": 0,
    }


def mark(conn: Connection, key: WorkKey, now: datetime, installation_id: int | None = None) -> int:
    """Mark `key` dirty; return the new generation (1 for a PR that was clean)."""
    row = conn.execute(_mark_statement(conn), _mark_params(key, now, installation_id)).one()
    return int(row.generation)


def mark_many(
    conn: Connection,
    marks: Mapping[WorkKey, int | None],
    now: datetime,
    *,
    reset_backoff: bool = True,
) -> list[WorkKey]:
    """Mark every key of `marks` (key → installation id) dirty in one statement; return
    those that were clean until now.

    Keys go in sorted order, so two transactions marking overlapping sets lock
    rows in the same order. Without `reset_backoff` (the sweeper's own marks)
    a PR backing off after failures keeps waiting.
    """
    if not marks:
        return []
    params = [_mark_params(key, now, marks[key]) for key in in_column_order(marks)]
    statement = _mark_statement(conn) if reset_backoff else _remark_statement(conn)
    rows = conn.execute(statement, params)
    return in_column_order(key_of(r.provider, r.repo, r.number) for r in rows if r.generation == 1)


def mark_later(
    conn: Connection,
    key: WorkKey,
    now: datetime,
    delay_seconds: float,
    installation_id: int | None = None,
) -> None:
    """Mark `key` dirty, to be worked on no sooner than `delay_seconds` from now.

    A key marked already keeps its own time (a pending mark, a back-off, an
    earlier delayed mark): many changes in a row cost one run, at most
    `delay_seconds` after the first. Nobody is woken: the sweeper finds the
    key once its time has come.
    """
    params = _mark_params(key, now, installation_id)
    params["retry_at"] = now + timedelta(seconds=delay_seconds)
    stmt = insert_for(conn.dialect.name, t).values(params)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo, t.c.number],
            set_={"generation": t.c.generation + 1, "marked_at": stmt.excluded.marked_at},
        )
    )


def claim(
    conn: Connection, key: WorkKey, owner: str, now: datetime, lease_seconds: float
) -> Claim | None:
    """Take the PR's lease if it is dirty, nobody holds a live lease and it is not
    backing off after a failure."""
    stmt = (
        update(t)
        .where(_match(key), _free(now), _ready(now))
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            swept_at=None,  # the wake-up that was waiting has come
        )
        .returning(t.c.generation, t.c.installation_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return Claim(
        key=key, owner=owner, generation=row.generation, installation_id=row.installation_id
    )


def extend(conn: Connection, claim: Claim, now: datetime, lease_seconds: float) -> bool:
    """Push the lease's expiry forward; False if the lease was lost."""
    stmt = (
        update(t)
        .where(_match(claim.key), t.c.lease_owner == claim.owner)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
    )
    return conn.execute(stmt).rowcount == 1


def release(conn: Connection, claim: Claim) -> bool:
    """Give the lease back without clearing the mark."""
    stmt = (
        update(t)
        .where(_match(claim.key), t.c.lease_owner == claim.owner)
        .values(lease_owner=None, lease_expires_at=None)
    )
    return conn.execute(stmt).rowcount == 1


def backoff_delay(failures: int, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to wait after `failures` failures in a row: base, twice that, four
    times... capped at `max_seconds`."""
    exponent = min(max(failures - 1, 0), 32)
    return timedelta(seconds=min(base_seconds * 2**exponent, max_seconds))


def back_off(
    conn: Connection, claim: Claim, now: datetime, base_seconds: float, max_seconds: float
) -> datetime | None:
    """Give the lease back after a failed evaluation, keeping the mark, and say when the
    PR may be tried again (None if the lease was lost meanwhile)."""
    row = conn.execute(
        select(t.c.failures).where(_match(claim.key), t.c.lease_owner == claim.owner)
    ).first()
    if row is None:
        return None
    failures = int(row.failures) + 1
    retry_at = now + backoff_delay(failures, base_seconds, max_seconds)
    conn.execute(
        update(t)
        .where(_match(claim.key), t.c.lease_owner == claim.owner)
        .values(lease_owner=None, lease_expires_at=None, failures=failures, retry_at=retry_at)
    )
    return retry_at


def finish(conn: Connection, claim: Claim) -> Finish:
    """Clear the mark if no newer one arrived, else release the lease."""
    cleared = conn.execute(
        delete(t).where(
            _match(claim.key), t.c.lease_owner == claim.owner, t.c.generation == claim.generation
        )
    ).rowcount
    if cleared == 1:
        return Finish.CLEARED
    if release(conn, claim):
        return Finish.NEWER_MARK
    return Finish.LEASE_LOST


def claimable(
    conn: Connection,
    now: datetime,
    dirty_before: datetime | None = None,
    limit: int = 1000,
    *,
    swept_before: datetime | None = None,
) -> list[WorkKey]:
    """Dirty PRs nobody works on (no lease, or an expired one), oldest first, leaving
    out those backing off after a failure until their `retry_at`.

    `dirty_before` leaves out unleased PRs marked so recently that their own
    wake-up is still due; a PR whose lease expired is always included, since
    the worker that held it is gone.

    `swept_before` (the sweeper's, while tasks wait in the queue) leaves out
    the PRs whose wake-up may be among them: those queued by a sweep after it,
    and those never queued since they were marked after it — unless their
    wake-up was evidently taken already, by a worker whose lease expired or by
    a run that failed and backs off.
    """
    unleased = t.c.lease_owner.is_(None)
    if dirty_before is not None:
        unleased = and_(unleased, t.c.dirty_since <= dirty_before)
    expired = t.c.lease_expires_at < now
    found = [or_(unleased, expired), _ready(now)]
    if swept_before is not None:
        taken = and_(
            or_(expired, t.c.retry_at.is_not(None)),
            or_(t.c.swept_at.is_(None), t.c.swept_at <= swept_before),
        )
        waited = func.coalesce(t.c.swept_at, t.c.dirty_since) <= swept_before
        found.append(or_(taken, waited))
    stmt = (
        select(t.c.provider, t.c.repo, t.c.number)
        .where(*found)
        .order_by(t.c.dirty_since)
        .limit(limit)
    )
    return [key_of(r.provider, r.repo, r.number) for r in conn.execute(stmt)]


def swept(conn: Connection, keys: Sequence[WorkKey], at: datetime | None) -> None:
    """Note that the sweeper queued `keys` `at` then (None: forget it; their wake-ups
    could not be queued). Rows go in sorted order, as `mark_many`'s do."""
    if not keys:
        return
    stmt = (
        update(t)
        .where(
            t.c.provider == bindparam("k_provider"),
            t.c.repo == bindparam("k_repo"),
            t.c.number == bindparam("k_number"),
        )
        .values(swept_at=at)
    )
    conn.execute(
        stmt,
        [
            {"k_provider": provider, "k_repo": repo, "k_number": number}
            for provider, repo, number in map(columns, in_column_order(keys))
        ],
    )


def get(conn: Connection, key: WorkKey) -> Row[Any] | None:
    """The PR's dirty row, or None when it is clean."""
    return conn.execute(select(t).where(_match(key))).first()


def backlog(conn: Connection) -> list[tuple[str, int, datetime]]:
    """Per forge: how many PRs (and merge groups) are marked, and the oldest `dirty_since`."""
    stmt = select(t.c.provider, func.count(), func.min(t.c.dirty_since)).group_by(t.c.provider)
    return [(row[0], int(row[1]), row[2]) for row in conn.execute(stmt)]
