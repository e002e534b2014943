"""In-process apps for request-level tests: real store and queue in a temp dir."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from bot.queue import WorkQueue, build_queue
from bot.settings import Settings
from bot.store import Store
from bot.web import create_app


@dataclass
class AppUnderTest:
    settings: Settings
    store: Store
    queue: WorkQueue
    app: Flask
    client: FlaskClient


def build_app(env: dict[str, str]) -> AppUnderTest:
    """A full-mode app for `env` (no consumer runs: tests inspect store and queue)."""
    settings = Settings.model_validate(env)
    settings.check()
    store = Store(settings.database_url)
    store.migrate()
    queue = build_queue(settings, store)
    app = create_app(settings, store=store, queue=queue)
    return AppUnderTest(settings, store, queue, app, app.test_client())
