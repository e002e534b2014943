"""What every forge's publisher does around its writes: "post only on change".

A verdict is written under the bot's context (`gatebot: <base branch>`) only
when it differs from what the store's `evaluations` record says was last
posted for the head and context (state, description, details link, mode) —
or when the status under that context was since written by another
account, which is then overwritten and logged. `on_change` is that whole
flow, the same for every forge: nothing for a silent decision, `compare`
with the record, the forge's writes only when the verdict changed, the new
record, and the `PublishOutcome`. Each forge's publisher says how it reads
its statuses, who wrote them and whether one shows a verdict, and does the
writes (`Written`).

A status is posted before it is recorded, so a run that dies between the two
(a killed worker, the store stopped) leaves the verdict on the forge and no
record of it. The next run would post it again; when its own read of the
head's statuses shows the bot's status already saying the verdict, the
status is not posted again (`shows`), and the record catches up.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.core.gate import Decision
from bot.keys import WorkKey
from bot.providers.base import PublishOutcome
from bot.store import Store, evaluations, verdict_history
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
    """Remember what was just posted: the next evaluation compares with it, and the PR's
    verdict history gains it if it changed the verdict."""
    with store.begin() as conn:
        evaluations.record(conn, posted)
        verdict_history.add(conn, posted)


def silent(context: str) -> PublishOutcome:
    """No policy applies: nothing is posted at all."""
    return PublishOutcome(context, False, False, None, unchanged=True, silent=True)


def unchanged(context: str, check_run_id: int | None = None) -> PublishOutcome:
    """The same verdict was already posted: nothing written."""
    return PublishOutcome(context, False, False, check_run_id, unchanged=True)


@dataclass(frozen=True)
class Written:
    """What a forge's writes put up for one changed verdict."""

    status_posted: bool
    """A status was written (False: none, or the forge already showed exactly it)."""
    status_shown: bool
    """The status under the bot's context now shows this verdict (recorded as posted)."""
    check_run_id: int | None = None
    """The check run written, on a forge that has them."""


VerdictT = TypeVar("VerdictT", bound=Shown)


def on_change(
    store: Store,
    key: WorkKey,
    decision: Decision,
    base_ref: str,
    now: datetime,
    verdict: VerdictT,
    *,
    status_matters: bool,
    statuses: Sequence[StatusT] | None,
    read_statuses: Callable[[], Sequence[StatusT]],
    foreign_writer: Callable[[Sequence[StatusT], str], str | None],
    shows: Callable[[Sequence[StatusT], str, VerdictT], bool],
    write: Callable[[str, str, VerdictT, evaluations.Posted | None, bool], Written],
    logger: logging.Logger,
) -> PublishOutcome:
    """Publish `decision` (shown as `verdict`) on its head under `base_ref`'s context,
    unless the same verdict is already there: `write(sha, context, verdict, previous,
    shown)` only when it changed (`status_matters`, `statuses`, `read_statuses`: as
    `compare` takes them; `foreign_writer(statuses, context)`: who else wrote the
    status; `shows(statuses, context, verdict)`: the bot's status already shows it).

    `shown` tells `write` that the statuses this evaluation read already show the
    verdict, written by the bot, though the store has no record of it: a run posted it
    and died (a killed worker, the store gone) before recording it. The status is then
    not posted again — a repeat would notify and count against the quota for nothing —
    and only what else the forge shows (a check run) is written."""
    context = context_for(base_ref)
    if decision.silent:
        return silent(context)
    sha = decision.head_sha
    seen = compare(
        store,
        key,
        sha,
        context,
        lambda _previous: posted(
            key, sha, context, verdict, now, status_posted=False, check_run_id=None
        ),
        status_matters=status_matters,
        statuses=statuses,
        read_statuses=read_statuses,
        foreign_writer=lambda found: foreign_writer(found, context),
        logger=logger,
    )
    previous, foreign = seen.previous, seen.foreign
    if seen.unchanged:
        return unchanged(context, previous.check_run_id if previous else None)
    shown = status_matters and statuses is not None and shows(statuses, context, verdict)
    if shown:
        logger.info(
            "%s: the bot's status %r on %s already shows this verdict, unrecorded; "
            "not posting it again",
            key,
            context,
            sha[:12],
        )
    written = write(sha, context, verdict, previous, shown)
    record(
        store,
        dataclasses.replace(
            seen.candidate,
            status_posted=written.status_shown,
            check_run_id=written.check_run_id,
        ),
    )
    return PublishOutcome(
        context,
        status_posted=written.status_posted,
        check_run_posted=written.check_run_id is not None,
        check_run_id=written.check_run_id,
        unchanged=not written.status_posted and written.check_run_id is None,
        overwrote=(foreign,) if foreign is not None and written.status_posted else (),
    )
