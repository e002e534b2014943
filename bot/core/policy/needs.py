"""Which parts of a PR an evaluation must read: `SnapshotNeeds`, and who and what matters.

Each read costs requests, so the adapters read only what a policy can ask
about: comments only with comment methods (approval or disapproval — which
is also the only time tampering matters), CODEOWNERS only with
`code_owners: true`, check runs only when something names a check, and
directory facts only for the teams and organisations the policy names.

Every part of a compiled policy declares what it needs next to how it
evaluates — each predicate (`Predicate.needs`), rule, approval method,
disapproval and required check — and a policy's needs are the union of its
parts' (`bot.core.policy.evaluate.needs_for`). This module holds the value
they build and the helpers the adapters use with it.

`people_who_matter` names those whose permissions and memberships are worth
a lookup: people whose review or comment can approve or block, and the
author when the policy asks about them. Bots never count, so they are never
looked up. `owner_teams` names the teams CODEOWNERS gives the changed files.

Files, commits and reviews are always read: the changed-policy check, the
contributor rules and approvals need them whatever the policy says. Pure:
no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.codeowners import parse_codeowners
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

    def __or__(self, other: SnapshotNeeds) -> SnapshotNeeds:
        """What both need: every read either asks for."""
        return SnapshotNeeds(
            comments=self.comments or other.comments,
            checks=self.checks or other.checks,
            codeowners=self.codeowners or other.codeowners,
            teams=self.teams | other.teams,
            organizations=self.organizations | other.organizations,
            author=self.author or other.author,
            comment_phrases=self.comment_phrases | other.comment_phrases,
            comment_patterns=self.comment_patterns | other.comment_patterns,
        )

    @classmethod
    def union(cls, parts: Iterable[SnapshotNeeds]) -> SnapshotNeeds:
        """What all `parts` need (nothing beyond the PR for no parts)."""
        found = cls()
        for part in parts:
            found = found | part
        return found

    @classmethod
    def of_comments(cls, phrases: Iterable[str], patterns: Iterable[str]) -> SnapshotNeeds:
        """Comments equal to one of `phrases` (trimmed) or matching one of `patterns`
        approve or block: read comments when there is any."""
        found_phrases = frozenset(text.strip() for text in phrases)
        found_patterns = frozenset(patterns)
        return cls(
            comments=bool(found_phrases or found_patterns),
            comment_phrases=found_phrases,
            comment_patterns=found_patterns,
        )

    @classmethod
    def of_people(
        cls, teams: Iterable[str], organizations: Iterable[str], *, author: bool = False
    ) -> SnapshotNeeds:
        """Membership of these teams and organisations counts (and the author's facts)."""
        return cls(
            teams=frozenset(team.lower() for team in teams),
            organizations=frozenset(org.lower() for org in organizations),
            author=author,
        )


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
    for index, _owned in parsed.owned_paths(tuple(paths)):
        teams.update(o.name.lower() for o in parsed.rules[index].owners if o.kind == "team")
    return frozenset(teams)
