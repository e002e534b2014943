"""The snapshot of one PR, assembled the same way for every forge.

A forge's evaluation supplies its reads (`SnapshotReads`): the PR itself as
`PullFacts` (title, files, commits, reviews, and comments and checks only
when the policy's needs ask for them), CODEOWNERS from the base branch, the
directory facts of the people who matter, and — where the forge's reads do
not tell — which reviewers and commenters are bots. Everything else comes
from here, in this order: the PR's facts, CODEOWNERS (when needed), the
head history and pushers the bot recorded (`bot.providers.recorded`), the
people who matter and the teams CODEOWNERS names, their directory facts,
holds, overrides, tampering marks and recorded review edits, the bot's own
identity, and the time of the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.core.policy.needs import SnapshotNeeds, owner_teams, people_who_matter
from bot.core.snapshot import (
    Actor,
    BotIdentity,
    ChangedFile,
    CheckResult,
    Comment,
    Commit,
    Directory,
    Review,
    Snapshot,
)
from bot.keys import PullKey
from bot.providers import recorded
from bot.providers.base import PullHead
from bot.providers.publishing import CONTEXT_PREFIX
from bot.store import Store

ItemT = TypeVar("ItemT", Review, Comment)


@dataclass(frozen=True)
class PullFacts:
    """What a forge reads of the PR itself for one snapshot."""

    title: str
    body: str
    author: Actor
    draft: bool
    base_sha: str
    labels: tuple[str, ...]
    files: tuple[ChangedFile, ...]
    files_truncated: bool
    files_count: int | None
    """None when the forge caps the count it gives."""
    commits: tuple[Commit, ...]
    reviews: tuple[Review, ...]
    comments: tuple[Comment, ...]
    """Empty unless the needs ask for comments."""
    checks: tuple[CheckResult, ...]
    """Empty unless the needs ask for checks."""
    commits_truncated: bool = False
    additions: int | None = None
    deletions: int | None = None
    pushers: tuple[str, ...] = ()
    """Pushers the forge's own records name (GitLab's "added N commits" notes), beside
    those the bot recorded from push events: a push whose deliveries were lost."""


class Clocked(Protocol):
    store: Store
    clock: Callable[[], datetime]


class SnapshotReads(Protocol):
    """What a forge's evaluation reads for a snapshot; the rest is assembled here."""

    key: PullKey

    @property
    def forge(self) -> Clocked: ...

    @property
    def bot_login(self) -> str: ...

    def pull(self) -> PullHead: ...

    def pull_facts(self, needs: SnapshotNeeds, now: datetime) -> PullFacts:
        """The PR's own parts, reading only what `needs` asks for."""
        ...

    def codeowners(self, base_ref: str) -> str | None:
        """The CODEOWNERS text at the head of `base_ref`, if there is one."""
        ...

    def with_bots(self, items: tuple[ItemT, ...]) -> tuple[ItemT, ...]:
        """Reviews or comments, their authors marked bots where the forge's reads did
        not say so."""
        ...

    def people_directory(
        self, people: Sequence[str], teams: Sequence[str], organizations: Sequence[str]
    ) -> Directory:
        """Directory facts (roles, teams, organisations) of `people`."""
        ...


def assemble(reads: SnapshotReads, needs: SnapshotNeeds) -> Snapshot:
    """The PR as the policy sees it, reading only what `needs` asks for."""
    store, key = reads.forge.store, reads.key
    head = reads.pull()
    now = reads.forge.clock()
    facts = reads.pull_facts(needs, now)
    codeowners = reads.codeowners(head.base_ref) if needs.codeowners else None
    history, recorded_pushers = recorded.head_facts(
        store, key, [*(c.sha for c in facts.commits), head.head_sha]
    )
    # Only ever added to: a forge record can name a pusher, never remove one.
    pushers = tuple(sorted(set(recorded_pushers) | set(facts.pushers)))
    reviews, comments = reads.with_bots(facts.reviews), reads.with_bots(facts.comments)
    teams = set(needs.teams) | (
        owner_teams(codeowners, facts.files) if needs.codeowners else set()
    )
    directory = reads.people_directory(
        people_who_matter(facts.author, reviews, comments, needs),
        sorted(teams),
        sorted(needs.organizations),
    )
    holds, overrides, tampering = recorded.event_facts(store, key)
    if needs.comments:
        # Review bodies count as comments then; only the webhook tells an edit.
        reviews = recorded.with_review_edits(store, key, reviews)
    return Snapshot(
        number=head.number,
        title=facts.title,
        body=facts.body,
        author=facts.author,
        draft=facts.draft,
        base_ref=head.base_ref,
        base_sha=facts.base_sha,
        head_ref=head.head_ref,
        head_sha=head.head_sha,
        labels=facts.labels,
        files=facts.files,
        files_truncated=facts.files_truncated,
        files_count=facts.files_count,
        additions=facts.additions,
        deletions=facts.deletions,
        commits=facts.commits,
        commits_truncated=facts.commits_truncated,
        pushers=pushers,
        reviews=reviews,
        comments=comments,
        checks=facts.checks,
        head_history=history,
        holds=holds,
        overrides=overrides,
        tampering=tampering,
        directory=directory,
        codeowners=codeowners,
        bot=BotIdentity(logins=(reads.bot_login,), context_prefix=CONTEXT_PREFIX),
        evaluated_at=now,
    )
