"""Keys the service generates for itself once and keeps in the store.

`get_or_create(conn, name, now)` returns the key stored under `name`,
generating it (256 random bits) the first time. Every instance sharing the
database reads the same key; two instances racing on the first call both
end up with the one row that won (`INSERT ... ON CONFLICT DO NOTHING`, then
read). Keys never leave the store except to sign.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, select

from bot.store.dialect import insert_once
from bot.store.tables import signing_keys as t

DETAILS_LINKS = "details-links"


def get_or_create(conn: Connection, name: str, now: datetime) -> bytes:
    """The key named `name`, generated and stored on first use."""
    found = conn.execute(select(t.c.secret).where(t.c.name == name)).scalar()
    if found is None:
        insert_once(conn, t, name=name, secret=secrets.token_hex(32), created_at=now)
        found = conn.execute(select(t.c.secret).where(t.c.name == name)).scalar_one()
    return bytes.fromhex(found)
