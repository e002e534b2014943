"""What a proposed policy would change: every other open PR's verdict under today's
policy and under the proposed one, as values.

`PullChange` is one PR whose verdict would change; `Impact` the whole list,
most severe change first (a PR that passes today and would fail comes before
one that would only wait, and every PR that would get worse comes before one
that would get better). `ImpactCounts` is the same impact told in numbers
only — the form shown where the PRs it counts may belong to repositories the
reader is not allowed to see (the owner-wide policy's repository). The
evaluation itself is `bot.core.simulate`; the text, `bot.core.impact_render`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bot.core.gate_state import GateState


@dataclass(frozen=True, slots=True)
class PullChange:
    """One PR whose verdict the proposed policy would change."""

    repo: str
    number: int
    before: GateState
    after: GateState
    missing: tuple[str, ...]
    """What the PR would miss under the proposed policy that it does not miss today
    (all it would miss when nothing is new); empty when it would pass."""

    @property
    def worse(self) -> bool:
        return self.after > self.before

    def severity_key(self) -> tuple[int, int, int, str, int]:
        """Sort key, most severe first: worsening before improving; among the worsening,
        the worst outcome from the best start first (success → failure leads)."""
        if self.worse:
            return (0, -self.after.rank, self.before.rank, self.repo.lower(), self.number)
        return (1, self.after.rank, -self.before.rank, self.repo.lower(), self.number)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "number": self.number,
            "before": self.before.value,
            "after": self.after.value,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class ImpactCounts:
    """An impact in numbers only: no repository, PR, title or person is named."""

    evaluated: int
    """Open PRs evaluated under both policies."""
    changed: int
    repositories: int
    """Repositories holding at least one PR that would change."""
    by_outcome: tuple[tuple[GateState, int], ...]
    """How many changed PRs end in each state, most changed first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "counts",
            "evaluated": self.evaluated,
            "changed": self.changed,
            "repositories": self.repositories,
            "by_outcome": [[state.value, count] for state, count in self.by_outcome],
        }


@dataclass(frozen=True, slots=True)
class Impact:
    """Every PR whose verdict the proposed policy would change, most severe first."""

    base_ref: str
    evaluated: int
    """Open PRs evaluated under both policies."""
    changes: tuple[PullChange, ...]

    def counts(self) -> ImpactCounts:
        """The same impact with every name left out."""
        outcomes = Counter(change.after for change in self.changes)
        return ImpactCounts(
            evaluated=self.evaluated,
            changed=len(self.changes),
            repositories=len({change.repo.lower() for change in self.changes}),
            by_outcome=tuple(
                sorted(outcomes.items(), key=lambda item: (-item[1], item[0].rank))
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pulls",
            "base_ref": self.base_ref,
            "evaluated": self.evaluated,
            "changes": [change.to_dict() for change in self.changes],
        }


def from_dict(data: dict[str, Any]) -> Impact | ImpactCounts:
    """An impact kept as `to_dict` wrote it (the details page reads it back)."""
    if data.get("kind") == "counts":
        return ImpactCounts(
            evaluated=int(data["evaluated"]),
            changed=int(data["changed"]),
            repositories=int(data["repositories"]),
            by_outcome=tuple((GateState(s), int(n)) for s, n in data["by_outcome"]),
        )
    return Impact(
        base_ref=str(data["base_ref"]),
        evaluated=int(data["evaluated"]),
        changes=tuple(
            PullChange(
                repo=str(c["repo"]),
                number=int(c["number"]),
                before=GateState(c["before"]),
                after=GateState(c["after"]),
                missing=tuple(str(m) for m in c["missing"]),
            )
            for c in data["changes"]
        ),
    )


def ordered(changes: list[PullChange]) -> tuple[PullChange, ...]:
    """`changes` most severe first."""
    return tuple(sorted(changes, key=PullChange.severity_key))


__all__ = ["Impact", "ImpactCounts", "PullChange", "from_dict", "ordered"]
