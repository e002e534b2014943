"""The one place that differs per database: INSERT ... ON CONFLICT (`insert_once`).

PostgreSQL and SQLite (3.35+) both accept `ON CONFLICT` and `RETURNING`;
SQLAlchemy spells them through each dialect's own `insert`. Statements on
the webhook path are built once per dialect (`cached_statement`) and run
with parameters, which keeps SQLAlchemy's per-call construction cost off
the acknowledgement time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite

Insert = postgresql.Insert | sqlite.Insert


def insert_for(dialect: str, table: Table) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"gatebot's store supports PostgreSQL and SQLite, not {dialect}")


def insert(conn: Connection, table: Table) -> Insert:
    return insert_for(conn.dialect.name, table)


def insert_once(conn: Connection, table: Table, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call wrote the row.

    Told by RETURNING, never by rowcount: PostgreSQL (psycopg) reports a
    rowcount of -1 for this statement whether it inserted or not.
    """
    first = next(iter(table.columns))
    stmt = insert(conn, table).values(**values).on_conflict_do_nothing().returning(first)
    return conn.execute(stmt).first() is not None


def cached_statement(
    build: Callable[[str], Executable],
) -> Callable[[Connection], Any]:
    """Decorate `build(dialect_name)`; the result returns its statement for a connection."""
    cached = functools.cache(build)

    def for_connection(conn: Connection) -> Any:
        return cached(conn.dialect.name)

    return for_connection
