"""What the scale-out benchmark (tests/bench/bench_scale.py) counts, as plain functions
over what the fake GitHub saw, so a test can check the counting itself.

- `expected_state`       — the gate's state a PR's final facts deserve
- `repeated_posts`       — the same verdict posted again on a head, one after the other
- `accepted_twice`       — events (guids) answered 202 more than once
- `refused_events`       — events refused (5xx) before any attempt was accepted, and how
                           many of them a later attempt brought back
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PullFacts:
    """What the benchmark did to one PR: the review counts only from a writer, and the
    one required check either passed, failed or has not reported yet (None)."""

    approved_by_writer: bool
    check: str | None


def expected_state(facts: PullFacts) -> str:
    """The gate's order: a failed required check fails the gate; otherwise it passes
    only with the approval and the passed check, and is pending short of either."""
    if facts.check == "failure":
        return "failure"
    if facts.approved_by_writer and facts.check == "success":
        return "success"
    return "pending"


def repeated_posts(posts: Sequence[tuple[str, str | None]]) -> int:
    """How many of a head's posts (state, description), oldest first, repeat the one just
    before: the bot posts only on change, so each is a duplicate."""
    return sum(1 for before, after in zip(posts, posts[1:], strict=False) if before == after)


def accepted_twice(attempts: Iterable[tuple[str, int]]) -> int:
    """Over every attempt (guid, status code), the 202s beyond the first per guid: a
    delivery recorded, and its work done, more than once."""
    accepted: dict[str, int] = defaultdict(int)
    for guid, status in attempts:
        if status == 202:
            accepted[guid] += 1
    return sum(count - 1 for count in accepted.values() if count > 1)


@dataclass(frozen=True)
class Refused:
    refused: int
    """Events an attempt of which was answered 5xx (or not answered) before any was accepted."""
    recovered: int
    """Of those, the ones a later attempt (a second send or a redelivery) got accepted."""

    @property
    def lost(self) -> int:
        """Of those, the ones no attempt ever got a 2xx for."""
        return self.refused - self.recovered


def refused_events(attempts: Iterable[tuple[str, int]]) -> Refused:
    """Over every attempt (guid, status code), oldest first."""
    accepted: set[str] = set()
    refused: set[str] = set()
    recovered: set[str] = set()
    for guid, status in attempts:
        if status >= 500 and guid not in accepted:
            refused.add(guid)
        elif 200 <= status < 300:
            accepted.add(guid)
            if guid in refused:
                recovered.add(guid)
    return Refused(len(refused), len(recovered))
