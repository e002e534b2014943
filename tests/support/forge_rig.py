"""What the GitHub and GitLab adapter rigs (`github_helpers`, `gitlab_helpers`) share:
the settable clock, one evaluation run the way the worker runs it, and the
migrated store each test gets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from bot.core.gate import Decision, decide
from bot.core.policy.evaluate import evaluate, needs_for
from bot.core.policy.loader import load_policy_file
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import Snapshot
from bot.pipeline.pull import note_head
from bot.providers.base import PolicySources, PublishOutcome
from bot.settings import Settings
from bot.store import Store
from support.fakes.forge import FakeForge
from support.policies import ONE_APPROVAL  # noqa: F401 (tests import it from here)

RequestT = TypeVar("RequestT")


class Clock:
    """A settable UTC clock (starts at the real time: the fakes' tokens use it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Evaluated(Generic[RequestT]):
    snapshot: Snapshot
    decision: Decision
    outcome: PublishOutcome | None
    sources: PolicySources
    needs: SnapshotNeeds
    requests: list[RequestT]
    tally: list[str]


def run_evaluation(
    fake: FakeForge,
    opened: AbstractContextManager[Any],
    *,
    publish: bool,
    details_url: str | None,
    inside: Callable[[Any], None] | None,
) -> Evaluated[Any]:
    """One evaluation as the worker runs it — PR (noted in its head history),
    policy, needs, snapshot, core evaluation, publication — in the `opened`
    evaluation context; the requests it sent, from the fake's log."""
    mark = fake.mark()
    with opened as ev:
        note_head(ev.forge.store, ev.key, ev.pull(), ev.forge.clock())
        sources = ev.policy_sources()
        assert sources.policy is not None, sources.error
        loaded = load_policy_file(sources.policy.text, sources.policy.filename)
        assert loaded.ok, loaded.problems
        needs = needs_for(loaded.policy)
        snapshot = ev.snapshot(needs)
        decision = decide(evaluate(loaded.policy, snapshot), snapshot)
        if inside is not None:
            inside(ev)
        outcome = ev.publish(decision, details_url=details_url) if publish else None
    return Evaluated(
        snapshot,
        decision,
        outcome,
        sources,
        needs,
        fake.requests_since(mark),
        ev.tally.lines(),
    )


@contextmanager
def migrated_store(settings: Settings) -> Iterator[Store]:
    """The settings' store, migrated; closed when the test is done."""
    store = Store(settings.database_url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
