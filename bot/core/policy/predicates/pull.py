"""Predicates about the pull request itself: labels, title and draft state."""

from __future__ import annotations

from bot.core.policy.context import fold
from bot.core.policy.models import LabelPredicate
from bot.core.policy.models import TitlePredicate as TitleModel
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import Predicate, Scope
from bot.core.policy.result import PredicateFacts, Result, Status, join_words, node
from bot.core.regex import compile_regex


class LabelsPredicate(Predicate):
    """`labels {all, any, none}`, case-insensitive; every given list must hold."""

    key = "labels"

    def __init__(self, model: LabelPredicate) -> None:
        self.all = list(model.all)
        self.any = list(model.any)
        self.none = list(model.none)

    def needs(self) -> SnapshotNeeds:
        # Labels come with the PR.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        present = scope.ctx.labels
        failures: list[str] = []
        reasons: list[str] = []
        if self.all:
            missing = [label for label in self.all if fold(label) not in present]
            if missing:
                failures.append(f"label {join_words(missing)} {_is_are(missing)} missing")
            else:
                reasons.append(f"label {join_words(self.all)} {_is_are(self.all)} present")
        if self.any:
            found = [label for label in self.any if fold(label) in present]
            if found:
                reasons.append(f"label {found[0]} is present")
            else:
                failures.append(f"none of the labels {join_words(self.any, 'or')} is present")
        if self.none:
            found = [label for label in self.none if fold(label) in present]
            if found:
                failures.append(f"label {join_words(found)} {_is_are(found)} present")
            else:
                reasons.append(f"none of the labels {join_words(self.none, 'or')} is present")
        evidence = tuple(sorted(scope.ctx.snapshot.labels))
        if failures:
            return node("predicate", self.key, Status.FALSE, "; ".join(failures),
                        facts=PredicateFacts(evidence=evidence))
        return node("predicate", self.key, Status.TRUE, "; ".join(reasons),
                    facts=PredicateFacts(evidence=evidence))


def _is_are(items: list[str]) -> str:
    return "is" if len(items) == 1 else "are"


class TitlePredicate(Predicate):
    """`title {matches, not_matches}` with RE2 regexes, searched."""

    key = "title"

    def __init__(self, model: TitleModel) -> None:
        self.matches = [(p, compile_regex(p)) for p in model.matches]
        self.not_matches = [(p, compile_regex(p)) for p in model.not_matches]

    def needs(self) -> SnapshotNeeds:
        # The title comes with the PR.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        title = scope.ctx.snapshot.title
        reasons: list[str] = []
        if self.matches:
            hit = next((p for p, rx in self.matches if rx.search(title)), None)
            if hit is None:
                patterns = join_words([p for p, _ in self.matches], "or")
                return node("predicate", self.key, Status.FALSE,
                            f"the title does not match {patterns}")
            reasons.append(f"the title matches {hit}")
        if self.not_matches:
            hit = next((p for p, rx in self.not_matches if rx.search(title)), None)
            if hit is not None:
                return node("predicate", self.key, Status.FALSE, f"the title matches {hit}")
            patterns = join_words([p for p, _ in self.not_matches], "or")
            reasons.append(f"the title does not match {patterns}")
        return node("predicate", self.key, Status.TRUE, "; ".join(reasons))


class DraftPredicate(Predicate):
    key = "draft"

    def __init__(self, expected: bool) -> None:
        self.expected = expected

    def needs(self) -> SnapshotNeeds:
        # The draft flag comes with the PR.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        draft = scope.ctx.snapshot.draft
        return node(
            "predicate", self.key, Status.TRUE if draft == self.expected else Status.FALSE,
            "the PR is a draft" if draft else "the PR is not a draft",
        )
