"""Every Prometheus metric gatebot keeps, defined once, and the scrape of `/metrics`.

The layers that do the work count here (deliveries in the webhook endpoints,
forge requests in the counting transport adapter, evaluations and their
failures in the worker, merges and deploys where their outcome is written
to the audit log); the web tier only exposes the result (`exposition`).

Counters and histograms live in process memory, or, when
`PROMETHEUS_MULTIPROC_DIR` names a directory (`bot.metrics_files` sets it up
for `gatebot serve`, `gatebot worker` and gunicorn), in one file per process
there, which every scrape sums: whichever process answers `/metrics` reports
the work of all of them. What the store knows (the queue) is read at scrape
time by `StoreCollector`, so it is the same whoever is asked.

Label values are bounded: forges, event names of verified deliveries,
outcomes from fixed lists, route templates (`bot.providers.routes`), HTTP
statuses; never a repository, a person or a path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "gatebot_deliveries",
    "Webhook deliveries received, by forge, event and outcome (accepted, ignored, duplicate, "
    "failed, bad_signature, malformed, too_large, refused, unconfigured, setup_mode,"
    " store_unreachable).",
    ["forge", "event", "outcome"],
)
EVALUATION_SECONDS = Histogram(
    "gatebot_evaluation_seconds",
    "Time one evaluation of a PR (or merge group) took, from claim to result, by forge and "
    "outcome (ok, error).",
    ["forge", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
FORGE_REQUESTS = Counter(
    "gatebot_forge_requests",
    "HTTP requests sent to a forge, by forge, route template and status (`none`: no answer).",
    ["forge", "route", "status"],
)
RATE_LIMIT_REMAINING = Gauge(
    "gatebot_forge_rate_limit_remaining",
    "Requests left in the forge's rate-limit window, as its last answer said, by forge and "
    "rate-limit resource.",
    ["forge", "resource"],
    multiprocess_mode="mostrecent",
)
MERGES = Counter(
    "gatebot_merges",
    "Merge outcomes written to the audit log (merged, refused, abandoned, head_moved, unknown).",
    ["forge", "outcome"],
)
DEPLOYS = Counter(
    "gatebot_deploys",
    "Deploy outcomes written to the audit log (deployed, failed, unknown, not_deployed, "
    "requested).",
    ["forge", "outcome"],
)
ERRORS = Counter(
    "gatebot_errors",
    "Errors by kind: an evaluation failed by the forge (forge), a policy file too large to "
    "read (file_too_large), anything else in an evaluation (internal), a web request that "
    "raised (web).",
    ["kind"],
)


def label(text: str) -> str:
    """An outcome as a label value: `not deployed` → `not_deployed`."""
    return text.strip().replace(" ", "_").lower()


class StoreCollector(Collector):
    """The work waiting in the store, read at each scrape: PRs marked and the oldest mark."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # Imported here: the store counts merges and deploys in this module.
        from bot.store import dirty, utcnow

        depth = GaugeMetricFamily(
            "gatebot_queue_depth",
            "PRs and merge groups marked for work (the store's dirty marks), by forge.",
            labels=["forge"],
        )
        oldest = GaugeMetricFamily(
            "gatebot_oldest_mark_age_seconds",
            "How long the PR marked longest ago has waited, by forge (no sample: none waits).",
            labels=["forge"],
        )
        now = utcnow()
        try:
            with self.store.begin() as conn:
                backlog = dirty.backlog(conn)
        except SQLAlchemyError as exc:
            # The processes' own metrics still answer; /readyz says the store is down.
            log.warning("metrics: the store cannot be read (%s)", type(exc).__name__)
            return
        for forge, count, since in backlog:
            depth.add_metric([forge], count)
            oldest.add_metric([forge], max(0.0, (now - since).total_seconds()))
        yield depth
        yield oldest


class _Forward(Collector):
    """This process's own metrics (single-process mode), beside the store's."""

    def collect(self) -> Iterator[object]:
        yield from REGISTRY.collect()


def exposition(store: Store | None) -> tuple[bytes, str]:
    """The text of a scrape and its content type: every process's metrics (summed from
    `PROMETHEUS_MULTIPROC_DIR` when set, else this process's) and the store's queue."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward())
    if store is not None:
        registry.register(StoreCollector(store))
    return generate_latest(registry), CONTENT_TYPE_LATEST
