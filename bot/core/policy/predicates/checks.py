"""The `checks` predicate: named results passed (`success`) or failed (`failure`)."""

from __future__ import annotations

from bot.core.policy.checks import RequiredCheck
from bot.core.policy.models import ChecksPredicate as ChecksModel
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import Predicate, Scope
from bot.core.policy.result import Result, Status, join_words, node


class ChecksPredicate(Predicate):
    """`success`: each listed check passed; `failure`: at least one listed check failed.
    Both given: both must hold."""

    key = "checks"

    def __init__(self, model: ChecksModel) -> None:
        self.success = [RequiredCheck(name) for name in model.success]
        self.failure = [RequiredCheck(name) for name in model.failure]

    def needs(self) -> SnapshotNeeds:
        return SnapshotNeeds(checks=True)

    def evaluate(self, scope: Scope) -> Result:
        ctx = scope.ctx
        children: list[Result] = []
        reasons: list[str] = []
        holds = True
        if self.success:
            results = [check.evaluate(ctx) for check in self.success]
            children.extend(results)
            not_passed = [r for r in results if r.status is not Status.APPROVED]
            if not_passed:
                holds = False
                reasons.extend(r.explanation for r in not_passed)
            else:
                reasons.append(
                    f"{join_words([c.name for c in self.success])} passed"
                )
        if self.failure:
            results = [check.evaluate(ctx) for check in self.failure]
            children.extend(results)
            failed = [r for r in results if r.status is Status.FAILED]
            if failed:
                reasons.extend(r.explanation for r in failed)
            else:
                holds = False
                reasons.append(
                    f"none of {join_words([c.name for c in self.failure], 'or')} failed"
                )
        return node(
            "predicate", self.key, Status.TRUE if holds else Status.FALSE,
            "; ".join(reasons), tuple(children),
        )
