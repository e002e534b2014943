"""Predicates about branch names: the PR's base (target) and head (source) branches."""

from __future__ import annotations

from bot.core.globs import compile_ref_glob
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import Predicate, Scope
from bot.core.policy.result import PredicateFacts, Result, Status, node


class _BranchPredicate(Predicate):
    role = ""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = list(patterns)
        self.globs = [compile_ref_glob(p) for p in patterns]

    def branch(self, scope: Scope) -> str:
        raise NotImplementedError

    def needs(self) -> SnapshotNeeds:
        # Both branch names come with the PR.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        name = self.branch(scope)
        for pattern, glob in zip(self.patterns, self.globs, strict=True):
            if glob.matches(name):
                return node(
                    "predicate", self.key, Status.TRUE,
                    f"{self.role} branch {name} matches {pattern}",
                    facts=PredicateFacts(evidence=(name,)),
                )
        return node(
            "predicate", self.key, Status.FALSE,
            f"{self.role} branch {name} does not match {', '.join(self.patterns)}",
            facts=PredicateFacts(evidence=(name,)),
        )


class TargetBranchPredicate(_BranchPredicate):
    key = "target_branch"
    role = "target"

    def branch(self, scope: Scope) -> str:
        return scope.ctx.snapshot.base_ref


class SourceBranchPredicate(_BranchPredicate):
    key = "source_branch"
    role = "source"

    def branch(self, scope: Scope) -> str:
        return scope.ctx.snapshot.head_ref
