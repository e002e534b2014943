"""Many path globs against many paths in one pass, as bit masks.

A policy may hold dozens of path-scoped rules and a PR thousands of files;
testing each file against each rule in Python would cost files × rules calls.
Instead every distinct glob of the policy goes into one `PathGlobSet`, each
path is matched once, and the answer is kept as one integer per glob whose
bit i says "path i matches". Predicates then combine masks with `|`, `&`, `~`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from bot.core.globs import PathGlobSet


class PathMatcher:
    """A fixed list of gitignore-style globs, matched together."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._set = PathGlobSet(self.patterns) if self.patterns else None

    def masks(self, paths: Sequence[str]) -> tuple[int, ...]:
        """One mask per glob: bit i set when paths[i] matches that glob."""
        return _masks(self, tuple(paths))

    def _match_all(self, paths: Sequence[str]) -> tuple[int, ...]:
        if self._set is None:
            return (0,) * len(self.patterns)
        return tuple(_mask(indices, len(paths)) for indices in self._set.matching_paths(paths))


# A PR is evaluated again on every review, check and push, with the same policy and
# the same files: a bounded memo of this pure function, keyed by the matcher (one per
# prepared policy) and the paths, spares matching thousands of paths each time.
@lru_cache(maxsize=32)
def _masks(matcher: PathMatcher, paths: tuple[str, ...]) -> tuple[int, ...]:
    return matcher._match_all(paths)


def _mask(indices: list[int], size: int) -> int:
    if len(indices) < 64:
        mask = 0
        for i in indices:
            mask |= 1 << i
        return mask
    # Many hits: set the bits in a byte buffer rather than growing a big int.
    buffer = bytearray((size + 7) // 8)
    for i in indices:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")
