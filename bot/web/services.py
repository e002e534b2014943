"""What the blueprints share: the settings, the store and the queue of one app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from bot.events.group_commit import GroupCommit
from bot.queue import WorkQueue
from bot.settings import Settings
from bot.store import Store
from bot.web.setup_flow import SetupFlow

# The spec's cap on webhook bodies (GitHub itself caps payloads at 25 MB).
MAX_BODY_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store | None  # None in setup mode
    queue: WorkQueue | None  # None in setup mode
    deliveries: GroupCommit | None = None  # None in setup mode
    """Webhook deliveries into the store, concurrent ones sharing a commit."""
    setup_flow: SetupFlow | None = None
    """The one-click GitHub App setup: `gatebot serve` in setup mode only."""


def services() -> Services:
    found: Services = current_app.extensions["gatebot"]
    return found
