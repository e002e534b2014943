"""The verdict on GitHub: a commit status and a check run, both named `gatebot: <base>`.

- The status carries the state and the one-line description (≤ 140
  characters, from `render.status_description`) and links to the details
  page; the check run carries the title (`render.check_run_title`) and the
  whole explanation as markdown (`render.markdown`).
- A pending gate is an `in_progress` check run (never a passing
  conclusion); `error` is a `failure` titled "policy error". In `report`
  mode only a `neutral` check run is posted, never a status.
- Nothing is written when the same verdict (state, description, details
  link, mode) was already posted for this head and context — unless the
  status under the bot's context was since written by someone else, which
  is overwritten and logged (`bot.providers.publishing`). When the store
  has no record of it but the statuses the evaluation read show the bot's
  status saying exactly the verdict (a run that posted it died before
  recording it), only the check run is written.
- The status and the check run are independent: they are posted at once
  (the status from a second thread), which saves one round trip, and
  PyGithub's pause between writes, per changed verdict. Should either fail,
  the error surfaces once both are done (the status's first) and nothing is
  recorded, as when they were posted one after the other: the next
  evaluation writes both again (a check run created meanwhile is then
  created again; GitHub shows the newest of a name).
- Retries: a status is keyed by (sha, context) and posting the same one twice
  changes nothing the gate reads, so it is retried like a read. A check-run
  creation is not idempotent: after a 5xx or a lost answer the bot lists the
  head's check runs of that name by its own App first, and updates the one it
  finds rather than creating a second. Updates (PATCH) are retried.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from github import GithubException
from github.CommitStatus import CommitStatus
from github.Repository import Repository

from bot.core import render
from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.keys import WorkKey
from bot.providers import parallel, publishing
from bot.providers.base import PublishOutcome
from bot.retry import RetryPolicies, classify
from bot.store import Store, evaluations

log = logging.getLogger(__name__)

_CONCLUSIONS: dict[GateState, str] = {
    GateState.SUCCESS: "success",
    GateState.FAILURE: "failure",
    GateState.ERROR: "failure",
}


@dataclass(frozen=True)
class Verdict:
    """A decision as GitHub will show it."""

    state: str
    description: str
    title: str
    summary: str
    details_url: str | None
    report_only: bool
    explanation: str

    @classmethod
    def of(cls, decision: Decision, details_url: str | None) -> Verdict:
        return cls(
            state=decision.state,
            description=render.status_description(decision),
            title=render.check_run_title(decision),
            summary=render.markdown(decision, details_url),
            details_url=details_url,
            report_only=decision.report_only,
            explanation=json.dumps(render.to_json(decision)),
        )

    @property
    def run_completed(self) -> bool:
        return self.report_only or self.state != GateState.PENDING

    def check_run_fields(self, now: datetime) -> dict[str, Any]:
        fields: dict[str, Any] = {"output": {"title": self.title, "summary": self.summary}}
        if self.details_url:
            fields["details_url"] = self.details_url
        if self.run_completed:
            fields["status"] = "completed"
            fields["conclusion"] = "neutral" if self.report_only else _CONCLUSIONS[GateState(self.state)]
            fields["completed_at"] = now
        else:
            fields["status"] = "in_progress"
        return fields


@dataclass(frozen=True)
class ShownStatus:
    """A commit status as the publisher reads it: its context, who wrote it (REST's
    login: a bot's with `[bot]`; None when GitHub names nobody) and what it shows."""

    context: str
    creator: str | None
    state: str
    description: str | None
    target_url: str | None

    def shows(self, verdict: Verdict) -> bool:
        return (self.state, self.description, self.target_url) == (
            verdict.state,
            verdict.description,
            verdict.details_url,
        )


def shown_statuses(statuses: Iterable[CommitStatus]) -> tuple[ShownStatus, ...]:
    """REST's statuses (newest first) as the publisher reads them."""
    return tuple(
        ShownStatus(
            s.context,
            s.creator.login if s.creator is not None else None,
            s.state,
            s.description,
            s.target_url,
        )
        for s in statuses
    )


def latest(statuses: Sequence[ShownStatus], context: str) -> ShownStatus | None:
    """The latest status under `context`: `statuses` come newest first (REST's order), or
    one per context (GraphQL's)."""
    return next((status for status in statuses if status.context == context), None)


def _written_by(status: ShownStatus, bot_login: str) -> bool:
    return status.creator is not None and status.creator.lower() == bot_login.lower()


def foreign_writer(
    statuses: Sequence[ShownStatus], context: str, bot_login: str
) -> str | None:
    """Who wrote the latest status under `context`, when it was not the bot (else None)."""
    status = latest(statuses, context)
    if status is None or _written_by(status, bot_login):
        return None
    return status.creator or "an unknown account"


def already_shown(
    statuses: Sequence[ShownStatus], context: str, verdict: Verdict, bot_login: str
) -> bool:
    """The latest status under `context` is the bot's and shows exactly `verdict`."""
    status = latest(statuses, context)
    return status is not None and _written_by(status, bot_login) and status.shows(verdict)


def post_status(
    repo: Repository, sha: str, context: str, verdict: Verdict, retries: RetryPolicies
) -> None:
    commit = repo.get_commit(sha)
    options: dict[str, Any] = {"description": verdict.description, "context": context}
    if verdict.details_url:
        options["target_url"] = verdict.details_url
    retries.idempotent_write.call(
        lambda: commit.create_status(verdict.state, **options), what="POST status"
    )


def update_check_run(
    repo: Repository, run_id: int, verdict: Verdict, retries: RetryPolicies, now: datetime
) -> None:
    run = repo.get_check_run(run_id)
    fields = verdict.check_run_fields(now)
    retries.idempotent_write.call(lambda: run.edit(**fields), what="PATCH check run")


def create_check_run(
    repo: Repository,
    sha: str,
    context: str,
    verdict: Verdict,
    retries: RetryPolicies,
    now: datetime,
    app_slug: str,
) -> int:
    """Create the check run; after an answer that may hide a creation, look before retrying."""
    fields = verdict.check_run_fields(now)

    def create() -> int:
        return retries.unsafe_write.call(
            lambda: repo.create_check_run(name=context, head_sha=sha, **fields).id,
            what="POST check run",
        )

    try:
        return create()
    except (GithubException, requests.exceptions.RequestException) as exc:
        # A 5xx, a dropped connection or a timeout: GitHub may have created it.
        failure = classify(exc, now.timestamp())
        if failure.kind not in ("server", "connection", "timeout"):
            raise
        log.warning(
            "creating check run %r on %s failed (%s); looking before retrying",
            context,
            sha[:12],
            failure.status or failure.kind,
        )
    existing = find_own_check_run(repo, sha, context, app_slug, retries)
    if existing is not None:
        update_check_run(repo, existing, verdict, retries, now)
        return existing
    return create()


def find_own_check_run(
    repo: Repository, sha: str, name: str, app_slug: str, retries: RetryPolicies
) -> int | None:
    """The newest check run named `name` on `sha` created by this App, if any."""
    runs = retries.read.call(
        lambda: list(repo.get_commit(sha).get_check_runs(check_name=name, filter="all")),
        what="GET check runs by name",
    )
    own = [r.id for r in runs if r.app is not None and r.app.slug == app_slug]
    return max(own) if own else None


@dataclass
class Publisher:
    """Publishes one evaluation's decision for one PR head."""

    repo: Repository
    store: Store
    key: WorkKey
    retries: RetryPolicies
    bot_login: str

    @property
    def app_slug(self) -> str:
        return self.bot_login.removesuffix("[bot]")

    def publish(
        self,
        decision: Decision,
        base_ref: str,
        details_url: str | None,
        now: datetime,
        statuses: Sequence[ShownStatus] | None,
        read_statuses: Callable[[], Sequence[ShownStatus]],
    ) -> PublishOutcome:
        """Post `decision` unless it is already there (`publishing.on_change`)."""
        verdict = Verdict.of(decision, details_url)

        def write(
            sha: str,
            context: str,
            verdict: Verdict,
            previous: evaluations.Posted | None,
            shown: bool,
        ) -> publishing.Written:
            def check_run() -> int:
                return self._check_run(verdict, sha, context, now, previous)

            if verdict.report_only:
                return publishing.Written(False, False, check_run())
            if shown:
                return publishing.Written(False, True, check_run())
            # Independent writes, sent at once (the status's error first).
            _, run_id = parallel.gather(
                lambda: post_status(self.repo, sha, context, verdict, self.retries), check_run
            )
            return publishing.Written(True, True, run_id)

        return publishing.on_change(
            self.store,
            self.key,
            decision,
            base_ref,
            now,
            verdict,
            status_matters=not verdict.report_only,
            statuses=statuses,
            read_statuses=read_statuses,
            foreign_writer=lambda found, context: foreign_writer(found, context, self.bot_login),
            shows=lambda found, context, verdict: already_shown(
                found, context, verdict, self.bot_login
            ),
            write=write,
            logger=log,
        )

    def _check_run(
        self,
        verdict: Verdict,
        sha: str,
        context: str,
        now: datetime,
        previous: evaluations.Posted | None,
    ) -> int:
        if previous is not None and previous.check_run_id is not None:
            was_running = previous.state == GateState.PENDING and not previous.report_only
            # A completed run cannot go back to in progress: a pending verdict
            # after a completed one is a new run.
            if was_running or verdict.run_completed:
                update_check_run(self.repo, previous.check_run_id, verdict, self.retries, now)
                return previous.check_run_id
        return create_check_run(self.repo, sha, context, verdict, self.retries, now, self.app_slug)
