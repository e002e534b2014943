"""The verdict on GitLab: one commit status on the head, named `gatebot: <target branch>`.

GitLab has no check runs: the status carries the state, the one-line
description (≤ 140 characters, `render.status_description`) and the link
to the details page, which holds the whole explanation.

- States: success → `success`, failure and error → `failed`, pending →
  `pending`.
- `report` mode never blocks, so it never posts `failed` or `pending`: it
  posts `success` described as "report only — <what the gate found>", which
  shows the verdict on the merge request without holding it (an external
  status is part of the pipeline, and "pipelines must succeed" would block
  on anything else).
- Nothing is written when the same verdict (state, description, details
  link, mode) was already posted for this head and context — unless the
  status under the bot's context was since written by another account,
  which is overwritten and logged. The store's `evaluations` record is what
  "already posted" means, as on GitHub (`bot.providers.publishing`).
- GitLab refuses to move a status into the state it is already in: a
  second `pending` answers 400 "Cannot transition status" (a finished
  status is never moved: GitLab starts a new one). That answer is never an
  error. When the pending status GitLab has already says what the verdict
  says (a retried post, a record the store lost), nothing changes. The same
  holds before posting: when the statuses the evaluation read show the
  bot's newest status under the context saying exactly the verdict (a run
  that posted it died before recording it), nothing is posted. When its
  words are out of date ("on hold by ..." since), GitLab offers no way to
  edit them: the open status is finished as `canceled` ("superseded") and a
  new `pending` one posted, so the merge request shows the current reason.
  Should the second post fail, the evaluation is not recorded and the next
  one posts again (a finished status never refuses).
- Retries: a status is keyed by (sha, name) and a repeat changes nothing the
  gate reads (at worst it is the 400 above), so it is retried like a read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core import render
from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.keys import PullKey
from bot.providers import publishing
from bot.providers.base import PublishOutcome
from bot.providers.gitlab.client import GitLabClient, GitLabError, encoded, project
from bot.retry import RetryPolicies
from bot.store import Store, evaluations

log = logging.getLogger(__name__)

STATES: dict[GateState, str] = {
    GateState.SUCCESS: "success",
    GateState.FAILURE: "failed",
    GateState.ERROR: "failed",
    GateState.PENDING: "pending",
}
"""GitLab's commit status word for each gate state."""
REPORT_ONLY = "report only"


@dataclass(frozen=True)
class Verdict:
    """A decision as GitLab will show it."""

    state: str
    """The gate's state (success, failure, error, pending)."""
    description: str
    details_url: str | None
    report_only: bool
    explanation: str

    @classmethod
    def of(cls, decision: Decision, details_url: str | None) -> Verdict:
        return cls(
            state=decision.state,
            description=render.status_description(decision),
            details_url=details_url,
            report_only=decision.report_only,
            explanation=json.dumps(render.to_json(decision)),
        )

    @property
    def gitlab_state(self) -> str:
        return "success" if self.report_only else STATES[GateState(self.state)]

    @property
    def gitlab_description(self) -> str:
        if not self.report_only:
            return self.description
        found = GateState(self.state).word
        return render.shorten(f"{REPORT_ONLY} — {found}: {self.description}")


def latest(statuses: Sequence[Mapping[str, Any]], context: str) -> Mapping[str, Any] | None:
    """The newest status named `context`, if any."""
    named = [s for s in statuses if s.get("name") == context]
    return max(named, key=lambda s: int(s.get("id") or 0)) if named else None


def _author(status: Mapping[str, Any]) -> str | None:
    author = (status.get("author") or {}).get("username")
    return str(author) if author else None


def _written_by(status: Mapping[str, Any], bot_username: str) -> bool:
    author = _author(status)
    return author is not None and author.lower() == bot_username.lower()


def foreign_writer(
    statuses: Sequence[Mapping[str, Any]], context: str, bot_username: str
) -> str | None:
    """Who wrote the latest status named `context`, when it was not the bot (else None)."""
    status = latest(statuses, context)
    if status is None or _written_by(status, bot_username):
        return None
    return _author(status) or "an unknown account"


def shows(status: Mapping[str, Any], verdict: Verdict) -> bool:
    """`status` says exactly what `verdict` posts."""
    return (status.get("status"), status.get("description"), status.get("target_url")) == (
        verdict.gitlab_state,
        verdict.gitlab_description,
        verdict.details_url,
    )


def already_shown(
    statuses: Sequence[Mapping[str, Any]], context: str, verdict: Verdict, bot_username: str
) -> bool:
    """The latest status named `context` is the bot's and shows exactly `verdict`."""
    status = latest(statuses, context)
    return status is not None and _written_by(status, bot_username) and shows(status, verdict)


def already_in_state(exc: GitLabError) -> bool:
    """GitLab's answer to a status posted in the state it already has."""
    return exc.status == 400 and "cannot transition" in exc.text.lower()


SUPERSEDED = "superseded by a newer verdict"


def own_open_status(
    statuses: Sequence[Mapping[str, Any]], context: str, bot_username: str
) -> Mapping[str, Any] | None:
    """The bot's newest pending or running status named `context`, if any."""
    open_ones = [
        s
        for s in statuses
        if s.get("name") == context
        and s.get("status") in ("pending", "running")
        and _written_by(s, bot_username)
    ]
    return max(open_ones, key=lambda s: int(s.get("id") or 0)) if open_ones else None


def post_status(
    client: GitLabClient,
    repo: str,
    sha: str,
    ref: str | None,
    context: str,
    state: str,
    description: str,
    details_url: str | None,
    retries: RetryPolicies,
) -> None:
    """One `POST /projects/:id/statuses/:sha`; a refusal raises `GitLabError`."""
    body: dict[str, Any] = {"state": state, "name": context, "description": description}
    if details_url:
        body["target_url"] = details_url
    if ref:
        body["ref"] = ref
    path = f"{project(repo)}/statuses/{encoded(sha)}"
    retries.idempotent_write.call(
        lambda: client.request("post", path, body=body), what="POST commit status"
    )


@dataclass
class Publisher:
    """Publishes one evaluation's decision for one merge request head."""

    client: GitLabClient
    store: Store
    key: PullKey
    retries: RetryPolicies
    bot_username: str

    def publish(
        self,
        decision: Decision,
        target_branch: str,
        source_branch: str | None,
        details_url: str | None,
        now: datetime,
        statuses: Sequence[Mapping[str, Any]] | None,
        read_statuses: Callable[[], Sequence[Mapping[str, Any]]],
    ) -> PublishOutcome:
        """Post `decision` unless it is already there (`publishing.on_change`)."""

        def write(
            sha: str,
            context: str,
            verdict: Verdict,
            _previous: evaluations.Posted | None,
            shown: bool,
        ) -> publishing.Written:
            if shown:
                return publishing.Written(status_posted=False, status_shown=True)
            posted = self._post(sha, source_branch, context, verdict, read_statuses)
            return publishing.Written(status_posted=posted, status_shown=True)

        return publishing.on_change(
            self.store,
            self.key,
            decision,
            target_branch,
            now,
            Verdict.of(decision, details_url),
            status_matters=True,
            statuses=statuses,
            read_statuses=read_statuses,
            foreign_writer=lambda found, context: foreign_writer(
                found, context, self.bot_username
            ),
            shows=lambda found, context, verdict: already_shown(
                found, context, verdict, self.bot_username
            ),
            write=write,
            logger=log,
        )

    def _post(
        self,
        sha: str,
        ref: str | None,
        context: str,
        verdict: Verdict,
        read_statuses: Callable[[], Sequence[Mapping[str, Any]]],
    ) -> bool:
        """Post the verdict's status; False when GitLab already shows exactly it."""
        state, description = verdict.gitlab_state, verdict.gitlab_description

        def post(state: str, description: str) -> None:
            post_status(
                self.client, self.key.repo, sha, ref, context, state, description,
                verdict.details_url, self.retries,
            )

        try:
            post(state, description)
            return True
        except GitLabError as exc:
            if not already_in_state(exc):
                raise
        current = own_open_status(read_statuses(), context, self.bot_username)
        if current is None or shows(current, verdict):
            log.info("%s: the status %r on %s is already %s", self.key, context, sha[:12], state)
            return False
        log.info(
            "%s: replacing the open status %r on %s, whose description is out of date",
            self.key,
            context,
            sha[:12],
        )
        post("canceled", SUPERSEDED)
        post(state, description)
        return True
