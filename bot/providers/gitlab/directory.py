"""Who may do what on GitLab: project permissions and group memberships, per person.

Only the people who matter are looked up, one request per (person, fact),
and every answer is kept in the store with an expiry
(`bot.providers.cached_directory`, provider `gitlab`):

- a username becomes a user id with `GET /users?username=` (kept per forge:
  ids never change); no such user has no permission and no membership;
- whether a commenter is a bot is `bot` of `GET /users/:id` (kept per forge):
  a service account's username follows no pattern;
- the permission is the access level of `GET /projects/:id/members/all/:user_id`
  (direct, inherited and shared-group members alike), named as the policy
  names GitHub's roles: Owner (50) = admin, Maintainer (40) = maintain,
  Developer (30) = write, Reporter (20) = triage, Guest (10) = read; below
  that (Minimal access), or a 404, is none;
- a "team" is a GitLab group path (`acme/backend`), an "organisation" a
  top-level group; membership is `GET /groups/:path/members/all/:user_id`
  answering with an active member (inherited memberships count, as GitLab
  counts them for approvals; an invitation awaiting acceptance does not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.core.snapshot import Permission
from bot.providers.cached_directory import CachedDirectory
from bot.providers.gitlab.client import GitLabClient, GitLabError, encoded, project
from bot.retry import RetryPolicy
from bot.store import Store, directory_cache

PROVIDER = "gitlab"
_ROLES: tuple[tuple[int, Permission], ...] = (
    (50, "admin"),
    (40, "maintain"),
    (30, "write"),
    (20, "triage"),
    (10, "read"),
)


def permission_from(access_level: Any) -> Permission:
    """A GitLab access level → the policy's permission name."""
    try:
        level = int(access_level)
    except (TypeError, ValueError):
        return "none"
    for floor, permission in _ROLES:
        if level >= floor:
            return permission
    return "none"


def _active(member: Mapping[str, Any]) -> bool:
    return str(member.get("state") or "active") == "active"


class UserIds:
    """Usernames → GitLab user ids, for the life of the forge; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, int | None] = {}
        self._bots: dict[str, bool] = {}

    def get(self, username: str, fetch: Callable[[str], int | None]) -> int | None:
        key = username.lower()
        with self._lock:
            if key in self._known:
                return self._known[key]
        found = fetch(username)
        with self._lock:
            self._known[key] = found
        return found

    def bot(self, username: str, fetch: Callable[[str], bool]) -> bool:
        """Whether the user is a bot (a user's kind never changes either)."""
        key = username.lower()
        with self._lock:
            if key in self._bots:
                return self._bots[key]
        found = fetch(username)
        with self._lock:
            self._bots[key] = found
        return found


class DirectoryReader(CachedDirectory[GitLabClient]):
    """Directory facts through the store's cache, read with one evaluation's client."""

    provider = PROVIDER

    def __init__(
        self,
        client: GitLabClient,
        store: Store,
        read: RetryPolicy,
        user_ids: UserIds,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(client, store, read, ttl_seconds=ttl_seconds, clock=clock)
        self.user_ids = user_ids

    # -- single facts ----------------------------------------------------------

    def user_id(self, username: str) -> int | None:
        def fetch(name: str) -> int | None:
            found = self.retry.call(
                lambda: self.client.json("get", "/users", query={"username": name}),
                what="GET user by username",
            )
            for user in found or ():
                if str(user.get("username", "")).lower() == name.lower():
                    return int(user["id"])
            return None

        return self.user_ids.get(username, fetch)

    def is_bot(self, username: str) -> bool:
        """GitLab's own word (`bot` of `GET /users/:id`): access tokens' users and service
        accounts, whatever their username."""

        def fetch(name: str) -> bool:
            user = self.user_id(name)
            found = self._member(f"/users/{user}", "GET user") if user is not None else None
            return bool(found and found.get("bot"))

        return self.user_ids.bot(username, fetch)

    def _member(self, path: str, what: str) -> Mapping[str, Any] | None:
        try:
            found = self.retry.call(lambda: self.client.json("get", path), what=what)
        except GitLabError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, Mapping) else None

    def fetch_permission(self, repo: str, username: str) -> Permission:
        user = self.user_id(username)
        if user is None:
            return "none"
        member = self._member(f"{project(repo)}/members/all/{user}", "GET project member")
        if member is None or not _active(member):
            return "none"
        return permission_from(member.get("access_level"))

    def fetch_group_membership(self, group: str, username: str) -> bool:
        user = self.user_id(username)
        if user is None:
            return False
        member = self._member(
            f"/groups/{encoded(group)}/members/all/{user}", "GET group member"
        )
        return member is not None and _active(member)

    # -- cached, for several people --------------------------------------------

    def group_members(self, kind: str, group: str, usernames: Iterable[str]) -> tuple[str, ...]:
        """The members of `group`, cached as a team's or an organisation's (`kind`)."""
        return self.members(
            kind, group, usernames, lambda name: self.fetch_group_membership(group, name)
        )

    def team_members(self, team: str, usernames: Iterable[str]) -> tuple[str, ...]:
        return self.group_members(directory_cache.TEAM, team, usernames)

    def org_members(self, org: str, usernames: Iterable[str]) -> tuple[str, ...]:
        return self.group_members(directory_cache.ORG, org, usernames)
