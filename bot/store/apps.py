"""The App's own slug, learnt from events: how the bot recognises its own statuses.

A commit status carries no App id, only its writer: an App writes as
`<slug>[bot]`. Events that do carry the App's id — `installation` events
(`installation.app_id`, `app_slug`) and check runs / suites (`app.id`,
`app.slug`) — tell the routing the slug of the configured `GITHUB_APP_ID`
(`remember`); so does the pipeline, which reads `GET /app` anyway
(`remember` it there too, so the first status event after a fresh start is
recognised). `slug` answers None until one of them said.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Executable, and_, select

from bot.store.dialect import cached_statement, insert_for
from bot.store.tables import app_identities as t


@cached_statement
def _remember_statement(dialect: str) -> Executable:
    stmt = insert_for(dialect, t)
    return stmt.on_conflict_do_update(
        index_elements=[t.c.provider, t.c.app_id],
        set_={"slug": stmt.excluded.slug, "seen_at": stmt.excluded.seen_at},
        # An App's slug changes only when it is renamed: skip the write otherwise.
        where=t.c.slug != stmt.excluded.slug,
    )


def remember(conn: Connection, provider: str, app_id: int, slug: str, now: datetime) -> None:
    """Note that App `app_id` is called `slug` (lower-case, as GitHub compares it)."""
    conn.execute(
        _remember_statement(conn),
        {"provider": provider, "app_id": app_id, "slug": slug.lower(), "seen_at": now},
    )


def slug(conn: Connection, provider: str, app_id: int) -> str | None:
    return conn.execute(
        select(t.c.slug).where(and_(t.c.provider == provider, t.c.app_id == app_id))
    ).scalar_one_or_none()


def bot_login(conn: Connection, provider: str, app_id: int) -> str | None:
    """The account the App writes as (`<slug>[bot]`), if its slug is known."""
    found = slug(conn, provider, app_id)
    return None if found is None else f"{found}[bot]"
