"""Every configured forge in one worker: `GATEBOT_PIPELINE=bot.pipeline.forges:forge_pipeline`,
the default once a forge is configured.

The forges are the registry's (`bot.forges.FORGES`): each one the settings
configure gets its pipeline, built once when the worker starts by the
builder its entry names. A work key, a PR's or a merge-queue group's
(`bot.keys`), names its forge (`github`, `gitlab`); each job goes to the
pipeline of that forge, which tells the two kinds apart by the key's type.
A key of a forge that is not configured is answered with a sentence (its
marks came from deliveries recorded before the configuration changed)
rather than an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime

from bot.forges import ForgeKind
from bot.keys import Job
from bot.pipeline.operator import OperatorConfig, load_operator_config
from bot.settings import Settings
from bot.store import Store
from bot.worker import Pipeline, ReportsFailures

ForgePipelineFactory = Callable[[Settings, Store, OperatorConfig], Pipeline]
"""A forge's pipeline builder, as its registry entry names it."""


def forge_pipeline(settings: Settings, store: Store) -> ForgePipelines:
    """The pipeline of every forge the settings configure."""
    by_provider: dict[str, Pipeline] = {}
    operator = load_operator_config(settings)  # once, whichever forges use it
    for kind in settings.configured_forges:
        by_provider[kind.provider] = builder(kind)(settings, store, operator)
    return ForgePipelines(by_provider)


def builder(kind: ForgeKind) -> ForgePipelineFactory:
    """The pipeline builder `kind` names (`module:function`)."""
    module_name, _, attr = kind.pipeline.partition(":")
    factory: ForgePipelineFactory = getattr(importlib.import_module(module_name), attr)
    return factory


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
