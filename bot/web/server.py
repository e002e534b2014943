"""`gatebot serve`: one process with the web app, and the embedded queue consumer.

Start-up order matters. Migrations first; then the huey consumer's threads
are started from the main thread (huey installs signal handlers, which only
the main thread may do); then the sweeper; then werkzeug's threaded WSGI
server runs in the main thread until SIGINT or SIGTERM, after which the
consumer is stopped gracefully. With `GATEBOT_REDIS_URL` set the consumer
runs in `gatebot worker` processes instead, and this process only serves.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

from werkzeug.serving import BaseWSGIServer, make_server

from bot.queue import Sweeper, build_queue
from bot.settings import Mode, Settings
from bot.store import Store
from bot.web import create_app
from bot.worker import build_worker

log = logging.getLogger(__name__)


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # werkzeug's serve_forever ends cleanly on KeyboardInterrupt.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def serve(settings: Settings, host: str, port: int) -> int:
    if settings.mode is Mode.SETUP:
        app = create_app(settings)
        server = make_server(host, port, app, threaded=True)
        print(
            f"gatebot: setup mode (no forge configured): open http://{host}:{server.server_port}/"
            " to see how to connect one",
            flush=True,
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
    consumer = sweeper = None
    if embedded:
        consumer = queue.consumer(settings.worker_threads)
        consumer.start()
        sweeper = Sweeper(queue, settings.sweep_seconds)
        sweeper.start()
    app = create_app(settings, store=store, queue=queue)
    server = make_server(host, port, app, threaded=True)
    print(
        f"gatebot: serving on http://{host}:{server.server_port}/"
        f" ({'embedded queue' if embedded else 'queue on Redis: run gatebot worker'})",
        flush=True,
    )
    try:
        _serve_until_signal(server)
    finally:
        if sweeper is not None:
            sweeper.stop()
        if consumer is not None:
            consumer.stop(graceful=True)
        store.close()
    return 0


def _serve_until_signal(server: BaseWSGIServer) -> None:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    server.serve_forever()
    log.info("gatebot: stopped")
