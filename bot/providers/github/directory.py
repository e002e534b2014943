"""Who may do what: repository permissions, team and organisation memberships, per person.

Only the people who matter are looked up (reviewers and commenters whose
actions can count, the author when the policy asks about them), one request
per (person, fact), and every answer is kept in the store with an expiry
(`bot.store.directory_cache`, through `bot.providers.cached_directory`),
which the webhook routing drops early on `member`, `membership`, `team` and
`organization` events.

Permissions come from the collaborator's `role_name`: `permission` folds
maintain into write and triage into read. A custom role's name says nothing
about its strength, so it falls back to the strongest of the `user.permissions`
flags GitHub sends with it (admin, maintain, push, triage, pull), else to the
folded `permission`. A 404 (no such user, no access) is `none`.

Team membership counts only when `active` (a pending invitation does not).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from github import Github, GithubException

from bot.core.snapshot import Permission
from bot.providers.cached_directory import CachedDirectory
from bot.store import directory_cache

log = logging.getLogger(__name__)

PROVIDER = "github"
ROLES: tuple[Permission, ...] = ("admin", "maintain", "write", "triage", "read")
# The `user.permissions` flag of each role, strongest first.
_FLAGS: tuple[tuple[Permission, str], ...] = (
    ("admin", "admin"),
    ("maintain", "maintain"),
    ("write", "push"),
    ("triage", "triage"),
    ("read", "pull"),
)
_FOLDED: Mapping[str, Permission] = {"admin": "admin", "write": "write", "read": "read"}


def permission_from(data: Mapping[str, Any]) -> Permission:
    """A `repos/get-collaborator-permission-level` answer → the person's permission."""
    role = str(data.get("role_name") or "").lower()
    if role in ROLES:
        return role  # type: ignore[return-value]
    user = data.get("user")
    flags = user.get("permissions") if isinstance(user, Mapping) else None
    if isinstance(flags, Mapping):
        for permission, flag in _FLAGS:
            if flags.get(flag):
                return permission
    return _FOLDED.get(str(data.get("permission") or "").lower(), "none")


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


class DirectoryReader(CachedDirectory[Github]):
    """Directory facts for one installation, through the store's cache."""

    provider = PROVIDER
    fetch_folded = True  # GitHub answers for any spelling of a login

    # -- single facts ----------------------------------------------------------

    def fetch_permission(self, repo: str, login: str) -> Permission:
        path = f"/repos/{repo}/collaborators/{_quote(login)}/permission"
        try:
            _, data = self.retry.call(
                lambda: self.client.requester.requestJsonAndCheck("GET", path),
                what="GET collaborator permission",
            )
        except GithubException as exc:
            if exc.status == 404:
                return "none"
            raise
        return permission_from(data)

    def fetch_team_membership(self, team: str, login: str) -> bool:
        org, _, slug = team.partition("/")
        path = f"/orgs/{_quote(org)}/teams/{_quote(slug)}/memberships/{_quote(login)}"
        try:
            _, data = self.retry.call(
                lambda: self.client.requester.requestJsonAndCheck("GET", path),
                what="GET team membership",
            )
        except GithubException as exc:
            # 404, with or without a body: no membership.
            if exc.status == 404:
                return False
            raise
        return isinstance(data, Mapping) and data.get("state") == "active"

    def fetch_org_membership(self, org: str, login: str) -> bool:
        path = f"/orgs/{_quote(org)}/members/{_quote(login)}"
        requester = self.client.requester

        def ask() -> int:
            status, headers, output = requester.requestJson("GET", path)
            if status >= 400 and status != 404:
                body = json.loads(output) if isinstance(output, str) and output else {}
                raise requester.createException(status, headers, body)
            return status

        status = self.retry.call(ask, what="GET organisation membership")
        if status == 302:
            # GitHub redirects callers who cannot see private membership; the App
            # lacks `members: read`, so membership cannot be confirmed.
            log.warning("membership of %s in %s cannot be read (302): counted as none", login, org)
        return status == 204

    # -- cached, for several people --------------------------------------------

    def team_members(self, team: str, logins: Iterable[str]) -> tuple[str, ...]:
        return self.members(
            directory_cache.TEAM, team, logins, lambda login: self.fetch_team_membership(team, login)
        )

    def org_members(self, org: str, logins: Iterable[str]) -> tuple[str, ...]:
        return self.members(
            directory_cache.ORG, org, logins, lambda login: self.fetch_org_membership(org, login)
        )
