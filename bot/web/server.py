"""`gatebot serve`: one process with the web app, and the embedded queue consumer.

Start-up order matters. Migrations first; then the huey consumer's threads
are started from the main thread (huey installs signal handlers, which only
the main thread may do); then the sweeper and the catch-up rounds
(`bot/catchup`); then the WSGI server runs in the
main thread until SIGINT or SIGTERM, after which the consumer is stopped
gracefully. With `GATEBOT_REDIS_URL` set the consumer runs in `gatebot
worker` processes instead, and this process only serves.

The WSGI server is waitress: connections are read and written by one event
loop, so a client that sends half a request and stalls holds no thread, and
is dropped once idle for `GATEBOT_WEB_TIMEOUT_SECONDS`. Complete requests run
on a fixed pool of `GATEBOT_WEB_THREADS` threads; at most
`GATEBOT_WEB_CONNECTION_LIMIT` connections are open at once; request bodies
over the webhook cap are refused (413) before they are read whole. It stays
ONE process, so the embedded consumer and the store's SQLite file are shared
by everything it serves (several processes: see the Procfile).
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from flask import Flask
from waitress.server import create_server

from bot import logs
from bot.queue import Sweeper, build_queue, start_catch_up
from bot.settings import Mode, Settings
from bot.store import Store
from bot.web import create_app
from bot.web.services import MAX_BODY_BYTES
from bot.worker import build_worker

log = logging.getLogger(__name__)


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # waitress's loop ends cleanly (and stops its threads) on KeyboardInterrupt.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def build_server(settings: Settings, app: Flask, host: str, port: int) -> Any:
    """The waitress server for `app`, bounded as the settings say (not yet running)."""
    timeout = settings.web_timeout_seconds
    return create_server(
        app,
        host=host,
        port=port,
        threads=settings.web_threads,
        connection_limit=settings.web_connection_limit,
        channel_timeout=timeout,
        # Idle connections are looked for this often: a stalled client is dropped
        # between `timeout` and twice that.
        cleanup_interval=max(1, min(timeout, 30)),
        max_request_body_size=MAX_BODY_BYTES,
        ident="gatebot",
        # waitress answers "Internal Server Error" without the exception's text,
        # which may quote secrets; the app logs it.
        expose_tracebacks=False,
    )


def serve(settings: Settings, host: str, port: int) -> int:
    if settings.mode is Mode.SETUP:
        app = create_app(settings)
        server = build_server(settings, app, host, port)
        logs.announce(
            f"gatebot: setup mode (no forge configured): open http://{host}:{server.effective_port}/"
            " to see how to connect one"
        )
        _serve_until_signal(server)
        return 0

    store = Store(settings.database_url)
    revision = store.migrate()
    log.info("store migrated to %s", revision)
    if settings.gitlab_configured:
        log.info("GitLab: %s", settings.gitlab_webhook_mode())
    embedded = not settings.uses_redis
    worker = None
    if embedded:
        worker = build_worker(settings, store)
    queue = build_queue(settings, store, worker)
    consumer = sweeper = catch_up = None
    if embedded:
        consumer = queue.consumer(settings.worker_threads)
        consumer.start()
        sweeper = Sweeper(queue, settings.sweep_seconds)
        sweeper.start()
        catch_up = start_catch_up(settings, store, queue)
    app = create_app(settings, store=store, queue=queue)
    server = build_server(settings, app, host, port)
    logs.announce(
        f"gatebot: serving on http://{host}:{server.effective_port}/"
        f" ({'embedded queue' if embedded else 'queue on Redis: run gatebot worker'})"
    )
    try:
        _serve_until_signal(server)
    finally:
        if catch_up is not None:
            catch_up.stop()
        if sweeper is not None:
            sweeper.stop()
        if consumer is not None:
            consumer.stop(graceful=True)
        store.close()
    return 0


def _serve_until_signal(server: Any) -> None:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        server.run()
    finally:
        server.close()
    log.info("gatebot: stopped")
