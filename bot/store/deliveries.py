"""Deliveries: the record of every webhook delivery, for de-duplication.

`record` keeps one delivery and says whether its id was new: a forge
re-sending a delivery (same provider, same id) is recorded once. What a
new delivery causes is worked out and applied by the event layer
(`bot.events.ingestion.ingest`), on the same connection, so one
transaction covers the record and the work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Executable, Row, and_, func, select

from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import deliveries as t


class DeliveryFacts(Protocol):
    """What the store keeps of one delivery (`bot.events.parsed.DeliveryRecord` holds it)."""

    @property
    def provider(self) -> str: ...

    @property
    def delivery_id(self) -> str: ...

    @property
    def event(self) -> str: ...

    @property
    def action(self) -> str | None: ...

    @property
    def repo(self) -> str | None: ...

    @property
    def installation_id(self) -> int | None: ...

    @property
    def pr_number(self) -> int | None: ...

    @property
    def sender(self) -> str | None: ...


@cached_statement
def _record_statement(dialect: str) -> Executable:
    return (
        insert_for(dialect, t)
        .on_conflict_do_nothing(index_elements=[t.c.provider, t.c.delivery_id])
        .returning(t.c.id)
    )


def record(conn: Connection, rec: DeliveryFacts, now: datetime) -> bool:
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


def get(conn: Connection, provider: str, delivery_id: str) -> Row[Any] | None:
    return conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.delivery_id == delivery_id))
    ).first()


def recorded(conn: Connection, provider: str, delivery_ids: list[str]) -> set[str]:
    """Those of `delivery_ids` recorded for `provider`."""
    if not delivery_ids:
        return set()
    rows = conn.execute(
        select(t.c.delivery_id).where(
            and_(t.c.provider == provider, t.c.delivery_id.in_(delivery_ids))
        )
    )
    return {r.delivery_id for r in rows}


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t)).scalar_one())
