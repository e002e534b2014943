"""Other PRs judged under today's policy and under a proposed one (pure).

The shell hands over the snapshots it keeps of the open PRs and the two sets
of policies (`Policies`: the repository's policy, or the problems that make
it unusable, beside the operator's floor); `impact` evaluates every PR under
both, exactly as the gate would (`evaluate` then `decide`), and keeps those
whose state would change. `outcome` is one PR under both, for a table of
every PR (`gatebot simulate`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.gate import Decision, decide
from bot.core.impact import Impact, PullChange, ordered
from bot.core.policy.evaluate import evaluate
from bot.core.policy.models import Policy
from bot.core.policy.problems import Problem
from bot.core.snapshot import Actor, Directory, Review, Snapshot


@dataclass(frozen=True, slots=True)
class Policies:
    """What judges a PR: the repository's policy (or why it cannot be used) and the floor."""

    policy: Policy | None
    floor: Policy | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredPull:
    """An open PR as the bot last read it."""

    repo: str
    snapshot: Snapshot
    proposed: Snapshot | None = None
    """The PR as it would be once the change lands, when the change is to a file its
    snapshot holds (CODEOWNERS); None: the same."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One PR's decision under today's policies and under the proposed ones."""

    pull: StoredPull
    before: Decision
    after: Decision

    @property
    def changed(self) -> bool:
        return self.before.state != self.after.state

    def change(self) -> PullChange:
        return PullChange(
            repo=self.pull.repo,
            number=self.pull.snapshot.number,
            before=self.before.state,
            after=self.after.state,
            missing=newly_missing(self.before, self.after),
        )


def judge(snapshot: Snapshot, policies: Policies) -> Decision:
    """The gate's decision on `snapshot` under `policies`."""
    evaluation = evaluate(
        policies.policy, snapshot, policies.floor, policy_errors=policies.problems
    )
    return decide(evaluation, snapshot)


def outcome(pull: StoredPull, current: Policies, proposed: Policies) -> Outcome:
    after = pull.proposed if pull.proposed is not None else pull.snapshot
    return Outcome(pull, judge(pull.snapshot, current), judge(after, proposed))


def with_approval(snapshot: Snapshot, login: str, directory: Directory) -> Snapshot:
    """`snapshot` as if `login` had just approved its head (`gatebot simulate
    --as-approved-by`), with `directory` (their roles and teams) merged in."""
    approval = Review(
        id=f"simulated-{login}",
        author=Actor(login=login),
        state="APPROVED",
        commit_sha=snapshot.head_sha,
        submitted_at=snapshot.evaluated_at,
    )
    known = snapshot.directory
    merged = Directory(
        teams={**known.teams, **{
            team: tuple(dict.fromkeys((*known.teams.get(team, ()), *members)))
            for team, members in directory.teams.items()
        }},
        organizations={**known.organizations, **{
            org: tuple(dict.fromkeys((*known.organizations.get(org, ()), *members)))
            for org, members in directory.organizations.items()
        }},
        permissions={**known.permissions, **directory.permissions},
    )
    return snapshot.model_copy(
        update={"reviews": (*snapshot.reviews, approval), "directory": merged}
    )


def newly_missing(before: Decision, after: Decision) -> tuple[str, ...]:
    """What `after` misses that `before` did not (all it misses when nothing is new)."""
    if not after.blockers:
        return ()
    known = set(before.blockers)
    fresh = tuple(dict.fromkeys(b for b in after.blockers if b not in known))
    return fresh or tuple(dict.fromkeys(after.blockers))


def impact(
    base_ref: str, current: Policies, proposed: Policies, pulls: Iterable[StoredPull]
) -> Impact:
    """Every PR of `pulls` whose state would change from `current` to `proposed`,
    most severe first."""
    evaluated = 0
    changes: list[PullChange] = []
    for pull in pulls:
        evaluated += 1
        found = outcome(pull, current, proposed)
        if found.changed:
            changes.append(found.change())
    return Impact(base_ref=base_ref, evaluated=evaluated, changes=ordered(changes))


__all__ = [
    "Outcome",
    "Policies",
    "StoredPull",
    "impact",
    "judge",
    "newly_missing",
    "outcome",
    "with_approval",
]
