"""Facts derived once per snapshot and shared by every predicate and rule.

A `Context` wraps a `Snapshot` and computes on first use what several
evaluators ask for: case-insensitive people lookups, contributors, push times
and the last retarget (from the PR's head history), the update-merge chain of
the head, the touched paths, the latest check result per name. Nothing here
knows about the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar, cast

from bot.core.codeowners import Owner, parse_codeowners
from bot.core.policy.models import PERMISSION_ORDER
from bot.core.snapshot import Actor, CheckResult, Comment, Commit, HeadChange, Review, Snapshot

T = TypeVar("T")

PASSING = frozenset({"success", "neutral", "skipped"})
FAILING = frozenset({"failure", "cancelled", "timed_out", "action_required", "error"})


fold: Callable[[str], str] = str.casefold
"""Logins, team slugs and organisations compare case-insensitively. (The method itself,
not a function calling it: an evaluation folds names hundreds of times.)"""

_RANKS = {permission: rank for rank, permission in enumerate(PERMISSION_ORDER)}


def strip_bot_suffix(name: str) -> str:
    folded = fold(name)
    return folded[: -len("[bot]")] if folded.endswith("[bot]") else folded


def last_retarget(history: Sequence[HeadChange]) -> datetime | None:
    """When a PR with this head history (oldest first) was last retargeted, or None."""
    changed: datetime | None = None
    for previous, change in zip(history, history[1:], strict=False):
        if change.base_ref != previous.base_ref:
            changed = change.at
    return changed


def armed_for_base(armed_at: datetime, history: Sequence[HeadChange]) -> bool:
    """Whether a `/gate merge` given at `armed_at` still arms the merge: it was given
    for the base the PR had then, so a later retarget ends it, as it ends approvals
    and overrides."""
    retargeted = last_retarget(history)
    return retargeted is None or armed_at > retargeted


@dataclass(frozen=True, slots=True)
class Contribution:
    """Why someone counts as a contributor: `authored`, `committed` or `pushed`."""

    what: str
    sha: str | None = None


class MemoKey:
    """A `Context.memo` key whose hash is computed once.

    Rules look their shared work up by nested tuples (methods, options, `from`)
    for every evaluation; hashing those again on every lookup cost more than the
    lookup. Keys with equal parts are equal, so rules (and policies) still share.
    """

    __slots__ = ("_hash", "parts")

    def __init__(self, *parts: Hashable) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, MemoKey) and self.parts == other.parts)

    def __repr__(self) -> str:
        return f"MemoKey{self.parts!r}"


_MISSING: Any = object()


class Context:
    """A snapshot plus lazily computed indexes over it."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per snapshot and key: evaluators share work across rules."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = self._memo[key] = compute()
        return cast(T, value)

    # -- people ------------------------------------------------------------

    @cached_property
    def _permissions(self) -> dict[str, str]:
        return {fold(k): v for k, v in self.snapshot.directory.permissions.items()}

    @cached_property
    def _teams(self) -> dict[str, frozenset[str]]:
        return {
            fold(team): frozenset(fold(m) for m in members)
            for team, members in self.snapshot.directory.teams.items()
        }

    @cached_property
    def _organizations(self) -> dict[str, frozenset[str]]:
        return {
            fold(org): frozenset(fold(m) for m in members)
            for org, members in self.snapshot.directory.organizations.items()
        }

    @cached_property
    def bot_logins(self) -> frozenset[str]:
        return frozenset(strip_bot_suffix(login) for login in self.snapshot.bot.logins)

    def permission(self, login: str) -> str:
        """The person's repository permission; `none` when the directory does not list them."""
        return self._permissions.get(fold(login), "none")

    def has_permission(self, login: str, needed: str) -> bool:
        have = _RANKS.get(self.permission(login))
        return have is not None and have >= _RANKS[needed]

    def team_members(self, team: str) -> frozenset[str] | None:
        """Members (folded logins) of a team, or None when the directory does not know it."""
        return self._teams.get(fold(team))

    def in_team(self, login: str, team: str) -> bool:
        return self.in_team_folded(fold(login), fold(team))

    def in_organization(self, login: str, org: str) -> bool:
        return self.in_organization_folded(fold(login), fold(org))

    # The *_folded forms take names already folded: approval tallies test every
    # reviewer against every team of every rule, and folding dominates there.
    def in_team_folded(self, login: str, team: str) -> bool:
        members = self._teams.get(team)
        return members is not None and login in members

    def in_organization_folded(self, login: str, org: str) -> bool:
        members = self._organizations.get(org)
        return members is not None and login in members

    def is_bot(self, actor: Actor | str) -> bool:
        if isinstance(actor, Actor):
            if actor.is_bot:
                return True
            login = actor.login
        else:
            login = actor
        return fold(login).endswith("[bot]") or strip_bot_suffix(login) in self.bot_logins

    def is_author(self, login: str) -> bool:
        return fold(login) == fold(self.snapshot.author.login)

    # -- contributors ------------------------------------------------------

    def contributions(
        self, ignore_update_merges: bool = False
    ) -> dict[str, tuple[Contribution, ...]]:
        """Folded login → how they contributed (commit author, committer, pusher).

        With `ignore_update_merges`, writing or pushing an update merge makes
        nobody a contributor: it brings in only what the base branch holds. A
        push counts as one only when the update merge it made the head sits
        on a head the PR had before (so the push added nothing else).
        """
        return (self._contributions_without_update_merges if ignore_update_merges
                else self._all_contributions)

    @cached_property
    def _all_contributions(self) -> dict[str, tuple[Contribution, ...]]:
        return self._contributions(False)

    @cached_property
    def _contributions_without_update_merges(self) -> dict[str, tuple[Contribution, ...]]:
        return self._contributions(True)

    def _contributions(self, ignore_update_merges: bool) -> dict[str, tuple[Contribution, ...]]:
        found: dict[str, list[Contribution]] = {}
        for commit in self.snapshot.commits:
            if ignore_update_merges and commit.is_update_merge:
                continue
            if commit.author:
                found.setdefault(fold(commit.author), []).append(
                    Contribution("authored", commit.sha)
                )
            if commit.committer and fold(commit.committer) != fold(commit.author or ""):
                found.setdefault(fold(commit.committer), []).append(
                    Contribution("committed", commit.sha)
                )
        exempt = self.update_merge_pushers if ignore_update_merges else frozenset()
        for pusher in self.snapshot.pushers:
            if fold(pusher) not in exempt:
                found.setdefault(fold(pusher), []).append(Contribution("pushed"))
        return {login: tuple(items) for login, items in found.items()}

    @cached_property
    def update_merge_pushers(self) -> frozenset[str]:
        """Folded logins whose every recorded push made an update merge the head on
        top of an earlier head; anyone with another push, or none recorded, is not one."""
        commits = self._commits_by_sha
        earlier_heads = {head.sha for head in self.head_changes}
        only_merges: dict[str, bool] = {}
        for head in self.head_changes:
            if not head.pusher:
                continue
            commit = commits.get(head.sha)
            pure = (
                commit is not None
                and commit.is_update_merge
                and bool(commit.parents)
                and commit.parents[0] in earlier_heads
            )
            login = fold(head.pusher)
            only_merges[login] = only_merges.get(login, True) and pure
        return frozenset(login for login, pure in only_merges.items() if pure)

    def contribution_of(
        self, login: str, ignore_update_merges: bool = False
    ) -> Contribution | None:
        items = self.contributions(ignore_update_merges).get(fold(login))
        return items[0] if items else None

    # -- heads and push times ----------------------------------------------

    @cached_property
    def _commits_by_sha(self) -> dict[str, Commit]:
        return {commit.sha: commit for commit in self.snapshot.commits}

    @cached_property
    def head_changes(self) -> tuple[HeadChange, ...]:
        """The recorded changes that gave the PR a new head SHA, oldest first.

        A change that only moved the base (a retarget) is not among them. The same
        head recorded twice in a row on the same base is: the head left and came
        back while the head in between went unseen (its push was never heard of).
        """
        found: list[HeadChange] = []
        for change in self.snapshot.head_history:
            if found and found[-1].sha == change.sha and found[-1].base_ref != change.base_ref:
                continue
            found.append(change)
        return tuple(found)

    @cached_property
    def _push_times(self) -> dict[str, datetime]:
        # Later changes overwrite earlier ones: a head that left and came back
        # (A -> B -> A) was pushed when it came back.
        return {change.sha: change.at for change in self.head_changes}

    def push_time(self, sha: str) -> datetime | None:
        """The latest time `sha` became this PR's head, as the bot recorded it; None if
        it never was. Never a time read from statuses or commit dates."""
        return self._push_times.get(sha)

    @cached_property
    def head_push_time(self) -> datetime | None:
        return self.push_time(self.snapshot.head_sha)

    @cached_property
    def base_changed_at(self) -> datetime | None:
        """When the PR was last retargeted (its base changed), or None if it never was."""
        return last_retarget(self.snapshot.head_history)

    @cached_property
    def update_merge_chain(self) -> tuple[str, ...]:
        """The head and the commits it differs from only by update merges, newest first.

        Follows first parents through commits flagged as update merges; stops at
        the first real commit (included) or at a commit the list does not hold.
        """
        chain = [self.snapshot.head_sha]
        seen = {self.snapshot.head_sha}
        current = self._commits_by_sha.get(self.snapshot.head_sha)
        while (
            current is not None
            and current.is_update_merge
            and len(current.parents) >= 2
            and current.parents[0] not in seen
        ):
            parent = current.parents[0]
            chain.append(parent)
            seen.add(parent)
            current = self._commits_by_sha.get(parent)
        return tuple(chain)

    @cached_property
    def push_merge_note(self) -> str | None:
        """Why the merge commit that ends the head's update-merge chain counts as a
        push, when it is a merge of the base that is not an update merge."""
        stop = self._commits_by_sha.get(self.update_merge_chain[-1])
        if stop is None or stop.is_update_merge or stop.merge_note is None:
            return None
        return (f"merge commit {stop.sha[:7]} is not a pure update merge ({stop.merge_note}), "
                "so it counts as a push")

    def comment_reference_time(self, ignore_update_merges: bool) -> datetime | None:
        """The time after which a comment approves the current content, or None if unknown.

        Without update merges this is the head's push time. With them, a comment
        written after an earlier head of the update-merge chain became the head
        still approves the same changes: the reference is the start of the
        latest unbroken run of chain heads in the PR's head history, ending
        where the current head last became the head. Any other head in between
        (the content changed) ends the run.
        """
        changes = self.head_changes
        chain = set(self.update_merge_chain if ignore_update_merges else ())
        chain.add(self.snapshot.head_sha)
        last = max(
            (i for i, c in enumerate(changes) if c.sha == self.snapshot.head_sha), default=None
        )
        if last is None:
            return None
        first = last
        # A head repeated back to back came back from an unseen one: the run ends there.
        while (
            first > 0
            and changes[first - 1].sha in chain
            and changes[first - 1].sha != changes[first].sha
        ):
            first -= 1
        return changes[first].at

    # -- files -------------------------------------------------------------

    @cached_property
    def touched_paths(self) -> tuple[str, ...]:
        """Every path a change touches: new paths and, for renames, old paths."""
        paths: dict[str, None] = {}
        for changed in self.snapshot.files:
            # Assigning keeps a key where it was first inserted, as setdefault does.
            paths[changed.path] = None
            if changed.previous_path:
                paths[changed.previous_path] = None
        return tuple(paths)

    @cached_property
    def total_additions(self) -> int:
        if self.snapshot.additions is not None:
            return self.snapshot.additions
        return sum(f.additions for f in self.snapshot.files)

    @cached_property
    def total_deletions(self) -> int:
        if self.snapshot.deletions is not None:
            return self.snapshot.deletions
        return sum(f.deletions for f in self.snapshot.files)

    @cached_property
    def files_count(self) -> int:
        if self.snapshot.files_count is not None:
            return self.snapshot.files_count
        return len(self.snapshot.files)

    @cached_property
    def labels(self) -> frozenset[str]:
        return frozenset(fold(label) for label in self.snapshot.labels)

    # -- checks --------------------------------------------------------------

    def is_own_check(self, result: CheckResult) -> bool:
        """Results under the bot's own context, or written by the bot, never count."""
        prefix = self._own_prefix
        name = fold(result.name)
        if prefix and name.startswith(prefix):
            rest = name[len(prefix):]
            if not rest or not rest[0].isalnum():
                return True
        return result.app is not None and strip_bot_suffix(result.app) in self.bot_logins

    @cached_property
    def _own_prefix(self) -> str:
        return fold(self.snapshot.bot.context_prefix)

    @cached_property
    def countable_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.snapshot.checks if not self.is_own_check(c))

    @cached_property
    def checks_by_name(self) -> dict[str, tuple[CheckResult, ...]]:
        """Countable results grouped by name, in the order the forge listed them."""
        grouped: dict[str, list[CheckResult]] = {}
        for result in self.countable_checks:
            grouped.setdefault(result.name, []).append(result)
        return {name: tuple(results) for name, results in grouped.items()}

    # -- code owners -----------------------------------------------------------

    @cached_property
    def code_ownership(self) -> CodeOwnership:
        return CodeOwnership.of(self)

    # -- reviews and comments by person ------------------------------------------

    @cached_property
    def reviews_in_order(self) -> tuple[Review, ...]:
        return tuple(sorted(self.snapshot.reviews, key=lambda r: r.submitted_at))

    @cached_property
    def comments_in_order(self) -> tuple[Comment, ...]:
        return tuple(sorted(self.snapshot.comments, key=lambda c: c.created_at))


@dataclass(frozen=True, slots=True)
class OwnedGroup:
    """Touched paths owned by the same CODEOWNERS line."""

    line: int
    pattern: str
    owners: tuple[str, ...]
    """The owners as written (`@alice`, `@acme/backend`)."""
    logins: frozenset[str]
    """Folded logins of the people who can approve for these paths."""
    unresolved: tuple[str, ...]
    """Owners that match nobody: e-mail addresses and teams the directory does not know."""
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeOwnership:
    """Who owns the touched paths, grouped by the CODEOWNERS line that decides them."""

    present: bool
    groups: tuple[OwnedGroup, ...]
    owner_logins: frozenset[str]

    @classmethod
    def of(cls, ctx: Context) -> CodeOwnership:
        text = ctx.snapshot.codeowners
        if text is None:
            return cls(False, (), frozenset())
        parsed = parse_codeowners(text)
        groups: list[OwnedGroup] = []
        everyone: set[str] = set()
        # Large CODEOWNERS files name the same few owners on hundreds of lines:
        # resolve each set of owners once.
        resolved: dict[tuple[Owner, ...], tuple[tuple[str, ...], frozenset[str],
                                                 tuple[str, ...]]] = {}
        for index, paths in parsed.owned_paths(ctx.touched_paths):
            rule = parsed.rules[index]
            if not rule.owners:
                continue  # a line without owners leaves its paths unowned
            owners = resolved.get(rule.owners)
            if owners is None:
                owners = resolved[rule.owners] = _resolve(rule.owners, ctx)
                everyone.update(owners[1])
            groups.append(OwnedGroup(rule.line, rule.pattern, *owners, paths))
        return cls(True, tuple(groups), frozenset(everyone))


def _resolve(
    owners: tuple[Owner, ...], ctx: Context
) -> tuple[tuple[str, ...], frozenset[str], tuple[str, ...]]:
    """Owners as written, the folded logins who can approve for them, and the owners
    that match nobody."""
    logins: set[str] = set()
    unresolved: list[str] = []
    for owner in owners:
        if owner.kind == "user":
            logins.add(fold(owner.name))
        elif owner.kind == "team" and (members := ctx.team_members(owner.name)) is not None:
            logins.update(members)
        else:
            unresolved.append(str(owner))
    return tuple(str(o) for o in owners), frozenset(logins), tuple(unresolved)
