"""What every predicate shares: the `Predicate` interface and the evaluation scope.

Predicates are compiled once per policy (globs and regexes prepared up
front) and evaluated against a `Scope`: the snapshot's derived facts plus the
path-glob matches of the whole policy, computed in one pass over the files.
Each predicate also declares what it needs read from the forge (`needs`),
so what an evaluation reads is always what its predicates evaluate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from functools import cached_property

from bot.core.pathmatch import PathMatcher
from bot.core.policy.context import Context
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.result import Result


class GlobRegistry:
    """Every distinct path glob of a policy, numbered, matched together."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._matcher: PathMatcher | None = None

    def add(self, pattern: str) -> int:
        if self._matcher is not None:
            raise RuntimeError("the registry is frozen once the policy is prepared")
        return self._ids.setdefault(pattern, len(self._ids))

    def add_all(self, patterns: Iterable[str]) -> tuple[int, ...]:
        return tuple(self.add(p) for p in patterns)

    @property
    def matcher(self) -> PathMatcher:
        if self._matcher is None:
            self._matcher = PathMatcher(list(self._ids))
        return self._matcher


class Scope:
    """One snapshot seen through one prepared policy."""

    def __init__(self, ctx: Context, registry: GlobRegistry) -> None:
        self.ctx = ctx
        self.registry = registry

    @cached_property
    def _masks(self) -> tuple[int, ...]:
        return self.registry.matcher.masks(self.ctx.touched_paths)

    def mask(self, ids: Iterable[int]) -> int:
        """Bit i set: touched path i matches at least one of the globs `ids`."""
        masks = self._masks
        combined = 0
        for i in ids:
            combined |= masks[i]
        return combined

    @cached_property
    def all_paths_mask(self) -> int:
        return (1 << len(self.ctx.touched_paths)) - 1

    def paths_in(self, mask: int, limit: int = 3) -> list[str]:
        """The first `limit` touched paths whose bits are set in `mask`."""
        paths = self.ctx.touched_paths
        found: list[str] = []
        while mask and len(found) < limit:
            lowest = mask & -mask
            found.append(paths[lowest.bit_length() - 1])
            mask ^= lowest
        return found


class Predicate(ABC):
    """A compiled predicate: evaluates to a `Result` whose status is TRUE or FALSE."""

    key: str

    @abstractmethod
    def evaluate(self, scope: Scope) -> Result: ...

    @abstractmethod
    def needs(self) -> SnapshotNeeds:
        """What this predicate reads beyond the PR, its files, commits and reviews
        (`SnapshotNeeds()` when nothing more)."""
