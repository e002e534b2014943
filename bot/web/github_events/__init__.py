"""GitHub event routing: which deliveries cause work, and which work.

The webhook endpoint verifies and parses a delivery, then hands this
package's `Ingestion` to `deliveries.ingest`, which runs it inside the
delivery's one transaction, after recording the delivery:

1. `route` — pure: the (event, action) handler turns the payload into
   effects (`effects.py`), or into a reason to do nothing (`ignored.py`
   names every ignored event and action with why). No store, no forge.
2. `apply` — the effects on the transaction: PRs remembered, caches
   dropped, tamper marks and merge groups recorded, new PR comments put in
   the command inbox, posted verdicts forgotten; returns the PRs (and merge
   groups) to mark dirty, which `deliveries.ingest` marks in one statement.

Handlers, one module per concern, combined in `ROUTER`:

| module            | events                                                        |
|-------------------|---------------------------------------------------------------|
| `pull_requests`   | pull_request, pull_request_review, issue_comment              |
| `checks`          | check_run, check_suite, workflow_run, status                  |
| `pushes`          | push (a base branch's policy file or CODEOWNERS)              |
| `merge_groups`    | merge_group                                                   |
| `installations`   | installation, installation_repositories                       |
| `people`          | member, membership, team, organization                        |

The bot's own check runs (`app.id` = `GITHUB_APP_ID`) and statuses (written
by `<slug>[bot]`; the slug is learnt from events, see `identity.py`) never
cause work, so posting a verdict cannot wake the bot again; nor do its own
comments (`performed_via_github_app`), so answering a command cannot either.

Comment commands are never run here: `issue_comment` `created` puts the
comment in the PR's command inbox (`store/commands.py`) and marks the PR;
the pipeline parses, authorises, runs and answers them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Connection

from bot.store import apps
from bot.store.deliveries import Marks
from bot.web.github_events import (
    checks,
    installations,
    merge_groups,
    people,
    pull_requests,
    pushes,
)
from bot.web.github_events.apply import apply
from bot.web.github_events.identity import learnt_slug
from bot.web.github_events.router import Delivery, Routed, Router
from bot.web.github_webhook import PROVIDER, ParsedDelivery

ROUTER = Router(
    pull_requests.router,
    checks.router,
    pushes.router,
    merge_groups.router,
    installations.router,
    people.router,
)

__all__ = ["ROUTER", "Delivery", "Ingestion", "Routed", "delivery_of", "route"]


def delivery_of(
    parsed: ParsedDelivery, app_id: int | None, app_slug: str | None = None
) -> Delivery:
    rec = parsed.record
    return Delivery(
        event=rec.event,
        action=rec.action,
        payload=parsed.payload,
        repo=rec.repo,
        installation_id=rec.installation_id,
        sender=rec.sender,
        app_id=app_id,
        app_slug=app_slug,
    )


def route(delivery: Delivery, router: Router = ROUTER) -> Routed:
    """What `delivery` causes; the App's slug, when it shows it, is remembered too."""
    routed = router.route(delivery)
    learnt = learnt_slug(delivery)
    if learnt is None:
        return routed
    return dataclasses.replace(routed, effects=(learnt, *routed.effects))


class Ingestion:
    """The routing of one delivery, as `deliveries.ingest` runs it (a `deliveries.Route`).

    After the call, `routed` says what the delivery caused, for the log.
    """

    def __init__(
        self,
        parsed: ParsedDelivery,
        app_id: int | None,
        now: datetime,
        router: Router = ROUTER,
    ) -> None:
        self.parsed = parsed
        self.app_id = app_id
        self.now = now
        self.router = router
        self.routed: Routed | None = None

    def __call__(self, conn: Connection) -> Marks:
        rec = self.parsed.record
        slug = None
        if self.app_id is not None and self.router.needs_slug(rec.event):
            slug = apps.slug(conn, PROVIDER, self.app_id)
        self.routed = route(delivery_of(self.parsed, self.app_id, slug), self.router)
        return apply(conn, self.routed, installation_id=rec.installation_id, now=self.now)
