"""The store's tables as SQLAlchemy Core metadata.

The migrations under `bot/migrations/versions` create these tables; this
module describes their current shape for queries, and a test checks that the
two agree. A new table means a new migration *and* an entry here.

All times are stored in UTC and read back as aware datetimes (`UTCDateTime`),
whatever the database keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Explicit names keep migrations stable across dialects.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC time")
        value = value.astimezone(UTC)
        # SQLite compares times as text: keep one format, without an offset.
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


PROVIDER = String(16)
REPO = String(255)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("delivery_id", String(128), nullable=False),
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=True),
    Column("repo", REPO, nullable=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("pr_number", Integer, nullable=True),
    Column("sender", String(255), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "delivery_id"),
)

# One row per PR that needs work. `generation` grows with every mark, so a
# mark that arrives while a run is going on is not lost when the run ends:
# the run clears the row only if the generation it started with is still
# the current one. The lease is the per-PR lock shared by all processes.
dirty_pulls = Table(
    "dirty_pulls",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("generation", Integer, nullable=False),
    Column("dirty_since", UTCDateTime, nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
)

# Facts only events carry: when the bot first saw a head, and when (and by
# whom) it was pushed, per (repository, head SHA).
head_pushes = Table(
    "head_pushes",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("pushed_at", UTCDateTime, nullable=True),
    Column("pusher", String(255), nullable=True),
)

# One row per piece of work done for a PR: when it started and ended, by
# which worker, for which generation of the mark, and what it concluded.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("summary", Text, nullable=True),
)
Index("ix_runs_provider_repo_number", runs.c.provider, runs.c.repo, runs.c.number)
