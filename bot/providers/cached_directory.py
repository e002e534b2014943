"""Directory facts — permissions and memberships — through the store's cache, on every forge.

A forge answers one question per (person, fact): what may this person do in
this repository, is this person in this team or organisation (on GitLab: a
group). `CachedDirectory` asks only about the people not already known,
keeps every answer in `bot.store.directory_cache` under the forge's provider
name with an expiry, and assembles the `Directory` the core reads. Each
forge subclasses it with its provider name and the single-fact requests
(`fetch_permission`, and membership through `team_members` / `org_members`).

Names compare case-insensitively: the cache keys are folded, the answers are
given back under the spelling the caller used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar, Generic, TypeVar, get_args

from bot.core.snapshot import Directory, Permission
from bot.retry import RetryPolicy
from bot.store import Store, directory_cache

ClientT = TypeVar("ClientT")

MEMBER = "member"
NOT_MEMBER = "none"
PERMISSIONS: frozenset[str] = frozenset(get_args(Permission))


def as_permission(value: str) -> Permission:
    """A cached value as a permission; anything unknown is none."""
    return value if value in PERMISSIONS else "none"  # type: ignore[return-value]


class CachedDirectory(Generic[ClientT]):
    """Directory facts for one evaluation's client, through the store's cache."""

    provider: ClassVar[str]
    fetch_folded: ClassVar[bool] = False
    """Ask the forge with the folded name rather than the caller's spelling."""

    def __init__(
        self,
        client: ClientT,
        store: Store,
        read: RetryPolicy,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.store = store
        self.retry = read
        self.ttl = ttl_seconds
        self.clock = clock

    # -- single facts, one request each (the forge's) ---------------------------

    def fetch_permission(self, repo: str, name: str) -> Permission:
        raise NotImplementedError

    def team_members(self, team: str, names: Iterable[str]) -> tuple[str, ...]:
        raise NotImplementedError

    def org_members(self, org: str, names: Iterable[str]) -> tuple[str, ...]:
        raise NotImplementedError

    # -- cached, for several people --------------------------------------------

    def permissions(self, repo: str, names: Iterable[str]) -> dict[str, Permission]:
        found = self._cached(
            directory_cache.PERMISSION, repo, names, lambda name: self.fetch_permission(repo, name)
        )
        return {name: as_permission(value) for name, value in found.items()}

    def members(
        self, kind: str, scope: str, names: Iterable[str], is_member: Callable[[str], bool]
    ) -> tuple[str, ...]:
        """The folded names among `names` that `is_member` (cached) says belong to `scope`."""
        found = self._cached(
            kind, scope, names, lambda name: MEMBER if is_member(name) else NOT_MEMBER
        )
        return tuple(sorted(name for name, value in found.items() if value == MEMBER))

    def directory(
        self,
        repo: str,
        people: Iterable[str],
        teams: Iterable[str] = (),
        organizations: Iterable[str] = (),
    ) -> Directory:
        """The facts the evaluation needs about `people` (names as the forge spells them)."""
        by_key = {name.lower(): name for name in people}
        if not by_key:
            # Listed with no members: the core then knows the team is empty
            # rather than unknown.
            return Directory(
                teams={team: () for team in teams},
                organizations={org: () for org in organizations},
            )
        spelled = list(by_key.values())
        permissions = self.permissions(repo, spelled)
        return Directory(
            teams={
                team: tuple(by_key[m] for m in self.team_members(team, spelled)) for team in teams
            },
            organizations={
                org: tuple(by_key[m] for m in self.org_members(org, spelled))
                for org in organizations
            },
            permissions={by_key[name]: perm for name, perm in permissions.items()},
        )

    def _cached(
        self, kind: str, scope: str, names: Iterable[str], fetch: Callable[[str], str]
    ) -> dict[str, str]:
        """Folded name → answer, fetching (in folded order) only what the cache lacks."""
        spelled = {name.lower(): name for name in names}
        if self.fetch_folded:
            spelled = {key: key for key in spelled}
        now = self.clock()
        with self.store.begin() as conn:
            known = directory_cache.lookup(conn, self.provider, kind, scope, sorted(spelled), now)
        fetched = {key: fetch(name) for key, name in sorted(spelled.items()) if key not in known}
        if fetched:
            with self.store.begin() as conn:
                for key, value in fetched.items():
                    directory_cache.remember(
                        conn, self.provider, kind, scope, key, value, now, self.ttl
                    )
        return {**known, **fetched}
