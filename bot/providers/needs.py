"""Which parts of a PR an evaluation must read, worked out from the policies that apply.

Each read costs requests, so the adapters read only what a policy can ask
about: comments only with comment methods (approval or disapproval — which
is also the only time tampering matters), CODEOWNERS only with
`code_owners: true`, check runs only when something names a check, and
directory facts only for the teams and organisations the policy names.

It also names the people who matter — whose permissions and memberships
are worth a lookup: people whose review or comment can approve or block,
and the author when the policy asks about them. Bots never count, so they
are never looked up.

Files, commits and reviews are always read: the changed-policy check, the
contributor rules and approvals need them whatever the policy says. Pure:
no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.core.codeowners import parse_codeowners
from bot.core.policy.models import (
    Approvers,
    Policy,
    Predicates,
)
from bot.core.regex import search
from bot.core.snapshot import Actor, ChangedFile, Comment, Review


@dataclass(frozen=True)
class SnapshotNeeds:
    """What to read for one evaluation beyond the PR, its files, commits and reviews."""

    comments: bool = False
    """Conversation comments: some rule or the disapproval accepts comments."""
    checks: bool = False
    """Check runs and statuses of the head: the policy requires or tests checks."""
    codeowners: bool = False
    """CODEOWNERS of the base branch: some rule uses `code_owners`."""
    teams: frozenset[str] = frozenset()
    """Teams (`org/slug`, lower-case) whose membership of the people who matter counts."""
    organizations: frozenset[str] = frozenset()
    """Organisations (lower-case) whose membership of the people who matter counts."""
    author: bool = False
    """The PR author's directory facts matter (an `author` predicate or `allow_author`)."""
    comment_phrases: frozenset[str] = frozenset()
    """Comment texts (trimmed) that approve or block."""
    comment_patterns: frozenset[str] = frozenset()
    """RE2 patterns of comments that approve or block."""

    def comment_matters(self, body: str) -> bool:
        """Whether a comment (or review body) could approve or block under some rule."""
        text = body.strip()
        if text in self.comment_phrases:
            return True
        return any(search(pattern, body) for pattern in self.comment_patterns)


def needs_for(*policies: Policy | None) -> SnapshotNeeds:
    """The union of what every given policy (repository, operator floor) needs."""
    found = _Found()
    for policy in policies:
        if policy is not None:
            found.policy(policy)
    return SnapshotNeeds(
        comments=bool(found.phrases or found.patterns),
        checks=found.checks,
        codeowners=found.codeowners,
        teams=frozenset(found.teams),
        organizations=frozenset(found.organizations),
        author=found.author,
        comment_phrases=frozenset(found.phrases),
        comment_patterns=frozenset(found.patterns),
    )


class _Found:
    def __init__(self) -> None:
        self.checks = False
        self.codeowners = False
        self.author = False
        self.teams: set[str] = set()
        self.organizations: set[str] = set()
        self.phrases: set[str] = set()
        self.patterns: set[str] = set()

    def policy(self, policy: Policy) -> None:
        if policy.checks:
            self.checks = True
        for rule in policy.rules:
            for predicates in (rule.if_, rule.requires.conditions):
                self.predicates(predicates)
            self.approvers(rule.requires.from_)
            if rule.options.allow_author:
                self.author = True
            methods = rule.options.methods
            self.phrases.update(text.strip() for text in methods.comments)
            self.patterns.update(methods.comment_patterns)
        disapproval = policy.policy.disapproval
        if disapproval is not None and disapproval.enabled:
            self.predicates(disapproval.if_)
            self.approvers(disapproval.from_)
            self.phrases.update(text.strip() for text in disapproval.methods.comments)
            self.patterns.update(disapproval.methods.comment_patterns)

    def approvers(self, approvers: Approvers | None) -> None:
        if approvers is None:
            return
        self.teams.update(team.lower() for team in approvers.teams)
        self.organizations.update(org.lower() for org in approvers.organizations)
        if approvers.code_owners:
            self.codeowners = True

    def predicates(self, predicates: Predicates | None) -> None:
        for each in _walk(predicates):
            if each.checks is not None:
                self.checks = True
            if each.author is not None:
                for side in (each.author.in_, each.author.not_in):
                    if side is None:
                        continue
                    self.author = True
                    self.teams.update(team.lower() for team in side.teams)
                    self.organizations.update(org.lower() for org in side.organizations)


def _walk(predicates: Predicates | None) -> Iterator[Predicates]:
    if predicates is None:
        return
    yield predicates
    nested: Iterable[Predicates] = [
        *(predicates.all_ or ()),
        *(predicates.any_ or ()),
        *((predicates.not_,) if predicates.not_ is not None else ()),
    ]
    for inner in nested:
        yield from _walk(inner)


_COUNTING_REVIEWS = frozenset({"APPROVED", "CHANGES_REQUESTED"})


def _is_bot(actor: Actor) -> bool:
    return actor.is_bot or actor.login.lower().endswith("[bot]")


def people_who_matter(
    author: Actor,
    reviews: Iterable[Review],
    comments: Iterable[Comment],
    needs: SnapshotNeeds,
) -> tuple[str, ...]:
    """Logins whose directory facts the evaluation can use, in first-seen order."""
    found: dict[str, str] = {}

    def add(actor: Actor) -> None:
        if not _is_bot(actor):
            found.setdefault(actor.login.lower(), actor.login)

    if needs.author:
        add(author)
    for review in reviews:
        if review.state in _COUNTING_REVIEWS or (
            needs.comments and review.body and needs.comment_matters(review.body)
        ):
            add(review.author)
    if needs.comments:
        for comment in comments:
            if needs.comment_matters(comment.body):
                add(comment.author)
    return tuple(found.values())


def owner_teams(codeowners: str | None, files: Iterable[ChangedFile]) -> frozenset[str]:
    """Teams (lower-case `org/slug`) owning some changed path per CODEOWNERS."""
    if codeowners is None:
        return frozenset()
    paths: dict[str, None] = {}
    for changed in files:
        paths.setdefault(changed.path, None)
        if changed.previous_path:
            paths.setdefault(changed.previous_path, None)
    parsed = parse_codeowners(codeowners)
    teams: set[str] = set()
    for index in set(parsed.rule_indices(tuple(paths))):
        if index is None:
            continue
        teams.update(o.name.lower() for o in parsed.rules[index].owners if o.kind == "team")
    return frozenset(teams)
