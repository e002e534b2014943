"""The web tier: a Flask app factory and its blueprints.

`create_app(settings)` builds the app for the settings' start-up mode: in
setup mode a page explaining how to connect a forge, `/healthz`, and
webhooks answered 503; in full mode the webhook endpoints, the deploy callback
(`deploy_callback`), `/healthz` and `/readyz`, and `/metrics` in both. Webhook
requests only verify, parse and keep the delivery in the store's inbox, in
one short transaction; the consumer ingests it (`bot.events.inbox_drain`):
no forge is called, and nothing routed, while a webhook waits for its answer.

`create_app_from_env()` is the factory gunicorn calls (see the Procfile).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, got_request_exception

from bot import logs, metrics
from bot.events.group_commit import GroupCommit
from bot.queue import WorkQueue, build_queue
from bot.settings import ConfigurationError, Mode, Settings, load_settings
from bot.store import Store
from bot.store.inbox import Inbox, open_inbox
from bot.web import deploy_callback, details, health, scrape, setup, webhooks
from bot.web.services import Services
from bot.web.setup_flow import SetupFlow


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    queue: WorkQueue | None = None,
    setup_flow: SetupFlow | None = None,
    inbox: Inbox | None = None,
    drain: Callable[[], object] | None = None,
) -> Flask:
    """The app for `settings`; builds the store, its inbox and an enqueue-only queue if
    not given. `setup_flow` offers the one-click GitHub App setup in setup mode; `drain`, when
    given, ingests the inbox at once after each delivery kept (a consumer in this
    process), else a consumer process does (`bot.events.inbox_drain`)."""
    app = Flask(__name__)
    if settings.mode is Mode.FULL:
        store = store if store is not None else Store(settings.database_url)
        queue = queue if queue is not None else build_queue(settings, store)
        inbox = inbox if inbox is not None else open_inbox(store)
    app.extensions["gatebot"] = Services(
        settings=settings, store=store, queue=queue,
        deliveries=GroupCommit(inbox.keep) if inbox is not None else None,
        drain=drain,
        setup_flow=setup_flow if settings.mode is Mode.SETUP else None,
    )
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(setup.bp)
    app.register_blueprint(details.bp)
    app.register_blueprint(deploy_callback.bp)
    app.register_blueprint(scrape.bp)
    webhooks.register_error_handlers(app)
    got_request_exception.connect(_count_error, app)
    return app


def _count_error(_sender: Flask, **_extra: object) -> None:
    metrics.ERRORS.labels(kind="web").inc()


def create_app_from_env() -> Flask:
    """Read the environment and build the app; exit with one sentence if it cannot."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise SystemExit(f"gatebot: cannot start: {exc}") from None
    logs.configure(settings.log_format)
    return create_app(settings)
