"""GitLab event routing: which deliveries cause work, and which work.

The same shape as GitHub's (`bot/web/github_events`), on the same
machinery: its `Router`, effects and `apply`, run under provider `gitlab`.
The webhook endpoint verifies and parses a delivery, then hands this
package's `Ingestion` to `deliveries.ingest`, which runs it inside the
delivery's one transaction, after recording the delivery:

1. `route` — pure: the handler of the hook (`X-Gitlab-Event`) and its
   `object_attributes.action` turns the payload into effects, or into a
   reason to do nothing (`ignored.py` names every ignored hook with why).
2. `apply` — the effects on the transaction: merge requests remembered,
   caches dropped, new notes put in the command inbox; returns the MRs to
   mark dirty, which `deliveries.ingest` marks in one statement.

A merge request is a PR to the rest of the bot: `PullKey("gitlab",
project.path_with_namespace, iid)`, with no installation.

| module            | hooks                                          |
|-------------------|------------------------------------------------|
| `merge_requests`  | Merge Request Hook                             |
| `notes`           | Note Hook (comments on merge requests)         |
| `pipelines`       | Pipeline Hook, Job Hook                        |
| `pushes`          | Push Hook                                      |
| `emoji`           | Emoji Hook (awards on MRs and their notes)     |
| `members`         | Member Hook (project and group memberships)    |

The bot's own notes and awards never cause work, so answering a command
cannot wake the bot again; its username comes from the store
(`delivery.BOT_ACCOUNT_ID`), looked up only for the hooks that need it.
Comment commands are never run here: a new note goes into the MR's command
inbox (`store/commands.py`) and the MR is marked; the pipeline parses,
authorises, runs and answers them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot.store import apps
from bot.store.deliveries import Marks
from bot.web.github_events.apply import apply
from bot.web.github_events.router import Routed, Router
from bot.web.github_webhook import ParsedDelivery
from bot.web.gitlab_events import (
    emoji,
    ignored,
    members,
    merge_requests,
    notes,
    pipelines,
    pushes,
)
from bot.web.gitlab_events.delivery import BOT_ACCOUNT_ID, PROVIDER, Delivery, hook_name

ROUTER: Router[Delivery] = Router(
    merge_requests.router,
    notes.router,
    pipelines.router,
    pushes.router,
    emoji.router,
    members.router,
    unhandled=ignored.reason,
)

__all__ = ["BOT_ACCOUNT_ID", "ROUTER", "Delivery", "Ingestion", "Routed", "delivery_of", "route"]


def delivery_of(parsed: ParsedDelivery, bot_username: str | None = None) -> Delivery:
    rec = parsed.record
    return Delivery(
        event=hook_name(rec.event, parsed.payload),
        action=rec.action,
        payload=parsed.payload,
        repo=rec.repo,
        sender=rec.sender,
        bot_username=bot_username,
    )


def route(delivery: Delivery, router: Router[Delivery] = ROUTER) -> Routed:
    """What `delivery` causes."""
    return router.route(delivery)


class Ingestion:
    """The routing of one GitLab delivery, as `deliveries.ingest` runs it (a `deliveries.Route`).

    After the call, `routed` says what the delivery caused, for the log.
    """

    def __init__(
        self, parsed: ParsedDelivery, now: datetime, router: Router[Delivery] = ROUTER
    ) -> None:
        self.parsed = parsed
        self.now = now
        self.router = router
        self.routed: Routed | None = None

    def __call__(self, conn: Connection) -> Marks:
        rec = self.parsed.record
        bot = None
        if self.router.needs_slug(hook_name(rec.event, self.parsed.payload)):
            bot = apps.slug(conn, PROVIDER, BOT_ACCOUNT_ID)
        self.routed = route(delivery_of(self.parsed, bot), self.router)
        return apply(conn, self.routed, installation_id=None, now=self.now, provider=rec.provider)
