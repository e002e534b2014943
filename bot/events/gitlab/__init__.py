"""GitLab event routing: which deliveries cause work, and which work.

The same shape as GitHub's (`bot/events/github`), on the same forge-neutral
machinery (`bot/events`: `router`, `effects`, `apply`, `ingestion`), run
under provider `gitlab`. The webhook endpoint (`bot/web/webhooks.py`)
verifies and parses a delivery, then calls `bot.events.ingestion.ingest`
with this package's `GitLabRouting`, which runs inside the delivery's one
transaction, after recording the delivery:

1. `route` — pure: the handler of the hook (`X-Gitlab-Event`) and its
   `object_attributes.action` turns the payload into effects, or into a
   reason to do nothing (`ignored.py` names every ignored hook with why).
   Handlers see a `Delivery` (`delivery.py`).
2. `apply` (`bot/events/apply.py`) — the effects on the transaction: merge
   requests remembered, caches dropped, new notes put in the command inbox;
   returns the MRs to mark dirty, which the ingestion marks in one statement.

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
(`bot.providers.gitlab.bot_account.BOT_ACCOUNT_ID`), looked up only for the
hooks that need it.
Comment commands are never run here: a new note goes into the MR's command
inbox (`store/commands.py`) and the MR is marked; the pipeline parses,
authorises, runs and answers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.events.gitlab import (
    emoji,
    ignored,
    members,
    merge_requests,
    notes,
    pipelines,
    pushes,
)
from bot.events.gitlab.delivery import Delivery, hook_name
from bot.events.parsed import ParsedDelivery
from bot.events.router import Routed, Router
from bot.forges import GITLAB
from bot.providers.gitlab.bot_account import BOT_ACCOUNT_ID

ROUTER: Router[Delivery] = Router(
    merge_requests.router,
    notes.router,
    pipelines.router,
    pushes.router,
    emoji.router,
    members.router,
    unhandled=ignored.reason,
)

__all__ = ["ROUTER", "GitLabRouting", "delivery_of", "route"]


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


@dataclass(frozen=True)
class GitLabRouting:
    """GitLab's routing, as `bot.events.ingestion.ingest` runs it (a `ForgeRouting`).

    The bot's username is read (under `BOT_ACCOUNT_ID`) only for the hooks
    whose handlers need it.
    """

    router: Router[Delivery] = ROUTER
    # No GitLab handler asks for the owner's fallback: these are the branch's own.
    policy_paths: tuple[str, ...] = GITLAB.policy_paths

    def bot_account(self, parsed: ParsedDelivery) -> int | None:
        if self.router.needs_slug(hook_name(parsed.record.event, parsed.payload)):
            return BOT_ACCOUNT_ID
        return None

    def route(self, parsed: ParsedDelivery, bot_name: str | None) -> Routed:
        return route(delivery_of(parsed, bot_name), self.router)
