"""Predicates about the changed files: paths, counts and modified lines.

Path predicates read the policy-wide glob matches (`Scope.mask`), so a
policy with many path-scoped rules still looks at each file once. A rename
counts as both its old and its new path. When the forge truncated the file
list, the predicates fail closed and say so: `changed_files` is true,
`only_changed_files` and `no_changed_files` are false, and a count or line
bound holds only when it would hold whatever the real numbers are.
"""

from __future__ import annotations

from bot.core.policy.comparison import Bound, parse_comparison
from bot.core.policy.models import ChangedFiles, ModifiedLines, PathList
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import GlobRegistry, Predicate, Scope
from bot.core.policy.result import PredicateFacts, Result, Status, node, plural

TRUNCATED = "the forge truncated the file list ({listed} files listed)"


def _globs(patterns: list[str]) -> str:
    return ", ".join(patterns)


def _sample(paths: list[str], total: int) -> str:
    """`a.py matches` / `a.py, b.py match` / `a.py, b.py, c.py and 7 more match`."""
    text = ", ".join(paths)
    if total > len(paths):
        text = f"{text} and {total - len(paths)} more"
    return f"{text} {'matches' if total == 1 else 'match'}"


def _truncated_note(scope: Scope) -> str:
    return TRUNCATED.format(listed=len(scope.ctx.snapshot.files))


def holds_at_least(bound: Bound, value: int) -> bool:
    """Whether `bound` holds for every number >= value (the true number may be larger)."""
    if bound.op in (">", ">="):
        return bound.holds(value)
    if bound.op == "!=":
        return value > bound.limit
    return False


class ChangedFilesPredicate(Predicate):
    key = "changed_files"

    def __init__(self, model: ChangedFiles, registry: GlobRegistry) -> None:
        self.paths = list(model.paths)
        self.ignore = list(model.ignore)
        self.path_ids = registry.add_all(self.paths)
        self.ignore_ids = registry.add_all(self.ignore)
        # Worded once: every rule of a policy evaluates its paths on every evaluation.
        self._paths_words = _globs(self.paths)
        self._ignoring_words = f" (ignoring {_globs(self.ignore)})" if self.ignore else ""

    def needs(self) -> SnapshotNeeds:
        # The changed files: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        hits = scope.mask(self.path_ids)
        if hits and self.ignore_ids:
            hits &= ~scope.mask(self.ignore_ids)
        if hits:
            found = scope.paths_in(hits)
            return node(
                "predicate", self.key, Status.TRUE,
                f"{_sample(found, hits.bit_count())} {self._paths_words}{self._ignoring_words}",
                facts=PredicateFacts(evidence=tuple(found)),
            )
        if scope.ctx.snapshot.files_truncated:
            return node(
                "predicate", self.key, Status.TRUE,
                f"taken as true: {_truncated_note(scope)}, and files beyond it may match "
                f"{self._paths_words}",
                facts=PredicateFacts(truncated=True),
            )
        return node(
            "predicate", self.key, Status.FALSE,
            f"no changed file matches {self._paths_words}{self._ignoring_words}",
        )


class OnlyChangedFilesPredicate(Predicate):
    key = "only_changed_files"

    def __init__(self, model: PathList, registry: GlobRegistry) -> None:
        self.paths = list(model.paths)
        self.path_ids = registry.add_all(self.paths)

    def needs(self) -> SnapshotNeeds:
        # The changed files: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        if not scope.ctx.touched_paths:
            return node("predicate", self.key, Status.FALSE, "no files changed")
        outside = scope.all_paths_mask & ~scope.mask(self.path_ids)
        if outside:
            found = scope.paths_in(outside)
            listed = ", ".join(found)
            extra = outside.bit_count() - len(found)
            if extra:
                listed += f" and {extra} more"
            verb = "does" if outside.bit_count() == 1 else "do"
            return node(
                "predicate", self.key, Status.FALSE,
                f"{listed} {verb} not match {_globs(self.paths)}",
                facts=PredicateFacts(evidence=tuple(found)),
            )
        if scope.ctx.snapshot.files_truncated:
            return node(
                "predicate", self.key, Status.FALSE,
                f"taken as false: {_truncated_note(scope)}, and files beyond it may not match "
                f"{_globs(self.paths)}",
                facts=PredicateFacts(truncated=True),
            )
        count = len(scope.ctx.touched_paths)
        every = "the only changed file matches" if count == 1 else f"all {count} changed paths match"
        return node("predicate", self.key, Status.TRUE, f"{every} {_globs(self.paths)}")


class NoChangedFilesPredicate(Predicate):
    key = "no_changed_files"

    def __init__(self, model: PathList, registry: GlobRegistry) -> None:
        self.paths = list(model.paths)
        self.path_ids = registry.add_all(self.paths)

    def needs(self) -> SnapshotNeeds:
        # The changed files: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        hits = scope.mask(self.path_ids)
        if hits:
            found = scope.paths_in(hits)
            return node(
                "predicate", self.key, Status.FALSE,
                f"{_sample(found, hits.bit_count())} {_globs(self.paths)}",
                facts=PredicateFacts(evidence=tuple(found)),
            )
        if scope.ctx.snapshot.files_truncated:
            return node(
                "predicate", self.key, Status.FALSE,
                f"taken as false: {_truncated_note(scope)}, and files beyond it may match "
                f"{_globs(self.paths)}",
                facts=PredicateFacts(truncated=True),
            )
        return node(
            "predicate", self.key, Status.TRUE, f"no changed file matches {_globs(self.paths)}"
        )


def _judge(bound: Bound, value: int, exact: bool) -> bool:
    return bound.holds(value) if exact else holds_at_least(bound, value)


class ChangedFilesCountPredicate(Predicate):
    key = "changed_files_count"

    def __init__(self, text: str) -> None:
        self.bound = parse_comparison(text)

    def needs(self) -> SnapshotNeeds:
        # The changed files: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        snapshot = scope.ctx.snapshot
        exact = not snapshot.files_truncated or snapshot.files_count is not None
        value = scope.ctx.files_count
        holds = _judge(self.bound, value, exact)
        counted = plural(value, "file") + " changed" if exact else f"at least {value} files changed"
        note = f"; {_truncated_note(scope)}" if not exact else ""
        return node(
            "predicate", self.key, Status.TRUE if holds else Status.FALSE,
            f"{counted} (needs {self.bound}){note}",
            facts=PredicateFacts(evidence=(str(value),), truncated=not exact),
        )


class ModifiedLinesPredicate(Predicate):
    key = "modified_lines"

    def __init__(self, model: ModifiedLines) -> None:
        self.bounds: list[tuple[str, Bound]] = [
            (label, parse_comparison(text))
            for label, text in (
                ("added", model.additions),
                ("deleted", model.deletions),
                ("changed in total", model.total),
            )
            if text is not None
        ]

    def needs(self) -> SnapshotNeeds:
        # The PR's line counts: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        ctx = scope.ctx
        snapshot = ctx.snapshot
        exact = not snapshot.files_truncated or (
            snapshot.additions is not None and snapshot.deletions is not None
        )
        values = {
            "added": ctx.total_additions,
            "deleted": ctx.total_deletions,
            "changed in total": ctx.total_additions + ctx.total_deletions,
        }
        parts: list[str] = []
        holds = True
        for label, bound in self.bounds:
            value = values[label]
            ok = _judge(bound, value, exact)
            holds = holds and ok
            amount = f"{value}" if exact else f"at least {value}"
            parts.append(f"{amount} lines {label} (needs {bound})")
        note = f"; {_truncated_note(scope)}" if not exact else ""
        return node(
            "predicate", self.key, Status.TRUE if holds else Status.FALSE,
            ", ".join(parts) + note,
            facts=PredicateFacts(truncated=not exact),
        )
