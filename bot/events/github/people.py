"""Who may approve changed: `member`, `membership`, `team`, `organization`.

Each drops the directory facts it makes stale (`invalidation.on_*`) and
marks the open PRs the store knows in the affected repositories, since a
membership or a permission can turn an approval into a counted one or back:

- `member` (a collaborator added, removed, edited): the person's permission
  in the repository; that repository's open PRs.
- `membership` (added to / removed from a team): the person's team
  membership and permissions in the organisation; the organisation's open PRs.
- `team` (edited, deleted, given or denied a repository): the team's
  memberships and the organisation's permissions; that repository's open PRs
  when the event names one, else the organisation's. A team just created has
  no members yet: its cached absence is dropped, nothing is marked.
- `organization` member_added / member_removed: everything about the person
  in the organisation; the organisation's open PRs.
"""

from __future__ import annotations

from bot.events.effects import (
    DropCollaborator,
    DropOrgMember,
    DropTeam,
    DropTeamMember,
    MarkOwner,
    MarkRepo,
)
from bot.events.github import readers
from bot.events.github.delivery import Delivery
from bot.events.payload import text
from bot.events.router import Routed, Router, do, ignore

router = Router()


@router.register("member", "added", "removed", "edited")
def member(d: Delivery) -> Routed:
    login = readers.login(d.get("member"))
    if d.repo is None or login is None:
        return ignore("the payload names no repository or member")
    return do(DropCollaborator(d.repo, login), MarkRepo(d.repo))


@router.register("membership", "added", "removed")
def membership(d: Delivery) -> Routed:
    org = readers.login(d.get("organization"))
    team = text(d.get("team", "slug"))
    login = readers.login(d.get("member"))
    if org is None or team is None or login is None:
        return ignore("the payload names no organisation, team or member")
    return do(DropTeamMember(org, team, login), MarkOwner(org))


@router.register(
    "team", "created", "deleted", "edited", "added_to_repository", "removed_from_repository"
)
def team(d: Delivery) -> Routed:
    org = readers.login(d.get("organization"))
    slug = text(d.get("team", "slug"))
    if org is None or slug is None:
        return ignore("the payload names no organisation or team")
    drop = DropTeam(org, slug)
    if d.action == "created":
        return ignore("a new team has no members yet", drop)
    return do(drop, MarkRepo(d.repo) if d.repo is not None else MarkOwner(org))


@router.register("organization", "member_added", "member_removed")
def organization(d: Delivery) -> Routed:
    org = readers.login(d.get("organization"))
    login = readers.login(d.get("membership", "user"))
    if org is None or login is None:
        return ignore("the payload names no organisation or member")
    return do(DropOrgMember(org, login), MarkOwner(org))
