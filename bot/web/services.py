"""What the blueprints share: the settings, the store and the queue of one app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from bot.events.group_commit import GroupCommit
from bot.queue import WorkQueue
from bot.settings import Settings
from bot.store import Store
from bot.store.inbox import Arrival
from bot.web.setup_flow import SetupFlow

# The spec's cap on webhook bodies (GitHub itself caps payloads at 25 MB).
MAX_BODY_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store | None  # None in setup mode
    queue: WorkQueue | None  # None in setup mode
    deliveries: GroupCommit[Arrival, bool] | None = None  # None in setup mode
    """Webhook deliveries kept in the store's inbox, concurrent ones sharing a commit
    (the result: whether the delivery was new)."""
    drain: Callable[[], object] | None = None
    """Drains the inbox at once after each delivery kept, when the consumer shares this
    process's store and queue; None: a consumer process drains it."""
    setup_flow: SetupFlow | None = None
    """The one-click GitHub App setup: `gatebot serve` in setup mode only."""


def services() -> Services:
    found: Services = current_app.extensions["gatebot"]
    return found
