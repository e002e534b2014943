"""Following started deployments to their end: one pass of the deploy follower.

A pass (`DeployFollower.run_once`) takes the running deployments that are due
(`bot.store.deploy_outcomes.due`: their backoff elapsed — 15 s doubling to
5 min — or an event made them due at once), and for each:

1. started longer ago than `GATEBOT_DEPLOY_TIMEOUT_MINUTES`: marked
   `timed out`;
2. otherwise asked where it stands: a GitHub deployment's statuses, a
   workflow run, a GitLab pipeline through the forge (`deploy_progress`, the
   event that made it due being only a hint), a Jenkins or AWS CodeDeploy
   target through `TargetCaller.progress`; a webhook target is never asked —
   it reports through its signed callback (`bot.web.deploy_callback`);
3. an end is recorded once (`deploy_outcomes.end`, into the deploy audit
   too); still running, it is asked again after its interval, which doubles.

Then every deployment whose PR comment shows an older stage (or was never
posted) is brought up to date (`bot.pipeline.deploy_comment.tell`): the one
comment is edited in place.

A failure to reach the forge or the target is logged by its kind alone and
the deployment is asked again later; the timeout still ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.keys import PullKey
from bot.pipeline.deploy_comment import tell
from bot.pipeline.deploy_targets import TargetCaller
from bot.pipeline.errors import FORGE_ERRORS, describe
from bot.pipeline.operator import DeployTarget
from bot.providers.base import DeployProgress, Forge, ForgeEvaluation
from bot.store import Store, deploy_outcomes
from bot.store.deploy_outcomes import Outcome

log = logging.getLogger(__name__)

TARGET = "target"

FOLLOW_ERRORS = (*FORGE_ERRORS, LookupError, ValueError)
"""What asking about one deployment may raise without ending the pass: the forge or
the target failing, a forge no longer configured, an answer that cannot be read."""


@dataclass
class DeployFollower:
    """Follows every forge's deployments; one per process, run under the loop's lease."""

    store: Store
    forges: Mapping[str, Forge]
    """The configured forges by provider."""
    targets: Mapping[str, DeployTarget]
    caller: TargetCaller | None
    clock: Callable[[], datetime]
    timeout: timedelta

    def run_once(self) -> int:
        """One pass; how many deployments it asked about, ended or commented on."""
        now = self.clock()
        with self.store.begin() as conn:
            due = deploy_outcomes.due(conn, now, self.timeout)
        acted = 0
        for row in due:
            acted += self._follow(row, now)
        with self.store.begin() as conn:
            behind = {r.key: r for r in deploy_outcomes.unshown(conn)}
            behind.update({r.key: r for r in deploy_outcomes.unposted(conn)})
        for row in behind.values():
            acted += self._comment(row)
        return acted

    def _follow(self, row: Outcome, now: datetime) -> int:
        if now - row.started_at >= self.timeout:
            minutes = int(self.timeout.total_seconds() // 60)
            with self.store.begin() as conn:
                deploy_outcomes.end(
                    conn, row.key, deploy_outcomes.TIMED_OUT, now,
                    message=f"no outcome was reported within {minutes} min",
                )
            return 1
        try:
            progress = self._ask(row)
        except FOLLOW_ERRORS as exc:
            # The forge or the target could not say (down, rate-limited, an answer it
            # cannot read): asked again after the backoff; the timeout still ends it.
            log.warning("%s: deploy %s could not be followed (%s)", row.key.repo,
                        row.key.name, describe(exc))
            progress = None
        with self.store.begin() as conn:
            if progress is None or progress.stage == deploy_outcomes.RUNNING:
                if progress is not None:
                    deploy_outcomes.progressed(conn, row.key, link=progress.link,
                                               message=progress.message)
                deploy_outcomes.checked(conn, row.key, now)
                return 0 if progress is None else 1
            deploy_outcomes.end(conn, row.key, progress.stage, self.clock(),
                                link=progress.link, message=progress.message)
        return 1

    def _ask(self, row: Outcome) -> DeployProgress | None:
        """Where the deployment stands; None when nobody is asked (a webhook target)."""
        if row.reference is None:
            return None
        if row.method == TARGET:
            target = self.targets.get(row.target or "")
            if target is None or target.type == "webhook" or self.caller is None:
                return None
            return self.caller.progress(target, row.reference)
        with self._evaluation(row) as ev:
            return ev.deploy_progress(row.method, row.reference)

    def _comment(self, row: Outcome) -> int:
        try:
            with self._evaluation(row) as ev:
                return int(tell(self.store, ev, row, self.clock))
        except FOLLOW_ERRORS as exc:
            log.warning("%s: the comment of deploy %s could not be written (%s)",
                        row.key.repo, row.key.name, describe(exc))
            return 0

    def _evaluation(self, row: Outcome) -> AbstractContextManager[ForgeEvaluation]:
        forge = self.forges.get(row.key.provider)
        if forge is None:
            raise LookupError(f"{row.key.provider} is not configured")
        return forge.evaluation(PullKey(row.key.provider, row.key.repo, row.number), row.access)
