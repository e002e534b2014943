"""What every forge's evaluation of one PR does the same way.

An evaluation (`GitHubEvaluation`, `GitLabEvaluation`) reads a PR, publishes
its verdict and carries out the merge step's writes through one client.
`EvaluationBase` holds the parts that do not depend on the forge (the
protocol the worker sees is `bot.providers.base.ForgeEvaluation`): the
request tally and when the evaluation started, the cached file reader, the
snapshot's assembly (`bot.providers.assembly`), which commit a verdict is
published on and with which of the evaluation's reads (the "post only on
change" flow itself is `bot.providers.publishing.on_change`), the merge
writes passed straight to the forge's merging object, and the request budget
stored when the evaluation ends (`bot.store.requests`). Each forge says how
to build its client, read its PR's facts and its directory, write its
verdict, and do its own merging.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from bot.core.gate import Decision
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import Directory, Snapshot
from bot.keys import GroupKey, WorkKey
from bot.providers.assembly import ItemT, PullFacts, assemble
from bot.providers.base import MergeAnswer, PublishOutcome, PullHead
from bot.providers.counting import RequestTally
from bot.providers.stored_files import StoredFiles
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store, requests
from bot.store.commands import CommandComment


class ForgeParts(Protocol):
    """What an evaluation uses of the forge that opened it."""

    settings: Settings
    store: Store
    retries: RetryPolicies
    clock: Callable[[], datetime]


class MergeCalls(Protocol):
    """A forge's merge writes for one PR."""

    def commit_messages(self) -> tuple[str, ...]: ...

    def merge(
        self, sha: str, method: str, title: str | None, message: str | None, now: float
    ) -> MergeAnswer: ...

    def delete_branch(self, ref: str) -> bool: ...

    def open_pulls_into(self, branch: str) -> tuple[int, ...]: ...

    def comment(self, body: str) -> int: ...

    def edit_comment(self, comment_id: int, body: str) -> None: ...


class DirectoryReading(Protocol):
    """A forge's directory reader, through the store's directory cache."""

    def directory(
        self, repo: str, people: Sequence[str], teams: Sequence[str],
        organizations: Sequence[str],
    ) -> Directory: ...


class EvaluationBase:
    """One evaluation of one PR (not shared between threads); the forge's subclass reads it."""

    provider: ClassVar[str]
    forge_name: ClassVar[str]
    """The forge as the request budget's log line names it (`GitHub`)."""
    repository_noun: ClassVar[str]
    """What the forge calls a repository (`project` on GitLab)."""
    deploy_methods: ClassVar[frozenset[str]]
    """The deploy calls the forge takes (`bot.providers.base.Deploying`)."""
    files_type: ClassVar[type[StoredFiles[Any]]]
    logger: ClassVar[logging.Logger]
    """The forge module's logger: the budget is logged under the forge's name."""

    def __init__(self, forge: ForgeParts, key: WorkKey) -> None:
        self.forge = forge
        self.key = key
        self.tally = RequestTally()
        self.started_at = forge.clock()
        self._head: PullHead | None = None

    # -- what each forge's subclass supplies -------------------------------------

    @property
    def client(self) -> Any:
        raise NotImplementedError

    @property
    def _merging(self) -> MergeCalls:
        raise NotImplementedError

    def _directory(self) -> DirectoryReading:
        raise NotImplementedError

    def pull(self) -> PullHead:
        raise NotImplementedError

    def pull_facts(self, needs: SnapshotNeeds, now: datetime) -> PullFacts:
        raise NotImplementedError

    def codeowners(self, base_ref: str) -> str | None:
        raise NotImplementedError

    # -- the snapshot ------------------------------------------------------------

    def snapshot(self, needs: SnapshotNeeds) -> Snapshot:
        """The PR as the policy sees it, reading only what `needs` asks for
        (`bot.providers.assembly`; the forge's subclass supplies `pull_facts` and
        `codeowners`)."""
        return assemble(self, needs)

    def with_bots(self, items: tuple[ItemT, ...]) -> tuple[ItemT, ...]:
        """The forge's reads tell bots by their account type: nothing to add."""
        return items

    def people_directory(
        self, people: Sequence[str], teams: Sequence[str], organizations: Sequence[str]
    ) -> Directory:
        return self._directory().directory(self.key.repo, people, teams, organizations)

    def _files(self) -> StoredFiles[Any]:
        return self.files_type(
            self.client,
            self.forge.store,
            self.forge.retries.read,
            ttl_seconds=self.forge.settings.forge_cache_seconds,
            clock=self.forge.clock,
        )

    def file_at(self, path: str, ref: str) -> str | None:
        return self._files().read(self.key.repo, path, ref)

    # -- publishing ------------------------------------------------------------

    def publish(self, decision: Decision, *, details_url: str | None) -> PublishOutcome:
        """Post the decision under the PR's base, unless the same verdict is there."""
        head = self.pull()
        return self._publish(
            decision, head.base_ref, details_url, on_head=decision.head_sha == head.head_sha
        )

    def publish_commit(
        self, decision: Decision, base_ref: str, *, details_url: str | None
    ) -> PublishOutcome:
        """Post a decision on a commit that is no PR's head (a merge group's, or one the
        PR left), under `base_ref`'s context; recorded under this evaluation's key."""
        return self._publish(decision, base_ref, details_url, on_head=False)

    def _publish(
        self, decision: Decision, base_ref: str, details_url: str | None, *, on_head: bool
    ) -> PublishOutcome:
        raise NotImplementedError

    # -- merging ---------------------------------------------------------------

    def commit_messages(self) -> tuple[str, ...]:
        return self._merging.commit_messages()

    def merge(
        self, sha: str, method: str, title: str | None, message: str | None
    ) -> MergeAnswer:
        return self._merging.merge(sha, method, title, message, self.forge.clock().timestamp())

    def delete_branch(self, ref: str) -> bool:
        return self._merging.delete_branch(ref)

    def open_pulls_into(self, branch: str) -> tuple[int, ...]:
        return self._merging.open_pulls_into(branch)

    def comment(self, body: str) -> int:
        return self._merging.comment(body)

    def edit_comment(self, comment_id: int, body: str) -> None:
        self._merging.edit_comment(comment_id, body)

    # -- comment commands ------------------------------------------------------

    def confirmed_comment(self, comment: CommandComment) -> CommandComment | None:
        """The comment as recorded: a forge whose deliveries are signed with a secret
        only the forge and the bot hold (a GitHub App's) vouches for what they say.
        GitLab, whose hook secrets project maintainers know, re-reads it."""
        return comment

    # -- the request budget ----------------------------------------------------

    def record_requests(self) -> None:
        # A merge group's evaluation is counted under the group's id.
        number = self.key.group_id if isinstance(self.key, GroupKey) else self.key.number
        with self.forge.store.begin() as conn:
            requests.record(
                conn,
                self.provider,
                self.key.repo,
                number,
                self._head.head_sha if self._head else None,
                self.started_at,
                self.forge.clock(),
                self.tally.lines(),
            )
        self.logger.info("%s: %d %s requests", self.key, self.tally.total, self.forge_name)
