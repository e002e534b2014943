"""The inbox: verified webhook deliveries kept before they are answered, until ingested.

A webhook endpoint answers 202 once `keep` has committed the delivery as it
came (its parsed facts and its raw body); routing it and applying what it
causes (`bot.events.ingestion.ingest`) is the consumer's work
(`bot.events.inbox_drain`), which `take`s rows in batches, in the
transaction that ingests them: a drainer killed mid-batch rolls back, and
its rows stay for the next.

`keep` refuses a delivery id already kept or already ingested (recorded in
`deliveries`) in one statement, so a redelivery is answered as a duplicate
whether or not the first one was drained yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Executable, and_, bindparam, delete, exists, literal, select

from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import deliveries
from bot.store.tables import inbox as t


@dataclass(frozen=True)
class Kept:
    """One delivery taken from the inbox."""

    provider: str
    delivery_id: str
    facts: str  # the parsed `DeliveryRecord`, as JSON
    body: bytes
    received_at: datetime


@cached_statement
def _keep_statement(dialect: str) -> Executable:
    provider, delivery_id = bindparam("provider"), bindparam("delivery_id")
    ingested = exists().where(
        and_(deliveries.c.provider == provider, deliveries.c.delivery_id == delivery_id)
    )
    row = select(
        provider,
        delivery_id,
        bindparam("event"),
        bindparam("facts"),
        bindparam("body", type_=t.c.body.type),
        bindparam("received_at", type_=t.c.received_at.type),
    ).where(~ingested)
    return (
        insert_for(dialect, t)
        .from_select(["provider", "delivery_id", "event", "facts", "body", "received_at"], row)
        .on_conflict_do_nothing(index_elements=[t.c.provider, t.c.delivery_id])
        .returning(literal(1))
    )


def keep(
    conn: Connection,
    *,
    provider: str,
    delivery_id: str,
    event: str,
    facts: str,
    body: bytes,
    now: datetime,
) -> bool:
    """Keep one delivery; False when its id is already kept or already ingested."""
    params = {
        "provider": provider,
        "delivery_id": delivery_id,
        "event": event,
        "facts": facts,
        "body": body,
        "received_at": now,
    }
    return conn.execute(_keep_statement(conn), params).first() is not None


def take(conn: Connection, most: int) -> list[Kept]:
    """Delete and return the oldest `most` deliveries, on `conn`'s transaction.

    They are gone for other drainers once this transaction commits, and back
    if it rolls back. On PostgreSQL rows another drainer holds are skipped
    (`SKIP LOCKED`); SQLite has one writer at a time.
    """
    oldest = select(t.c.id).order_by(t.c.id).limit(most).with_for_update(skip_locked=True)
    rows = conn.execute(
        delete(t)
        .where(t.c.id.in_(oldest.scalar_subquery()))
        .returning(t.c.id, t.c.provider, t.c.delivery_id, t.c.facts, t.c.body, t.c.received_at)
    ).all()
    rows.sort(key=lambda r: r.id)
    return [Kept(r.provider, r.delivery_id, r.facts, r.body, r.received_at) for r in rows]


def waiting(conn: Connection) -> bool:
    """Whether any delivery waits to be ingested (a read: no write lock)."""
    return bool(conn.execute(select(exists().select_from(t))).scalar())
