"""In-process apps for request-level tests: real store and queue in a temp dir."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from bot.keys import WorkKey
from bot.queue import WorkQueue, build_queue, inbox_drainer
from bot.settings import Settings
from bot.store import Store, dirty
from bot.store.inbox import Inbox, open_inbox
from bot.store.key_columns import key_of
from bot.store.tables import dirty_pulls
from bot.web import create_app


@dataclass
class AppUnderTest:
    settings: Settings
    store: Store
    queue: WorkQueue
    app: Flask
    client: FlaskClient
    inbox: Inbox


def build_app(env: dict[str, str], *, drain: bool = True) -> AppUnderTest:
    """A full-mode app for `env` (no consumer runs: tests inspect store and queue).

    Each delivery kept is ingested before its answer returns, as a consumer
    process would moments later, so a test reads its marks right after the POST;
    `drain=False` leaves it in the inbox."""
    settings = Settings.model_validate(env)
    settings.check()
    store = Store(settings.database_url)
    store.migrate()
    queue = build_queue(settings, store)
    inbox = open_inbox(store)
    drainer = inbox_drainer(settings, store, queue, inbox) if drain else None
    app = create_app(
        settings, store=store, queue=queue, inbox=inbox, drain=drainer.drain if drainer else None
    )
    return AppUnderTest(settings, store, queue, app, app.test_client(), inbox)


class MarksProbe:
    """What the routing tests read after a delivery: the PRs marked, their
    generations, the wake-ups queued; `clean` forgets them as a worker run would."""

    svc: AppUnderTest

    def dirty(self) -> set[WorkKey]:
        with self.svc.store.begin() as conn:
            rows = conn.execute(
                select(dirty_pulls.c.provider, dirty_pulls.c.repo, dirty_pulls.c.number)
            )
            return {key_of(*row) for row in rows}

    def generation(self, key: WorkKey) -> int | None:
        with self.svc.store.begin() as conn:
            row = dirty.get(conn, key)
        return None if row is None else row.generation

    def clean(self) -> None:
        """Forget every dirty mark and queued wake-up, as if the worker had run."""
        with self.svc.store.begin() as conn:
            conn.execute(delete(dirty_pulls))
        self.svc.queue.huey.flush()

    def woken(self) -> int:
        # Debounced wake-ups wait on the schedule; immediate ones on the queue.
        huey = self.svc.queue.huey
        return huey.pending_count() + huey.scheduled_count()
