"""Pipelines for tests, plugged in through GATEBOT_PIPELINE.

`slow_pipeline` takes a while per PR, so that two workers wrongly holding
the same PR at once would have overlapping runs in the runs table.
"""

from __future__ import annotations

import os
import time

from bot.keys import Job
from bot.settings import Settings
from bot.store import Store
from bot.worker import Pipeline


def slow_pipeline(settings: Settings, store: Store) -> Pipeline:
    seconds = float(os.environ.get("GATEBOT_TEST_PIPELINE_SECONDS", "0.3"))

    def run(job: Job) -> str:
        time.sleep(seconds)
        return f"slowly evaluated PR {job.key.number} of {job.key.repo}"

    return run
