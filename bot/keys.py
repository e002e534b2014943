"""The units of work the bot does: which PR or merge-queue group, and the job a pipeline gets.

A dirty mark, a queued wake-up, a worker's claim and a pipeline's job all
name one `WorkKey`: either a `PullKey` (a GitHub PR or a GitLab merge
request) or a `GroupKey` (a merge-queue group waiting for the bot's
verdict). Code asks which it holds by the key's type; how a group key is
written in the store's rows is the store's business
(`bot.store.key_columns`).

This module sits below the store, the forge adapters, the pipeline, the
event layer and the web tier, and imports none of them: a job carries ids
and times, never clients or secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol


class PullKey(NamedTuple):
    """A PR (GitHub) or merge request (GitLab) across all repositories."""

    provider: str
    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.provider}:{self.repo}#{self.number}"


@dataclass(frozen=True, order=True)
class GroupKey:
    """A merge-queue group of a forge's repository, by the group's id in the store
    (`bot.store.merge_groups`). Never equal to a `PullKey`, even with the same parts."""

    provider: str
    repo: str
    group_id: int

    def __str__(self) -> str:
        return f"{self.provider}:{self.repo} merge group {self.group_id}"


WorkKey = PullKey | GroupKey
"""What the dirty table marks and the worker claims: a PR or a merge-queue group."""


class Lease(Protocol):
    """The holder's handle on a key's lock; long pipelines extend it as they go."""

    @property
    def owner(self) -> str:
        """Who holds the lease (the claim's owner): locks taken under it name it."""
        ...

    def extend(self) -> bool:
        """Renew the lease; False if it was lost."""
        ...


ForgeAccess = int | None
"""How an evaluation acts for the bot on a repository, as the delivery named it, handed
through the pipeline unread: a GitHub App installation's id; nothing on GitLab."""


@dataclass(frozen=True)
class Job:
    """What a pipeline gets for one claimed key: ids and times, never clients or secrets."""

    key: WorkKey
    generation: int
    access: ForgeAccess
    """How the forge acts for the bot on the key's repository (opaque here)."""
    started_at: datetime
    lease: Lease
