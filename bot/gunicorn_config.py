"""gunicorn's configuration for the Procfile's `web` (`-c python:bot.gunicorn_config`).

Read by the gunicorn master before it forks its workers: it sets up the
metrics directory every worker inherits (`bot.metrics_files`), so a scrape
answered by any worker counts the work of all of them and of the `gatebot
worker` processes, and drops the live gauges of each worker the master
reaps (`child_exit`).
"""

from __future__ import annotations

from typing import Any

from bot import metrics_files
from bot.settings import ConfigurationError, load_settings

try:
    metrics_files.prepare(load_settings().metrics_directory())
except ConfigurationError as exc:
    raise SystemExit(f"gatebot: cannot start: {exc}") from None


def child_exit(_server: Any, worker: Any) -> None:
    metrics_files.mark_dead(worker.pid)
