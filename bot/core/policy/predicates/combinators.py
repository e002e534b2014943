"""Combining predicates: `all`, `any`, `not`, and a condition with several keys.

A condition mapping holds when every key given holds (an implicit `all`).
`all` and `any` stop at the first child that decides them, so a user reads
the predicate that decided, not a list of everything evaluated.
"""

from __future__ import annotations

from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import Predicate, Scope
from bot.core.policy.result import Result, Status, node


class AllPredicate(Predicate):
    key = "all"

    def __init__(self, children: list[Predicate], key: str = "all") -> None:
        self.children = children
        self.key = key

    def needs(self) -> SnapshotNeeds:
        return SnapshotNeeds.union(child.needs() for child in self.children)

    def evaluate(self, scope: Scope) -> Result:
        results: list[Result] = []
        for child in self.children:
            result = child.evaluate(scope)
            results.append(result)
            if result.status is Status.FALSE:
                return node("predicate", self.key, Status.FALSE,
                            _named(result), tuple(results))
        return node("predicate", self.key, Status.TRUE,
                    "; ".join([_named(r) for r in results]), tuple(results))


class AnyPredicate(Predicate):
    key = "any"

    def __init__(self, children: list[Predicate]) -> None:
        self.children = children

    def needs(self) -> SnapshotNeeds:
        return SnapshotNeeds.union(child.needs() for child in self.children)

    def evaluate(self, scope: Scope) -> Result:
        results: list[Result] = []
        for child in self.children:
            result = child.evaluate(scope)
            results.append(result)
            if result.status is Status.TRUE:
                return node("predicate", self.key, Status.TRUE, _named(result), tuple(results))
        return node("predicate", self.key, Status.FALSE,
                    "none holds: " + "; ".join(_named(r) for r in results), tuple(results))


class NotPredicate(Predicate):
    key = "not"

    def __init__(self, child: Predicate) -> None:
        self.child = child

    def needs(self) -> SnapshotNeeds:
        return self.child.needs()

    def evaluate(self, scope: Scope) -> Result:
        result = self.child.evaluate(scope)
        status = Status.FALSE if result.status is Status.TRUE else Status.TRUE
        return node("predicate", self.key, status, f"not: {_named(result)}", (result,))


def _named(result: Result) -> str:
    if result.name in ("all", "any", "not", "if", "conditions"):
        return result.explanation
    return f"{result.name}: {result.explanation}"
