"""GitHub event routing: which deliveries cause work, and which work.

The webhook endpoint (`bot/web/webhooks.py`) verifies and parses a
delivery, then calls `bot.events.ingestion.ingest` with this package's
`GitHubRouting`, which runs inside the delivery's one transaction, after
recording the delivery:

1. `route` — pure: the (event, action) handler turns the payload into
   effects (`bot/events/effects.py`), or into a reason to do nothing
   (`ignored.py` names every ignored event and action with why). No store,
   no forge. Handlers see a `Delivery` (`delivery.py`).
2. `apply` (`bot/events/apply.py`) — the effects on the transaction: PRs
   remembered, caches dropped, tamper marks and merge groups recorded, new
   PR comments put in the command inbox, posted verdicts forgotten; returns
   the PRs (and merge groups) to mark dirty, which the ingestion marks in
   one statement.

Handlers, one module per concern, combined in `ROUTER`:

| module            | events                                                        |
|-------------------|---------------------------------------------------------------|
| `pull_requests`   | pull_request, pull_request_review, issue_comment              |
| `checks`          | check_run, check_suite, workflow_run, status                  |
| `deployments`     | deployment_status (a hint to the deploy follower)             |
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
from dataclasses import dataclass

from bot.events.github import (
    checks,
    deployments,
    ignored,
    installations,
    merge_groups,
    people,
    pull_requests,
    pushes,
)
from bot.events.github.delivery import Delivery
from bot.events.github.identity import learnt_slug
from bot.events.parsed import ParsedDelivery
from bot.events.router import Routed, Router
from bot.forges import GITHUB

ROUTER: Router[Delivery] = Router(
    pull_requests.router,
    checks.router,
    deployments.router,
    pushes.router,
    merge_groups.router,
    installations.router,
    people.router,
    unhandled=ignored.reason,
)

__all__ = ["ROUTER", "GitHubRouting", "delivery_of", "route"]


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


def route(delivery: Delivery, router: Router[Delivery] = ROUTER) -> Routed:
    """What `delivery` causes; the App's slug, when it shows it, is remembered too."""
    routed = router.route(delivery)
    learnt = learnt_slug(delivery)
    if learnt is None:
        return routed
    return dataclasses.replace(routed, effects=(learnt, *routed.effects))


@dataclass(frozen=True)
class GitHubRouting:
    """GitHub's routing, as `bot.events.ingestion.ingest` runs it (a `ForgeRouting`).

    `app_id`: the configured `GITHUB_APP_ID`; the App's slug is kept under it
    (`store/apps.py`) and read only for events whose handlers need it.
    """

    app_id: int | None
    router: Router[Delivery] = ROUTER
    # The owner-wide fallback policy is left out of PRs whose base holds one of these.
    policy_paths: tuple[str, ...] = GITHUB.policy_paths

    def bot_account(self, parsed: ParsedDelivery) -> int | None:
        if self.app_id is not None and self.router.needs_slug(parsed.record.event):
            return self.app_id
        return None

    def route(self, parsed: ParsedDelivery, bot_name: str | None) -> Routed:
        return route(delivery_of(parsed, self.app_id, bot_name), self.router)
