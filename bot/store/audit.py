"""What the audit logs (merges, deploys) share: how `gatebot audit` selects entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, Table, func, select


def audit_query(table: Table, *, repo: str | None = None, since: datetime | None = None) -> Select:
    """Entries of an audit table, oldest first, of one repository and from a time on."""
    stmt = select(table)
    if repo is not None:
        stmt = stmt.where(func.lower(table.c.repo) == repo.lower())
    if since is not None:
        stmt = stmt.where(table.c.at >= since)
    return stmt.order_by(table.c.at, table.c.id)
