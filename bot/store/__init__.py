"""Persistence: SQLAlchemy Core over a SQLite file (default) or PostgreSQL.

`Store` owns the engine; the modules beside it hold the queries, each a
function taking an open `Connection`, so callers decide what one transaction
covers (a delivery's ingestion, `bot.events.ingestion`, records it and marks
its PRs dirty in one).

- `inbox`           — verified webhook deliveries kept until the consumer ingests them
- `deliveries`      — the record of webhook deliveries (de-duplication)
- `delivery_log`    — how far GitHub's App webhook delivery log was checked, redeliveries asked
- `dirty`           — PRs (and merge groups) needing work, and the per-key lease
- `key_columns`     — how a work key (`bot.keys`) is written in rows and queued tasks
- `heads`           — push / first-seen times per head SHA
- `runs`            — the work done per PR
- `forge_files`     — policy files and CODEOWNERS read from a branch (cache)
- `directory_cache` — team / organisation memberships and permissions (cache)
- `pull_parts`      — the parts of a GitLab MR that change only with its head or `updated_at`
                      (GitHub reads its PR in one query each evaluation, nothing kept)
- `evaluations`     — the verdict last posted per head and context
- `verdicts`        — the verdict decided per PR, head and context (what deploys check)
- `requests`        — forge requests counted per evaluation
- `pulls`           — open / closed PRs with their base and head, from events
- `tampering`       — comments edited by someone other than their author
- `merge_groups`    — merge-queue groups waiting for a verdict
- `installations`   — App installations and whether they are live
- `apps`            — the App's own identity (slug), to recognise its own events
- `merges`          — merge intents, the merge audit log, feedback keys, per-base merge locks
- `deploys`         — deploy intents and the deploy audit log
- `deploy_outcomes` — each started deployment followed to its end, and its one PR comment
- `commands`        — the inbox of PR comments that may hold commands, and the command audit
- `holds`           — `/gate hold` per PR and person
- `overrides`       — `/gate override`, bound to a head SHA (kept: they are the audit)
- `merge_arms`      — merges armed by `/gate merge`
- `audit`           — what the audit logs share (`gatebot audit`)
- `signing_keys`    — keys the service generated once (the details links' key)
- `reconcile_marks` — how far back each repository's PR list is known to match the store
- `catchup_rounds`  — the catch-up round's lease and the record of the last round
- `migrate`         — Alembic migrations (`bot/migrations`)
- `writer_lock`     — one SQLite writer at a time across the processes of a host
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from bot.store import migrate
from bot.store.engine import make_engine, sqlite_file
from bot.store.writer_lock import WriterLock


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """The database of one gatebot deployment; safe to share between threads."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        # SQLite has one writer at a time, and its busy handler waits by
        # sleeping in growing steps (up to 100 ms), which makes for long tail
        # latencies when writers collide: queue this host's writers instead.
        self._serialise: AbstractContextManager[object] = _writers(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success."""
        with self._serialise, self.engine.begin() as conn:
            yield conn

    def migrate(self) -> str:
        return migrate.upgrade(self.engine)

    def is_current(self) -> bool:
        return migrate.is_current(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
        if isinstance(self._serialise, WriterLock):
            self._serialise.close()


def _writers(engine: Engine) -> AbstractContextManager[object]:
    """What a transaction holds first: on a SQLite file, the host's writer lock
    (`writer_lock`); in memory, this process's own; on PostgreSQL, nothing."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    database = sqlite_file(engine.url)
    if database is None:
        return threading.RLock()
    return WriterLock(f"{database}-writers.lock")
