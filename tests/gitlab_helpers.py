"""What the GitLab adapter tests share: a fake GitLab, a store and a forge wired together.

`rig` (import `gitlab_rig_fixture`) gives each test a started fake GitLab, a
migrated SQLite store, and a `GitLabForge` pointed at the fake with retries
that record their waits instead of sleeping and a clock the test can move;
at the end it fails if the adapter called a route the fake does not know.
`Rig.evaluate(...)` runs one whole evaluation the way the worker will: MR,
policy, needs, snapshot, core evaluation, publication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakegitlab import FakeGitLab, GitLabRequest

from bot.core.gate import Decision, decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.loader import load_policy_file
from bot.core.snapshot import Snapshot
from bot.providers.base import PolicySources, PublishOutcome
from bot.providers.gitlab.forge import PROVIDER, GitLabEvaluation, GitLabForge
from bot.providers.needs import SnapshotNeeds, needs_for
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store
from bot.store.dirty import PullKey

PROJECT = "acme/api"

ONE_APPROVAL = """\
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires:
      approvals: 1
      from: {permission: write}
"""

ONE_APPROVAL_AND_CI = ONE_APPROVAL + 'checks: ["ci/test"]\n'


class Clock:
    """A settable UTC clock (starts at the real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Evaluated:
    snapshot: Snapshot
    decision: Decision
    outcome: PublishOutcome | None
    sources: PolicySources
    needs: SnapshotNeeds
    requests: list[GitLabRequest]
    tally: list[str]


@dataclass
class Rig:
    fake: FakeGitLab
    store: Store
    settings: Settings
    clock: Clock
    sleeps: list[float] = field(default_factory=list)
    forge: GitLabForge = field(init=False)

    def __post_init__(self) -> None:
        self.forge = self.make_forge()

    def make_forge(self, **settings: Any) -> GitLabForge:
        """A new forge (empty bot-identity, user-id and merge-method caches)."""
        if settings:
            self.settings = self.settings.model_copy(update=settings)
        retries = RetryPolicies.build(
            max_wait=self.settings.retry_max_wait_seconds, sleep=self.sleeps.append
        )
        self.forge = GitLabForge(self.settings, self.store, retries=retries, clock=self.clock)
        return self.forge

    def key(self, number: int = 7, project: str = PROJECT) -> PullKey:
        return PullKey(PROVIDER, project, number)

    def open(self, number: int = 7, project: str = PROJECT) -> Any:
        """An evaluation context for merge request `number`."""
        return self.forge.evaluation(self.key(number, project), None)

    def evaluate(
        self,
        number: int = 7,
        project: str = PROJECT,
        *,
        publish: bool = True,
        details_url: str | None = "https://gatebot.example/gitlab/acme/api/7",
        inside: Callable[[GitLabEvaluation], None] | None = None,
    ) -> Evaluated:
        """One evaluation as the worker runs it; the requests it sent, from the fake's log."""
        mark = self.fake.mark()
        with self.open(number, project) as ev:
            ev.pull()
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
            self.fake.requests_since(mark),
            ev.tally.lines(),
        )


def routes(requests: list[GitLabRequest]) -> list[str]:
    """The route name of each request (`GET /projects/:id/merge_requests/:iid`)."""
    return [str(r.route) for r in requests]


def settings_for(fake: FakeGitLab, tmp_path: Path, **extra: str) -> Settings:
    values = {
        "GITLAB_URL": fake.url,
        "GITLAB_TOKEN": fake.token,
        "GITLAB_WEBHOOK_SECRET": fake.webhook_secret,
        "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'gatebot.sqlite3'}",
        **extra,
    }
    return Settings.model_validate(values)


@pytest.fixture(name="rig")
def gitlab_rig_fixture(fake_gitlab: FakeGitLab, tmp_path: Path) -> Iterator[Rig]:
    settings = settings_for(fake_gitlab, tmp_path)
    store = Store(settings.database_url)
    store.migrate()
    try:
        yield Rig(fake_gitlab, store, settings, Clock())
        fake_gitlab.assert_clean()
    finally:
        store.close()
