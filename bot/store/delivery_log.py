"""How far the GitHub App webhook's delivery log was checked, and which redeliveries were asked.

The redelivery step (`bot.catchup.redeliver`) walks the log newest first.
`Mark` is where it stands per App: every delivery up to `caught_up_to` has
been handled; a walk that its bounds cut short keeps `walk_cursor` (where to
go on) and `walk_top` (the newest delivery it began at), and the walk that
reaches `caught_up_to` moves the mark to `walk_top`.

`ask` records a redelivery for a guid once and for all: it says False when
that guid was asked for before, so one event is never asked for twice,
whatever the rounds and processes. `forget_ask` undoes an ask GitHub refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from bot.store.dialect import insert
from bot.store.tables import delivery_log_marks as marks
from bot.store.tables import redelivery_asks as asks


@dataclass(frozen=True)
class Mark:
    caught_up_to: datetime | None = None
    walk_top: datetime | None = None
    walk_cursor: str | None = None


def get(conn: Connection, app_id: int) -> Mark:
    row = conn.execute(select(marks).where(marks.c.app_id == app_id)).first()
    if row is None:
        return Mark()
    return Mark(row.caught_up_to, row.walk_top, row.walk_cursor)


def put(conn: Connection, app_id: int, mark: Mark, now: datetime) -> None:
    values = {
        "caught_up_to": mark.caught_up_to,
        "walk_top": mark.walk_top,
        "walk_cursor": mark.walk_cursor,
        "updated_at": now,
    }
    stmt = insert(conn, marks).values(app_id=app_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[marks.c.app_id], set_=values))


def ask(conn: Connection, guid: str, delivery_id: int, now: datetime) -> bool:
    """Record a redelivery asked for `guid`; False when one was asked for before."""
    stmt = (
        insert(conn, asks)
        .values(guid=guid, delivery_id=delivery_id, asked_at=now)
        .on_conflict_do_nothing(index_elements=[asks.c.guid])
        .returning(asks.c.guid)
    )
    return conn.execute(stmt).first() is not None


def asked(conn: Connection, guids: list[str]) -> set[str]:
    """Those of `guids` a redelivery was asked for."""
    if not guids:
        return set()
    rows = conn.execute(select(asks.c.guid).where(asks.c.guid.in_(guids)))
    return {r.guid for r in rows}


def forget_ask(conn: Connection, guid: str) -> None:
    conn.execute(delete(asks).where(asks.c.guid == guid))


def prune(conn: Connection, before: datetime) -> int:
    """Drop asks older than `before` (GitHub no longer lists their deliveries)."""
    return int(conn.execute(delete(asks).where(asks.c.asked_at < before)).rowcount or 0)
