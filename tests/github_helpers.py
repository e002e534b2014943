"""What the GitHub adapter tests share: a fake GitHub, a store and a forge wired together.

`rig` (import `rig_fixture`) gives each test a started fake GitHub, a migrated SQLite store, and a
`GitHubForge` pointed at the fake with PyGithub's pauses at zero, retries
that record their waits instead of sleeping, and a clock the test can move; at the end, every request and response of the
test is validated against GitHub's operation schemas.
`Rig.evaluate(...)` runs one whole evaluation the way the worker will: PR,
policy, needs, snapshot, core evaluation, publication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakegithub import FakeGitHub, RecordedRequest
from support.forge_rig import ONE_APPROVAL, Clock, Evaluated, migrated_store, run_evaluation

from bot.keys import PullKey
from bot.pipeline.errors import guarded
from bot.providers.github.auth import AppCredentials, GitHubApp
from bot.providers.github.client import ClientConfig
from bot.providers.github.forge import GitHubEvaluation, GitHubForge
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store, dirty, utcnow
from bot.worker import Outcome, PullWorker

REPO = "acme/api"

ONE_APPROVAL_AND_CI = ONE_APPROVAL + 'checks: ["ci / test"]\n'


@dataclass
class Rig:
    fake: FakeGitHub
    store: Store
    settings: Settings
    clock: Clock
    sleeps: list[float] = field(default_factory=list)
    forge: GitHubForge = field(init=False)

    def __post_init__(self) -> None:
        self.forge = self.make_forge()

    def make_forge(self, **settings: Any) -> GitHubForge:
        """A forge (with a fresh App: empty token and identity caches)."""
        if settings:
            self.settings = self.settings.model_copy(update=settings)
        retries = RetryPolicies.build(
            max_wait=self.settings.retry_max_wait_seconds, sleep=self.sleeps.append
        )
        config = ClientConfig.from_settings(self.settings)
        credentials = AppCredentials(self.fake.app_id, self.fake.private_key_pem)
        app = GitHubApp(credentials, config, retries, clock=self.clock)
        self.forge = GitHubForge(
            self.settings, self.store, app=app, retries=retries, clock=self.clock
        )
        return self.forge

    def settle(self, pipeline: Callable[[Any], str], number: int = 7) -> Outcome:
        """Mark PR `number` and run it through a worker until it stops asking to be
        looked at again (a merge re-marks it, for one)."""
        key = self.key(number)
        with self.store.begin() as conn:
            dirty.mark(conn, key, utcnow(), self.installation())
        outcome = Outcome.AGAIN
        for _ in range(10):
            outcome = PullWorker(
                self.store, lambda job: guarded(job.key, lambda: pipeline(job)),
                owner="test:1", lease_seconds=30,
            ).process(key)
            if outcome is not Outcome.AGAIN:
                break
        return outcome

    def key(self, number: int, repo: str = REPO) -> PullKey:
        return PullKey("github", repo, number)

    def installation(self, repo: str = REPO) -> int:
        return self.fake.installation_id(repo)

    def open(self, number: int, repo: str = REPO) -> Any:
        """An evaluation context for PR `number`."""
        return self.forge.evaluation(self.key(number, repo), self.installation(repo))

    def evaluate(
        self,
        number: int,
        repo: str = REPO,
        *,
        publish: bool = True,
        details_url: str | None = "https://gatebot.example/acme/api/pull/7",
        inside: Callable[[GitHubEvaluation], None] | None = None,
    ) -> Evaluated[RecordedRequest]:
        """One evaluation as the worker runs it; the requests it sent, from the fake's log."""
        return run_evaluation(
            self.fake,
            self.open(number, repo),
            publish=publish,
            details_url=details_url,
            inside=inside,
        )


def request_lines(requests: list[RecordedRequest]) -> list[str]:
    """`METHOD operation-id` per request, for exact comparisons."""
    return [f"{r.method} {r.operation_id}" for r in requests]


def at_once(lines: list[str], writes: int = 2) -> list[str]:
    """`lines` with the last `writes` sorted: a verdict's status and check run are
    posted at the same time, so they reach GitHub (and the tally) in either order."""
    return lines[:-writes] + sorted(lines[-writes:]) if writes else list(lines)


def backdate_pr(fake: FakeGitHub, repo: str, number: int, seconds: int = 30) -> None:
    """Move the PR's `updated_at` into the past, as for a PR nobody touched lately."""
    with fake.world.lock:
        pr = fake.world.pull(fake.world.repo(repo), number)
        pr.updated_at = pr.updated_at - timedelta(seconds=seconds)


def settings_for(fake: FakeGitHub, tmp_path: Path, **extra: str) -> Settings:
    values = {
        "GITHUB_APP_ID": str(fake.app_id),
        "GITHUB_PRIVATE_KEY": fake.private_key_pem,
        "GITHUB_API_URL": fake.url,
        "GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
        "GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES": "0",
        "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'gatebot.sqlite3'}",
        **extra,
    }
    return Settings.model_validate(values)


@pytest.fixture(name="rig")
def rig_fixture(fake_github: FakeGitHub, tmp_path: Path) -> Iterator[Rig]:
    settings = settings_for(fake_github, tmp_path)
    with migrated_store(settings) as store:
        yield Rig(fake_github, store, settings, Clock())
        # Every request the adapter sent and every answer it got, against GitHub's schemas.
        fake_github.assert_all_valid()
