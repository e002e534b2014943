"""The inbox: verified webhook deliveries kept before they are answered, until ingested.

A webhook endpoint answers 202 once `Inbox.keep` has committed the delivery
as it came (its parsed facts and its raw body); routing it and applying
what it causes (`bot.events.ingestion.ingest`) is the consumer's work
(`bot.events.inbox_drain`), which `take`s deliveries in batches in the
store transaction that ingests them and, once that transaction committed,
says they are `done`.

`keep` refuses a delivery id already kept or already ingested (recorded in
`deliveries`), so a redelivery is answered as a duplicate whether or not
the first one was drained yet. Ingesting is idempotent besides: `ingest`
records the delivery id first and does nothing for one already recorded.

Two places to keep them, by store (`open_inbox`):

- `FileInbox`, for a store on a SQLite file: a second SQLite file beside
  it. SQLite lets one transaction write a file at a time, and the
  consumer's ingesting transactions are long beside a webhook's one
  statement: on the store's file, every answer waited behind them. Here
  the answer writes only the inbox file, and reads the store (WAL readers
  take no lock) to refuse a delivery already ingested. `take` reads the
  oldest rows and leaves them; `done` deletes them after the store's commit,
  so a consumer killed between the two leaves rows that the next `take`
  finds already recorded in `deliveries` and drops.
- `TableInbox`, for PostgreSQL (or SQLite named by a `file:` URI): the `inbox`
  table of the store itself, where `take` marks rows taken (and drops their
  bodies) on the ingesting transaction (`SKIP LOCKED`: several consumers
  never take the same row), so a rollback puts them back. Taken rows stay ten
  minutes: a redelivery racing the ingestion meets the unique key.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    Connection,
    Executable,
    and_,
    bindparam,
    delete,
    exists,
    literal,
    select,
    update,
)

from bot.store import Store, utcnow
from bot.store import deliveries as recorded_deliveries
from bot.store.dialect import cached_statement, insert_for
from bot.store.engine import SQLITE_BUSY_TIMEOUT_MS, sqlite_file
from bot.store.tables import deliveries
from bot.store.tables import inbox as t
from bot.store.writer_lock import WriterLock


@dataclass(frozen=True)
class Arrival:
    """One verified delivery to keep."""

    provider: str
    delivery_id: str
    event: str
    facts: str  # the parsed `DeliveryRecord`, as JSON
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class Taken:
    """The deliveries one `take` hands over, and what `done` must then let go."""

    kept: list[Arrival]  # to ingest
    rows: tuple[int, ...]  # the inbox rows taken (those of `kept` and any already ingested)


class Inbox(Protocol):
    """Where verified deliveries wait for the consumer."""

    # The most deliveries one ingesting transaction takes (`bot.events.inbox_drain`).
    most_per_take: int

    def keep(self, arrivals: Sequence[Arrival]) -> list[bool]:
        """Keep `arrivals` in one transaction; for each, False when its id was
        already kept or ingested. Returns once committed."""
        ...

    def take(self, conn: Connection, most: int) -> Taken:
        """The oldest `most` deliveries not yet ingested, on the store transaction `conn`."""
        ...

    def done(self, taken: Taken) -> None:
        """The transaction that ingested `taken` has committed: let them go."""
        ...

    def waiting(self) -> bool:
        """Whether any delivery waits (a read: no write lock)."""
        ...

    def close(self) -> None: ...


def open_inbox(store: Store) -> Inbox:
    """The inbox of `store`: a file beside a SQLite file, else a table in the store."""
    database = sqlite_file(store.engine.url)
    if database is not None:
        return FileInbox(inbox_path(database), database)
    return TableInbox(store)


def inbox_path(database: str) -> Path:
    """The inbox file of the store file `database`: `gatebot.sqlite3` → `gatebot.inbox.sqlite3`."""
    path = Path(database)
    return path.with_name(f"{path.stem}.inbox{path.suffix}")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event TEXT NOT NULL,
    facts TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (provider, delivery_id)
)
"""

# One statement keeps a delivery unless it is kept already (the unique key) or
# was ingested (a read of the store's `deliveries`, attached as `store`).
_KEEP = """
INSERT INTO inbox (provider, delivery_id, event, facts, body, received_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6
WHERE NOT EXISTS (
    SELECT 1 FROM store.deliveries WHERE provider = ?1 AND delivery_id = ?2
)
ON CONFLICT (provider, delivery_id) DO NOTHING
"""


class FileInbox:
    """The inbox of a SQLite store: a SQLite file of its own (see the module's docstring).

    The file holds only deliveries on their way: it is made when missing, and
    its rows are deleted once ingested. Writes take the file's own host-wide
    writer lock (`writer_lock`), as the store's do.
    """

    # The store has one writer at a time, and each commit flushes: deliveries
    # are ingested many to a transaction.
    most_per_take = 64

    def __init__(self, path: Path, store_database: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path,
            isolation_level=None,  # transactions are begun here, explicitly
            check_same_thread=False,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a delivery answered 202 survives a power cut, not only a crash.
        self._db.execute("PRAGMA synchronous=FULL")
        # Checkpoints (copying the log into the file, and a flush) are the
        # consumer's, after it deletes what it ingested (`done`): never on a
        # commit a webhook's answer waits for.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.execute(_SCHEMA)
        self._db.execute("ATTACH DATABASE ? AS store", (store_database,))
        self._use = threading.Lock()  # one statement sequence at a time on the connection
        self._writers = WriterLock(f"{path}-writers.lock")

    def keep(self, arrivals: Sequence[Arrival]) -> list[bool]:
        with self._writers, self._use:
            # A deferred BEGIN: IMMEDIATE would take a write lock on the attached
            # store too. The first statement takes the inbox's, and reads the store.
            self._db.execute("BEGIN")
            try:
                new = [
                    self._db.execute(
                        _KEEP,
                        (
                            a.provider,
                            a.delivery_id,
                            a.event,
                            a.facts,
                            a.body,
                            a.received_at.isoformat(),
                        ),
                    ).rowcount
                    == 1
                    for a in arrivals
                ]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return new

    def take(self, conn: Connection, most: int) -> Taken:
        with self._use:
            rows = self._db.execute(
                "SELECT id, provider, delivery_id, event, facts, body, received_at"
                " FROM inbox ORDER BY id LIMIT ?",
                (most,),
            ).fetchall()
        read = [
            Arrival(provider, delivery_id, event, facts, body, datetime.fromisoformat(received))
            for _, provider, delivery_id, event, facts, body, received in rows
        ]
        # Rows a consumer ingested but was stopped before deleting (or another
        # consumer on this host ingests beside this one) are recorded already.
        ingested = {
            (provider, delivery_id)
            for provider in {a.provider for a in read}
            for delivery_id in recorded_deliveries.recorded(
                conn, provider, [a.delivery_id for a in read if a.provider == provider]
            )
        }
        return Taken(
            [a for a in read if (a.provider, a.delivery_id) not in ingested],
            tuple(row[0] for row in rows),
        )

    def done(self, taken: Taken) -> None:
        if not taken.rows:
            return
        marks = ",".join("?" * len(taken.rows))
        with self._writers, self._use:
            self._db.execute(f"DELETE FROM inbox WHERE id IN ({marks})", taken.rows)
        with self._use:
            # PASSIVE: copies what no reader needs, without waiting for or blocking writers.
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def waiting(self) -> bool:
        with self._use:
            return self._db.execute("SELECT EXISTS (SELECT 1 FROM inbox)").fetchone()[0] == 1

    def close(self) -> None:
        with self._use:
            self._db.close()
        self._writers.close()


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


class TableInbox:
    """The inbox as a table of the store (see the module's docstring)."""

    # One delivery per ingesting transaction. Its marks lock PR rows that the
    # workers' claims and lease renewals, and the catch-up, write too: with 64 to
    # a transaction each wait lasted a whole batch (an evaluation of a PR took a
    # second instead of a tenth on the scale benchmark), and two transactions
    # marking the same PRs in another order deadlocked. PostgreSQL writes
    # concurrently, so a commit per delivery costs little.
    most_per_take = 1

    KEPT_TAKEN = timedelta(minutes=10)  # a taken row's stay
    PRUNE_EVERY = timedelta(minutes=1)

    def __init__(self, store: Store) -> None:
        self.store = store
        self._next_prune = 0.0

    def keep(self, arrivals: Sequence[Arrival]) -> list[bool]:
        with self.store.begin() as conn:
            return [
                conn.execute(
                    _keep_statement(conn),
                    {
                        "provider": a.provider,
                        "delivery_id": a.delivery_id,
                        "event": a.event,
                        "facts": a.facts,
                        "body": a.body,
                        "received_at": a.received_at,
                    },
                ).first()
                is not None
                for a in arrivals
            ]

    def take(self, conn: Connection, most: int) -> Taken:
        # Marked taken on `conn`'s transaction: invisible to other consumers once
        # it commits, back if it rolls back. SQLite has one writer at a time.
        oldest = (
            select(
                t.c.id,
                t.c.provider,
                t.c.delivery_id,
                t.c.event,
                t.c.facts,
                t.c.body,
                t.c.received_at,
            )
            .where(t.c.taken_at.is_(None))
            .order_by(t.c.id)
            .limit(most)
            .with_for_update(skip_locked=True)
        )
        rows = conn.execute(oldest).all()
        if rows:
            # The row stays (without its body) for `KEPT_TAKEN`: a redelivery arriving
            # while this transaction ingests it meets the unique key, not a gap
            # between the row's going and the delivery's record.
            conn.execute(
                update(t)
                .where(t.c.id.in_([r.id for r in rows]))
                .values(taken_at=utcnow(), body=b"")
            )
        return Taken(
            [
                Arrival(r.provider, r.delivery_id, r.event, r.facts, r.body, r.received_at)
                for r in rows
            ],
            tuple(r.id for r in rows),
        )

    def done(self, taken: Taken) -> None:
        """Now and then, forget rows taken in long ago (their deliveries are recorded)."""
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.PRUNE_EVERY.total_seconds()
        with self.store.begin() as conn:
            conn.execute(delete(t).where(t.c.taken_at < utcnow() - self.KEPT_TAKEN))

    def waiting(self) -> bool:
        with self.store.engine.connect() as conn:
            return bool(conn.execute(select(exists().where(t.c.taken_at.is_(None)))).scalar())

    def close(self) -> None:
        """The store is the caller's to close."""
