"""`gatebot serve`: one process with the web app, and the embedded queue consumer.

Start-up order matters. Migrations first; then the queue's consumer is
started as a child process (`bot.consumer_process`: `gatebot worker --of-serve
PID`, with the sweeper, the catch-up rounds (`bot/catchup`) and the deploy
follower), so evaluating PRs never holds this process's interpreter lock
while it answers webhooks; then the WSGI server runs in the main thread until
SIGINT or SIGTERM, after which the consumer is stopped gracefully. With
`GATEBOT_REDIS_URL` set the consumer runs in `gatebot worker` processes
instead, and this process only serves.

The WSGI server is waitress: connections are read and written by one event
loop, so a client that sends half a request and stalls holds no thread, and
is dropped once idle for `GATEBOT_WEB_TIMEOUT_SECONDS`. Complete requests run
on a fixed pool of `GATEBOT_WEB_THREADS` threads; at most
`GATEBOT_WEB_CONNECTION_LIMIT` connections are open at once; request bodies
over the webhook cap are refused (413) before they are read whole. It stays
one web process beside its consumer, sharing the store's SQLite file (several
web processes: see the Procfile).

In setup mode the server runs on a thread and serves through a `Switch`:
when the one-click GitHub App setup has written the App's credentials, the
main thread reads the settings again, starts full mode's services and points
the switch at full mode's app — same address, no restart.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from flask import Flask
from waitress.server import create_server

from bot import logs
from bot.consumer_process import ConsumerProcess
from bot.queue import WorkQueue, build_queue
from bot.settings import Mode, Settings, load_settings
from bot.store import Store
from bot.web import create_app
from bot.web.services import MAX_BODY_BYTES
from bot.web.setup_flow import SetupFlow, new_setup_code
from bot.worker import load_pipeline

log = logging.getLogger(__name__)


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # waitress's loop ends cleanly (and stops its threads) on KeyboardInterrupt.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def build_server(settings: Settings, app: Any, host: str, port: int) -> Any:
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


class Switch:
    """A WSGI app that forwards to the current app, so setup mode can hand over to full
    mode in place: the server, its socket and its threads stay."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class Running:
    """Full mode's services: the store, the queue and, when embedded, its consumer."""

    store: Store
    queue: WorkQueue
    embedded: bool
    consumer: ConsumerProcess | None = None

    @classmethod
    def start(cls, settings: Settings) -> Running:
        """Migrate the store, then start the queue's consumer process (SQLite queue);
        call from the main thread (the consumer ends with the thread that started it)."""
        store = Store(settings.database_url)
        revision = store.migrate()
        log.info("store migrated to %s", revision)
        if settings.gitlab_configured:
            log.info("GitLab: %s", settings.gitlab_webhook_mode())
        embedded = not settings.uses_redis
        running = cls(store, build_queue(settings, store), embedded)
        if embedded:
            # Built here too, never run: a configuration the consumer would refuse
            # stops the start now, rather than its child over and over.
            load_pipeline(settings, store)
            running.consumer = ConsumerProcess()
        return running

    def app(self, settings: Settings) -> Flask:
        return create_app(settings, store=self.store, queue=self.queue)

    def announce(self, host: str, port: int) -> None:
        logs.announce(
            f"gatebot: serving on http://{host}:{port}/"
            f" ({'embedded queue' if self.embedded else 'queue on Redis: run gatebot worker'})"
        )

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
        self.store.close()


def serve(settings: Settings, host: str, port: int) -> int:
    if settings.mode is Mode.SETUP:
        return _serve_setup(settings, host, port)
    running = Running.start(settings)
    try:
        server = build_server(settings, running.app(settings), host, port)
        running.announce(host, server.effective_port)
        _serve_until_signal(server)
    finally:
        running.stop()
    return 0


def _serve_setup(settings: Settings, host: str, port: int) -> int:
    """Setup mode; once the one-click GitHub App setup has written the App's credentials,
    full mode on the same server, without a restart."""
    wake = threading.Event()
    configured = threading.Event()

    def on_configured() -> None:
        configured.set()
        wake.set()

    code = new_setup_code()
    switch = Switch(create_app(settings, setup_flow=SetupFlow(code, on_configured)))
    server = build_server(settings, switch, host, port)
    logs.announce(
        f"gatebot: setup mode (no forge configured): open http://{host}:{server.effective_port}/"
        " to see how to connect one"
    )
    # Like Jenkins's first admin password: whoever reads the server's output may register
    # the App, and nobody else; it is worth nothing once the App is kept or after a restart.
    logs.announce(f"gatebot: setup code for the one-click GitHub App: {code}")
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        wake.set()

    web = threading.Thread(target=server.run, name="gatebot-web", daemon=True)
    running: Running | None = None
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    web.start()
    try:
        while not wake.wait(1.0):
            pass
        if configured.is_set() and not stopping.is_set():
            full = load_settings()
            running = Running.start(full)
            switch.app = running.app(full)
            logs.announce("gatebot: the GitHub App is configured; setup mode is over")
            running.announce(host, server.effective_port)
            while not stopping.wait(1.0):
                pass
    finally:
        server.close()
        if running is not None:
            running.stop()
    log.info("gatebot: stopped")
    return 0


def _serve_until_signal(server: Any) -> None:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        server.run()
    finally:
        server.close()
    log.info("gatebot: stopped")
