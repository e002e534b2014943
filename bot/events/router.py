"""Dispatch on (event, action) to small handlers; routers compose.

A handler takes a delivery (the payload and the few facts around it) and
returns a `Routed`: the effects to apply, or the reason nothing is done.
Handlers are pure — no store, no forge, no clock — so they can run inside
the delivery's transaction in microseconds and be tested on payloads alone.

    router = Router()

    @router.register("pull_request", "opened", "reopened")
    def pull_opened(d: Delivery) -> Routed: ...

    ROUTER = Router(pulls.router, checks.router, ..., unhandled=ignored.reason)

The machinery is forge-neutral: a router dispatches any delivery that has an
`event` and an `action` (`Routable`) — GitHub's `Delivery`
(`bot/events/github/delivery.py`), GitLab's (`bot/events/gitlab/delivery.py`).
An event without a handler for its action is answered by the registry's
`unhandled` function, where each forge names every ignored event and action
with why (its `ignored.reason`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bot.events.effects import Effect


@dataclass(frozen=True)
class Routed:
    """What a delivery causes: effects, and why nothing (more) is done, if so."""

    effects: tuple[Effect, ...] = ()
    ignored: str | None = None
    note: str | None = None  # a remark for the delivery's log line

    @property
    def summary(self) -> str:
        if self.ignored is not None:
            return f"ignored: {self.ignored}"
        return self.note or f"{len(self.effects)} effect(s)"


def do(*effects: Effect | None, note: str | None = None) -> Routed:
    """Apply `effects` (None entries are skipped)."""
    return Routed(tuple(e for e in effects if e is not None), note=note)


def ignore(reason: str, *effects: Effect | None) -> Routed:
    """No PR work, because `reason`; `effects` (facts worth keeping) still apply."""
    return Routed(tuple(e for e in effects if e is not None), ignored=reason)


class Routable(Protocol):
    """What the router reads of a delivery, whatever the forge."""

    @property
    def event(self) -> str: ...

    @property
    def action(self) -> str | None: ...


D = TypeVar("D", bound=Routable)

Handler = Callable[[D], Routed]

Unhandled = Callable[[str, str | None], str]
"""Why an (event, action) without a handler causes no work."""

_ANY = None  # an action key: every action of the event


def no_handler(event: str, action: str | None) -> str:
    """The reason of a registry that names none of its own (a router built to be combined)."""
    return f"no handler for {event}.{action or '*'}"


class Router(Generic[D]):
    """Handlers by (event, action); `Router(a, b)` holds the handlers of both.

    `unhandled` names why an event without a handler is ignored; only the
    registry that routes (not the routers it is built from) needs it.
    """

    def __init__(self, *routers: Router[D], unhandled: Unhandled = no_handler) -> None:
        self._handlers: dict[tuple[str, str | None], Handler[D]] = {}
        self._needs_slug: set[str] = set()
        self._unhandled = unhandled
        for other in routers:
            for key, handler in other._handlers.items():
                self._add(key, handler)
            self._needs_slug |= other._needs_slug

    def _add(self, key: tuple[str, str | None], handler: Handler[D]) -> None:
        if key in self._handlers:
            raise ValueError(f"two handlers for {key[0]}.{key[1] or '*'}")
        self._handlers[key] = handler

    def register(
        self, event: str, *actions: str, needs_slug: bool = False
    ) -> Callable[[Handler[D]], Handler[D]]:
        """Handle `event` for `actions` (every action when none is given).

        `needs_slug`: the handler reads the bot's own name (GitHub's
        `Delivery.app_slug`, GitLab's `Delivery.bot_username`), which the
        ingestion (`bot.events.ingestion`) then looks up before routing.
        """

        def decorate(handler: Handler[D]) -> Handler[D]:
            for action in actions or (_ANY,):
                self._add((event, action), handler)
            if needs_slug:
                self._needs_slug.add(event)
            return handler

        return decorate

    def handler(self, event: str, action: str | None) -> Handler[D] | None:
        return self._handlers.get((event, action)) or self._handlers.get((event, _ANY))

    def needs_slug(self, event: str) -> bool:
        return event in self._needs_slug

    def handled(self) -> Iterable[tuple[str, str | None]]:
        return sorted(self._handlers, key=lambda k: (k[0], k[1] or ""))

    def route(self, delivery: D) -> Routed:
        handler = self.handler(delivery.event, delivery.action)
        if handler is None:
            return ignore(self._unhandled(delivery.event, delivery.action))
        return handler(delivery)
