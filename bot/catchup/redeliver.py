"""Redeliver what failed: the catch-up step over GitHub's App webhook delivery log.

GitHub does not send a failed webhook again by itself. Each round this step
reads the App's delivery log (`bot.providers.github.hook_deliveries`)
newest first, back to the point the last round reached (`store.delivery_log`)
and never further than the three days GitHub keeps. Per event (guid), from
its newest attempt down:

- an attempt answered 2xx, or a guid the `deliveries` table holds: the bot
  has it, nothing to do;
- a guid a redelivery was asked for already (by any round): nothing to do —
  one ask per event, ever;
- otherwise: ask GitHub to redeliver the newest failed attempt. The
  redelivery carries the same guid, so it goes through the normal webhook
  ingestion and its de-duplication: the worker re-reads the PR before it
  decides anything, and a redelivery of an event that arrived meanwhile is
  a duplicate.

Bounds: at most `GATEBOT_REDELIVER_PAGES_PER_ROUND` pages and
`GATEBOT_REDELIVER_ASKS_PER_ROUND` redeliveries per round, and the round stops
when the rate limit left is under `RATE_FLOOR`. The mark moves only over
what was fully handled: a walk cut short keeps the cursor of the page it
had not finished and resumes there next round, and the walk that reaches
the old mark moves it to the newest delivery that walk began at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from github.GithubException import GithubException

from bot.catchup.report import StepReport
from bot.providers.counting import RequestTally
from bot.providers.github.auth import AppCredentials
from bot.providers.github.client import ClientConfig
from bot.providers.github.hook_deliveries import AppHookLog, LoggedDelivery, LogPage
from bot.retry import RateLimited, RetryPolicies
from bot.settings import Settings
from bot.store import Store, deliveries, delivery_log

PROVIDER = "github"
RETENTION = timedelta(days=3)
"""How long GitHub keeps the delivery log (and redelivers from it)."""
RATE_FLOOR = 100
"""Requests left in the rate limit under which the round stops, leaving them to evaluations."""


class _Stop(Exception):
    """A bound or a failure ends the round; the walk stays where it was."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _Round:
    tally: RequestTally = field(default_factory=RequestTally)
    pages: int = 0
    asks: int = 0
    examined: int = 0
    lines: list[str] = field(default_factory=list)


class Redeliver:
    """The catch-up step asking GitHub to redeliver the App webhook deliveries that failed."""

    name = "redeliver"

    def __init__(
        self,
        log: AppHookLog,
        store: Store,
        app_id: int,
        *,
        max_pages: int,
        max_asks: int,
        clock: Callable[[], datetime],
        rate_floor: int = RATE_FLOOR,
    ) -> None:
        self.log = log
        self.store = store
        self.app_id = app_id
        self.max_pages = max_pages
        self.max_asks = max_asks
        self.clock = clock
        self.rate_floor = rate_floor

    @property
    def scope(self) -> str:
        return f"github app {self.app_id}"

    def run(self, now: datetime) -> StepReport:
        horizon = now - RETENTION
        with self.store.begin() as conn:
            mark = delivery_log.get(conn, self.app_id)
            delivery_log.prune(conn, horizon)
        state = _Round()
        complete, error = True, None
        try:
            resumed = mark.walk_cursor is not None
            mark = self._walk(mark, horizon, state, now)
            if resumed:
                # The backlog is done; what arrived since it began is next, if the bounds allow.
                mark = self._walk(mark, horizon, state, now)
        except _Stop as stop:
            complete, error = False, stop.error
            with self.store.begin() as conn:
                mark = delivery_log.get(conn, self.app_id)
        return StepReport(
            step=self.name,
            scope=self.scope,
            examined=state.examined,
            acted=state.asks,
            requests=state.tally.total,
            caught_up_to=mark.caught_up_to,
            complete=complete,
            error=error,
            lines=tuple(state.lines),
        )

    # -- one walk: from the newest (or the stored cursor) down to the mark ------------

    def _walk(
        self, mark: delivery_log.Mark, horizon: datetime, state: _Round, now: datetime
    ) -> delivery_log.Mark:
        cursor, top = mark.walk_cursor, mark.walk_top
        floor = max(mark.caught_up_to or horizon, horizon)
        decided: set[str] = set()
        while True:
            if state.pages >= self.max_pages:
                raise _Stop()
            page = self._page(cursor, state)
            if top is None and page.deliveries:
                top = page.deliveries[0].delivered_at
            wanted = [d for d in page.deliveries if d.delivered_at >= floor]
            state.examined += len(wanted)
            self._handle(wanted, decided, state)
            finished = len(wanted) < len(page.deliveries) or page.next_cursor is None
            if finished:
                done = delivery_log.Mark(caught_up_to=top or mark.caught_up_to)
                self._save(done, now)
                return done
            cursor = page.next_cursor
            self._save(delivery_log.Mark(mark.caught_up_to, top, cursor), now)
            if page.rate_remaining is not None and page.rate_remaining < self.rate_floor:
                raise _Stop("GitHub's rate limit is low; the delivery log walk goes on next round")

    def _page(self, cursor: str | None, state: _Round) -> LogPage:
        state.pages += 1
        try:
            return self.log.page(cursor, state.tally)
        except RateLimited:
            raise _Stop("GitHub's rate limit stopped the delivery log walk") from None
        except GithubException as exc:
            raise _Stop(f"GitHub answered {exc.status} to a page of the delivery log") from None
        except requests.RequestException:
            raise _Stop("GitHub could not be reached for the delivery log") from None

    def _handle(
        self, page: list[LoggedDelivery], decided: set[str], state: _Round
    ) -> None:
        """Ask for the failed events of one page (newest first) the bot does not have.

        `decided` holds the guids this walk has seen an attempt of: the first
        attempt met is the newest, so it decides for the event.
        """
        candidates: list[LoggedDelivery] = []
        for delivery in page:
            if delivery.guid in decided:
                continue
            decided.add(delivery.guid)
            if not delivery.ok:
                candidates.append(delivery)
        if not candidates:
            return
        guids = [d.guid for d in candidates]
        with self.store.begin() as conn:
            known = deliveries.recorded(conn, PROVIDER, guids) | delivery_log.asked(conn, guids)
        for delivery in candidates:
            if delivery.guid in known:
                continue
            if state.asks >= self.max_asks:
                raise _Stop()
            self._ask(delivery, state)

    def _ask(self, delivery: LoggedDelivery, state: _Round) -> None:
        # Recorded before asking: a crash after the POST must not lead to a second ask.
        with self.store.begin() as conn:
            if not delivery_log.ask(conn, delivery.guid, delivery.id, self.clock()):
                return
        try:
            self.log.redeliver(delivery.id, state.tally)
        except (GithubException, RateLimited, requests.RequestException) as exc:
            with self.store.begin() as conn:
                delivery_log.forget_ask(conn, delivery.guid)
            status = getattr(exc, "status", None)
            answer = f"answered {status}" if status else "could not be reached"
            raise _Stop(f"GitHub {answer} when asked to redeliver delivery {delivery.id}") from None
        state.asks += 1
        what = f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event
        state.lines.append(
            f"asked GitHub to redeliver {what} {delivery.guid} "
            f"(delivery {delivery.id}, answered {delivery.status_code})"
        )

    def _save(self, mark: delivery_log.Mark, now: datetime) -> None:
        with self.store.begin() as conn:
            delivery_log.put(conn, self.app_id, mark, now)


def redeliver_step(
    settings: Settings, store: Store, clock: Callable[[], datetime]
) -> Redeliver | None:
    """The step for the configured GitHub App (None when GitHub is not configured)."""
    if settings.github_app_id is None:
        return None
    credentials = AppCredentials(settings.github_app_id, settings.github_private_key_pem())
    retries = RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
    log = AppHookLog(credentials, ClientConfig.from_settings(settings), retries)
    return Redeliver(
        log,
        store,
        settings.github_app_id,
        max_pages=settings.redeliver_pages_per_round,
        max_asks=settings.redeliver_asks_per_round,
        clock=clock,
    )
