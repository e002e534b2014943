"""Telling a PR its evaluation failed: the `error` status with what failed and the next try.

`Reporting` wraps a forge's pipeline so the worker (`bot.worker.ReportsFailures`)
can hand it a failure after backing the PR off. The report reads the PR once
and publishes `bot.core.failure.evaluation_failed` on its head through the
forge's usual publisher ("post only on change" included); a closed PR, or a
key that is no PR of this forge (a merge-queue group), gets nothing. When
the forge itself is what failed, the report usually fails too: that is
logged as kind and status, and the PR still backs off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.core.failure import evaluation_failed
from bot.keys import Job, PullKey
from bot.pipeline.errors import FORGE_ERRORS, describe, failure_reason
from bot.providers.base import Forge
from bot.worker import Pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureReport:
    """Posts the failure of an evaluation on the PR of `provider`, when the forge lets it."""

    forge: Forge
    provider: str

    def __call__(self, job: Job, error: Exception, retry_at: datetime) -> None:
        if not isinstance(job.key, PullKey) or job.key.provider != self.provider:
            return
        try:
            with self.forge.evaluation(job.key, job.access) as ev:
                head = ev.pull()
                if head.state != "open":
                    return
                decision = evaluation_failed(head.head_sha, failure_reason(error), retry_at)
                ev.publish(decision, details_url=None)
        except FORGE_ERRORS as exc:
            log.warning("%s: could not post the failure status (%s)", job.key, describe(exc))


@dataclass(frozen=True)
class Reporting:
    """A pipeline, and how it tells a PR its evaluation failed."""

    run: Pipeline
    report: FailureReport | None = None

    def __call__(self, job: Job) -> str:
        return self.run(job)

    def failed(self, job: Job, error: Exception, retry_at: datetime) -> None:
        if self.report is not None:
            self.report(job, error, retry_at)
