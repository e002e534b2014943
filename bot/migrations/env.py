"""Alembic environment: runs migrations on the connection it is handed.

`bot.store.migrate` passes an open connection in `config.attributes`; the
`alembic` command line instead gets an engine from GATEBOT_DATABASE_URL (or
the default SQLite file). SQLite needs batch mode to alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from bot.settings import Settings
    from bot.store.engine import make_engine

    engine = make_engine(Settings().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them on a database")
_run_online()
