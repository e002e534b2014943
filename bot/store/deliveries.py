"""Deliveries: de-duplication of webhooks, and ingestion in one transaction.

`ingest` is what the web tier calls for every verified webhook: it records
the delivery (a repeated delivery id is reported, not recorded twice), notes
head push / first-seen times, runs whatever else the delivery causes (the
forge's routing, `route`: caches dropped, PRs remembered, tamper marks,
comments received...) and marks the PRs it names dirty, all on the
connection it is given, so the caller's transaction covers the lot. Without
a `route` the delivery's own PR is marked.

`dirty.mark_many` marks many PRs in one statement (a push to a base branch may
concern hundreds) and says which were clean until then: only those need a
wake-up, the others are queued already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Row, and_, func, select

from bot.store import dirty, heads
from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import deliveries as t

Marks = Mapping[dirty.PullKey, int | None]
"""PRs (or merge groups) to mark dirty, each with the installation to act through."""

Route = Callable[[Connection], Marks]
"""What else a new delivery causes, run on its connection; returns what to mark."""


@dataclass(frozen=True)
class DeliveryRecord:
    """What the store keeps of one webhook delivery (provider-neutral)."""

    provider: str
    delivery_id: str
    event: str
    action: str | None = None
    repo: str | None = None
    installation_id: int | None = None
    pr_number: int | None = None
    sender: str | None = None
    head_sha: str | None = None
    head_pushed: bool = False
    pusher: str | None = None

    @property
    def pull(self) -> dirty.PullKey | None:
        if self.repo is None or self.pr_number is None:
            return None
        return dirty.PullKey(self.provider, self.repo, self.pr_number)


@dataclass(frozen=True)
class Ingested:
    new: bool  # False: this delivery id was already recorded
    marked: tuple[dirty.PullKey, ...] = ()  # marked dirty by this delivery
    woken: tuple[dirty.PullKey, ...] = ()  # of those, the ones clean until now: queue them

    @property
    def pull(self) -> dirty.PullKey | None:
        """The first PR marked, if any."""
        return self.marked[0] if self.marked else None

    @property
    def wake(self) -> bool:
        return bool(self.woken)


@cached_statement
def _record_statement(dialect: str) -> Executable:
    return (
        insert_for(dialect, t)
        .on_conflict_do_nothing(index_elements=[t.c.provider, t.c.delivery_id])
        .returning(t.c.id)
    )


def record(conn: Connection, rec: DeliveryRecord, now: datetime) -> bool:
    """Record the delivery; False if its id was already recorded."""
    params = {
        "provider": rec.provider,
        "delivery_id": rec.delivery_id,
        "event": rec.event,
        "action": rec.action,
        "repo": rec.repo,
        "installation_id": rec.installation_id,
        "pr_number": rec.pr_number,
        "sender": rec.sender,
        "received_at": now,
    }
    return conn.execute(_record_statement(conn), params).first() is not None


def ingest(
    conn: Connection, rec: DeliveryRecord, now: datetime, route: Route | None = None
) -> Ingested:
    """Record `rec`; unless it is a duplicate, run `route` and mark what it names.

    Without `route`, the delivery's own PR (if any) is marked.
    """
    if not record(conn, rec, now):
        return Ingested(new=False)
    if rec.repo is not None and rec.head_sha is not None:
        heads.record(
            conn,
            rec.provider,
            rec.repo,
            rec.head_sha,
            now,
            pushed=rec.head_pushed,
            pusher=rec.pusher,
        )
    if route is not None:
        marks = route(conn)
    else:
        pull = rec.pull
        marks = {} if pull is None else {pull: rec.installation_id}
    woken = dirty.mark_many(conn, marks, now)
    return Ingested(new=True, marked=tuple(sorted(marks)), woken=tuple(woken))


def get(conn: Connection, provider: str, delivery_id: str) -> Row[Any] | None:
    return conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.delivery_id == delivery_id))
    ).first()


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t)).scalar_one())
