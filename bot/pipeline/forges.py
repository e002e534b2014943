"""Every configured forge in one worker: `GATEBOT_PIPELINE=bot.pipeline.forges:forge_pipeline`,
the default once GitHub or GitLab is configured.

A work key, a PR's or a merge-queue group's (`bot.keys`), names its forge
(`github`, `gitlab`); each job goes to the pipeline of that forge, built once
when the worker starts, which tells the two kinds apart by the key's type. A key of a forge that is not configured is answered with a
sentence (its marks came from deliveries recorded before the configuration
changed) rather than an error.
"""

from __future__ import annotations

from datetime import datetime

from bot.keys import Job
from bot.pipeline.github import github_pipeline
from bot.pipeline.gitlab import gitlab_pipeline
from bot.pipeline.operator import load_operator_config
from bot.settings import Settings
from bot.store import Store
from bot.worker import Pipeline, ReportsFailures


def forge_pipeline(settings: Settings, store: Store) -> ForgePipelines:
    """The GitHub and the GitLab pipeline, whichever are configured."""
    by_provider: dict[str, Pipeline] = {}
    operator = load_operator_config(settings)  # once, whichever forges use it
    if settings.github_configured:
        by_provider["github"] = github_pipeline(settings, store, operator)
    if settings.gitlab_configured:
        by_provider["gitlab"] = gitlab_pipeline(settings, store, operator)

    return ForgePipelines(by_provider)


class ForgePipelines:
    """Each job to the pipeline of its key's forge."""

    def __init__(self, by_provider: dict[str, Pipeline]) -> None:
        self.by_provider = by_provider

    def __call__(self, job: Job) -> str:
        pipeline = self.by_provider.get(job.key.provider)
        if pipeline is None:
            return f"{job.key.provider} is not configured: {job.key} left alone"
        return pipeline(job)

    def failed(self, job: Job, error: Exception, retry_at: datetime) -> None:
        pipeline = self.by_provider.get(job.key.provider)
        if isinstance(pipeline, ReportsFailures):
            pipeline.failed(job, error, retry_at)
