"""The work done for one dirty PR (or merge-queue group), around a pluggable pipeline.

`PullWorker.process(key)` claims the key's lease, records a run, hands the
pipeline a `bot.keys.Job` (the key, the claim's generation and installation,
and a `ClaimLease` on the store), and clears the dirty mark only if no newer
mark arrived meanwhile (otherwise it gives the lease back and asks to be run
again). The queue
calls it; it knows nothing about the queue.

When the pipeline raises, the PR keeps its mark and backs off
(`dirty.back_off`: `GATEBOT_FAILURE_BACKOFF_SECONDS`, doubled per failure in
a row, capped at `GATEBOT_FAILURE_BACKOFF_MAX_SECONDS`), and a pipeline that
`ReportsFailures` is told, so the PR's status says what failed and when it
is tried again.

The pipeline is a seam: a factory `(settings, store) -> pipeline`, named by
`GATEBOT_PIPELINE` as `module:function`. Unset, it is the pipeline of every
configured forge (`bot.pipeline.forges`: GitHub and GitLab) when one is
configured, else `record_only_pipeline`, which only records that the PR was
looked at; the forge pipelines plug in here without touching the queue.
"""

from __future__ import annotations

import enum
import importlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot import logs, metrics
from bot.keys import Job, PullKey, WorkKey
from bot.pipeline.errors import ForgeUnavailable
from bot.providers.base import FileTooLarge
from bot.settings import ConfigurationError, Settings
from bot.store import Store, dirty, runs, utcnow
from bot.store.dirty import Claim, Finish

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimLease:
    """A `bot.keys.Lease` on the dirty table: the claim the worker took for a job."""

    claim: Claim
    store: Store
    lease_seconds: float
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def owner(self) -> str:
        return self.claim.owner

    def extend(self) -> bool:
        """Renew the lease for another `lease_seconds`; False if it was lost."""
        with self.store.begin() as conn:
            return dirty.extend(conn, self.claim, self.clock(), self.lease_seconds)


Pipeline = Callable[[Job], str]
"""Does the work for one PR or merge group; returns a one-line summary for the run record."""

PipelineFactory = Callable[[Settings, Store], Pipeline]


@runtime_checkable
class ReportsFailures(Protocol):
    """A pipeline that can tell a PR its evaluation failed."""

    def __call__(self, job: Job) -> str: ...

    def failed(self, job: Job, error: Exception, retry_at: datetime) -> None:
        """Say on the PR (when the forge lets it) that `error` failed the evaluation and
        that it is tried again at `retry_at`."""
        ...


def record_only_pipeline(settings: Settings, store: Store) -> Pipeline:
    """The default pipeline: evaluate nothing, say when the PR was looked at."""

    def run(job: Job) -> str:
        return f"evaluated PR {job.key.number} of {job.key.repo} at {job.started_at.isoformat()}"

    return run


def load_pipeline(settings: Settings, store: Store) -> Pipeline:
    """Build the pipeline named by `settings.pipeline_factory` (`module:function`)."""
    name = settings.pipeline_factory
    module_name, _, attr = name.partition(":")
    try:
        factory: PipelineFactory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"GATEBOT_PIPELINE names {name}, which cannot be loaded ({exc})."
        ) from None
    return factory(settings, store)


def process_id() -> str:
    """Names this process in leases and run records: host, pid and a nonce."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


class Outcome(enum.Enum):
    SKIPPED = "skipped"  # clean, or another worker holds the lease
    DONE = "done"  # worked and cleared
    AGAIN = "again"  # worked, but a newer mark arrived: run once more
    LOST = "lost"  # worked, but the lease expired and another worker took over


class PullWorker:
    """Processes one claimed PR at a time per call; safe to call from many threads."""

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        *,
        owner: str,
        lease_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        backoff_seconds: float = 60.0,
        backoff_max_seconds: float = 3600.0,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds

    def process(self, key: WorkKey) -> Outcome:
        number = key.number if isinstance(key, PullKey) else None
        with logs.context(forge=key.provider, repo=key.repo, pr=number):
            return self._process(key)

    def _process(self, key: WorkKey) -> Outcome:
        # A token per claim: two threads of this process must not finish each
        # other's claims after a lease expired.
        claim_owner = f"{self.owner}/{secrets.token_hex(4)}"
        with self.store.begin() as conn:
            claim = dirty.claim(conn, key, claim_owner, self.clock(), self.lease_seconds)
            if claim is None:
                return Outcome.SKIPPED
            started_at = self.clock()
            run_id = runs.start(conn, key, claim.generation, claim_owner, started_at)

        job = Job(
            key=key,
            generation=claim.generation,
            access=claim.installation_id,
            started_at=started_at,
            lease=ClaimLease(claim, self.store, self.lease_seconds, self.clock),
        )
        started = time.monotonic()
        try:
            summary = self.pipeline(job)
        except Exception as exc:
            # The exception goes on to the queue's log; the PR stays dirty,
            # backing off, and its lease is freed now rather than at expiry.
            self._observe(key, started, exc)
            self._failed(job, claim, run_id, exc)
            raise
        except BaseException:
            with self.store.begin() as conn:
                runs.finish(conn, run_id, self.clock(), runs.ERROR)
                dirty.release(conn, claim)
            raise

        self._observe(key, started, None)
        with self.store.begin() as conn:
            runs.finish(conn, run_id, self.clock(), runs.OK, summary)
            finish = dirty.finish(conn, claim)
        log.info("%s generation %d: %s", key, claim.generation, finish.value)
        return {
            Finish.CLEARED: Outcome.DONE,
            Finish.NEWER_MARK: Outcome.AGAIN,
            Finish.LEASE_LOST: Outcome.LOST,
        }[finish]

    @staticmethod
    def _observe(key: WorkKey, started: float, error: Exception | None) -> None:
        outcome = "ok" if error is None else "error"
        metrics.EVALUATION_SECONDS.labels(forge=key.provider, outcome=outcome).observe(
            time.monotonic() - started
        )
        if error is not None:
            metrics.ERRORS.labels(kind=error_kind(error)).inc()

    def _failed(self, job: Job, claim: Claim, run_id: int, error: Exception) -> None:
        now = self.clock()
        with self.store.begin() as conn:
            retry_at = dirty.back_off(
                conn, claim, now, self.backoff_seconds, self.backoff_max_seconds
            )
            when = f"; next try at {retry_at.isoformat()}" if retry_at is not None else ""
            runs.finish(conn, run_id, now, runs.ERROR, f"failed ({type(error).__name__}){when}")
        if retry_at is None or not isinstance(self.pipeline, ReportsFailures):
            return
        self.pipeline.failed(job, error, retry_at)


def error_kind(error: Exception) -> str:
    """What failed an evaluation, as the `kind` of `gatebot_errors_total`."""
    if isinstance(error, ForgeUnavailable):
        return "forge"
    if isinstance(error, FileTooLarge):
        return "file_too_large"
    return "internal"


def build_worker(settings: Settings, store: Store) -> PullWorker:
    """The worker of this process: the configured pipeline over the store's dirty PRs."""
    return PullWorker(
        store,
        load_pipeline(settings, store),
        owner=process_id(),
        lease_seconds=settings.lease_seconds,
        backoff_seconds=settings.failure_backoff_seconds,
        backoff_max_seconds=settings.failure_backoff_max_seconds,
    )
