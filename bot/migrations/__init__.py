"""Alembic migrations of the store, shipped inside the package.

`gatebot migrate` and `gatebot serve` apply them through `bot.store.migrate`;
developers can also point the `alembic` command at `alembic.ini` here, e.g.
`alembic -c bot/migrations/alembic.ini revision -m "add audit log"`.
"""
