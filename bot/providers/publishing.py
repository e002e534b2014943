"""What every forge's publisher does around its writes: "post only on change".

A verdict is written under the bot's context (`gatebot: <base branch>`) only
when it differs from what the store's `evaluations` record says was last
posted for the head and context (state, description, details link, mode) —
or when the status under that context was since written by another
account, which is then overwritten and logged. `compare` makes that
decision the same way for every forge; each forge's publisher says how it
reads its statuses and who wrote them, and does the writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.keys import WorkKey
from bot.providers.base import PublishOutcome
from bot.store import Store, evaluations
from bot.store.key_columns import columns

CONTEXT_PREFIX = "gatebot"

StatusT = TypeVar("StatusT")


def context_for(base_ref: str) -> str:
    """The status context (and GitHub check run name) for PRs into `base_ref`."""
    return f"{CONTEXT_PREFIX}: {base_ref}"


class Shown(Protocol):
    """The parts of a forge's verdict the store keeps."""

    @property
    def state(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def details_url(self) -> str | None: ...
    @property
    def report_only(self) -> bool: ...
    @property
    def explanation(self) -> str: ...


def posted(
    key: WorkKey,
    sha: str,
    context: str,
    verdict: Shown,
    now: datetime,
    *,
    status_posted: bool,
    check_run_id: int | None,
) -> evaluations.Posted:
    """The `evaluations` record of `verdict` posted on `sha` under `context` for `key`
    (a merge group's is kept under its row encoding, `key_columns`)."""
    provider, repo, number = columns(key)
    return evaluations.Posted(
        provider=provider,
        repo=repo,
        sha=sha,
        context=context,
        number=number,
        state=verdict.state,
        description=verdict.description,
        details_url=verdict.details_url,
        report_only=verdict.report_only,
        status_posted=status_posted,
        check_run_id=check_run_id,
        explanation=verdict.explanation,
        posted_at=now,
    )


@dataclass(frozen=True)
class Comparison:
    """The verdict about to be posted, against what was posted before."""

    previous: evaluations.Posted | None
    candidate: evaluations.Posted
    foreign: str | None
    """Who else wrote the status under the bot's context, when someone did."""
    unchanged: bool
    """The same verdict is already there, written by the bot: post nothing."""


def compare(
    store: Store,
    key: WorkKey,
    sha: str,
    context: str,
    candidate: Callable[[evaluations.Posted | None], evaluations.Posted],
    *,
    status_matters: bool,
    statuses: Sequence[StatusT] | None,
    read_statuses: Callable[[], Sequence[StatusT]],
    foreign_writer: Callable[[Sequence[StatusT]], str | None],
    logger: logging.Logger,
) -> Comparison:
    """Whether `candidate(previous)` needs posting on `sha` under `context`.

    `status_matters`: the verdict writes a status someone else could have
    overwritten. `statuses` are the head's statuses if the evaluation read
    them, else None; they are looked at when read anyway, or — through
    `read_statuses()` — when the verdict is the same and only a foreign
    writer would make it worth posting again. An overwrite
    is logged to the forge's `logger`.
    """
    provider, repo, _ = columns(key)
    with store.begin() as conn:
        previous = evaluations.last(conn, provider, repo, sha, context)
    wanted = candidate(previous)
    same = previous is not None and previous.same_verdict(wanted)
    foreign: str | None = None
    if status_matters and (statuses is not None or same):
        if statuses is None:
            statuses = read_statuses()
        foreign = foreign_writer(statuses)
    if foreign is not None:
        logger.warning(
            "%s: the status %r on %s was written by %s; overwriting it with the bot's verdict",
            key,
            context,
            sha[:12],
            foreign,
        )
    return Comparison(previous, wanted, foreign, unchanged=same and foreign is None)


def record(store: Store, posted: evaluations.Posted) -> None:
    """Remember what was just posted: the next evaluation compares with it."""
    with store.begin() as conn:
        evaluations.record(conn, posted)


def silent(context: str) -> PublishOutcome:
    """No policy applies: nothing is posted at all."""
    return PublishOutcome(context, False, False, None, unchanged=True, silent=True)


def unchanged(context: str, check_run_id: int | None = None) -> PublishOutcome:
    """The same verdict was already posted: nothing written."""
    return PublishOutcome(context, False, False, check_run_id, unchanged=True)
