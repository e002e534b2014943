"""The merge methods a repository allows, read once and kept for a while, on every forge.

The merge step asks, before each merge, whether the policy's method is
allowed. The answer lives in the repository's (GitHub) or project's
(GitLab) settings, which rarely change: `MergeMethods` keeps it per process
for `ttl_seconds` (the forge cache's lifetime). Each forge subclasses it
with `methods_of`, which turns its settings object into gatebot's method
names (`merge`, `squash`, `rebase`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any


class MergeMethods:
    """The allowed merge methods per repository, cached for `ttl_seconds`; thread-safe."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], datetime]) -> None:
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[frozenset[str], datetime]] = {}

    @staticmethod
    def methods_of(settings: Mapping[str, Any]) -> frozenset[str]:
        """The forge's repository settings → gatebot's merge method names."""
        raise NotImplementedError

    def get(self, repo: str, read: Callable[[], Mapping[str, Any]]) -> frozenset[str]:
        """The methods `repo` allows; `read()` fetches its settings when the cache has none."""
        now = self.clock()
        with self._lock:
            cached = self._known.get(repo.lower())
        if cached is not None and cached[1] > now - self.ttl:
            return cached[0]
        methods = self.methods_of(read())
        with self._lock:
            self._known[repo.lower()] = (methods, now)
        return methods
