"""Predicates of the policy language, one module per family, compiled once per policy.

`compile_predicates(model, registry)` turns a `Predicates` model (an `if`,
`requires.conditions` or `disapproval.if`) into a `Predicate`; its path globs
join the policy's `GlobRegistry` so all of them are matched in one pass.
"""

from __future__ import annotations

from bot.core.policy.models import Predicates
from bot.core.policy.predicates.authors import AuthorInPredicate, OnlyContributorPredicate
from bot.core.policy.predicates.base import GlobRegistry, Predicate, Scope
from bot.core.policy.predicates.branches import SourceBranchPredicate, TargetBranchPredicate
from bot.core.policy.predicates.checks import ChecksPredicate
from bot.core.policy.predicates.combinators import AllPredicate, AnyPredicate, NotPredicate
from bot.core.policy.predicates.files import (
    ChangedFilesCountPredicate,
    ChangedFilesPredicate,
    ModifiedLinesPredicate,
    NoChangedFilesPredicate,
    OnlyChangedFilesPredicate,
)
from bot.core.policy.predicates.pull import DraftPredicate, LabelsPredicate, TitlePredicate

__all__ = ["GlobRegistry", "Predicate", "Scope", "compile_predicates"]


def compile_predicates(model: Predicates, registry: GlobRegistry, key: str = "all") -> Predicate:
    """Compile a condition; several keys combine as `all`, in the order the model lists them."""
    parts: list[Predicate] = []
    if model.changed_files is not None:
        parts.append(ChangedFilesPredicate(model.changed_files, registry))
    if model.only_changed_files is not None:
        parts.append(OnlyChangedFilesPredicate(model.only_changed_files, registry))
    if model.no_changed_files is not None:
        parts.append(NoChangedFilesPredicate(model.no_changed_files, registry))
    if model.changed_files_count is not None:
        parts.append(ChangedFilesCountPredicate(model.changed_files_count))
    if model.modified_lines is not None:
        parts.append(ModifiedLinesPredicate(model.modified_lines))
    if model.author is not None:
        parts.append(AuthorInPredicate(model.author))
    if model.author_is_only_contributor is not None:
        parts.append(OnlyContributorPredicate(model.author_is_only_contributor))
    if model.target_branch is not None:
        parts.append(TargetBranchPredicate(model.target_branch))
    if model.source_branch is not None:
        parts.append(SourceBranchPredicate(model.source_branch))
    if model.labels is not None:
        parts.append(LabelsPredicate(model.labels))
    if model.title is not None:
        parts.append(TitlePredicate(model.title))
    if model.draft is not None:
        parts.append(DraftPredicate(model.draft))
    if model.checks is not None:
        parts.append(ChecksPredicate(model.checks))
    if model.all_ is not None:
        parts.append(AllPredicate([compile_predicates(m, registry) for m in model.all_]))
    if model.any_ is not None:
        parts.append(AnyPredicate([compile_predicates(m, registry) for m in model.any_]))
    if model.not_ is not None:
        parts.append(NotPredicate(compile_predicates(model.not_, registry)))
    if len(parts) == 1 and key == "all":
        return parts[0]
    return AllPredicate(parts, key=key)
