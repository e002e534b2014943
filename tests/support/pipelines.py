"""Pipelines for tests, plugged in through GATEBOT_PIPELINE.

`slow_pipeline` takes a while per PR, so that two workers wrongly holding
the same PR at once would have overlapping runs in the runs table.
`busy_pipeline` computes for a while per PR, holding the GIL like a policy
evaluation does: the benchmarks' load on the embedded consumer.
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


def busy_pipeline(settings: Settings, store: Store) -> Pipeline:
    seconds = float(os.environ.get("GATEBOT_TEST_PIPELINE_SECONDS", "0.05"))

    def run(job: Job) -> str:
        spin_until = time.thread_time() + seconds
        spins = 0
        while time.thread_time() < spin_until:
            spins += sum(i * i for i in range(200)) & 1
        return f"computed for PR {job.key.number} of {job.key.repo} ({spins})"

    return run
