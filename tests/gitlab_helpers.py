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
from pathlib import Path
from typing import Any

import pytest
from fakegitlab import FakeGitLab, GitLabRequest
from support.forge_rig import ONE_APPROVAL, Clock, Evaluated, migrated_store, run_evaluation

from bot.keys import PullKey
from bot.providers.gitlab.forge import PROVIDER, GitLabEvaluation, GitLabForge
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store

PROJECT = "acme/api"

ONE_APPROVAL_AND_CI = ONE_APPROVAL + 'checks: ["ci/test"]\n'


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
    ) -> Evaluated[GitLabRequest]:
        """One evaluation as the worker runs it; the requests it sent, from the fake's log."""
        return run_evaluation(
            self.fake,
            self.open(number, project),
            publish=publish,
            details_url=details_url,
            inside=inside,
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
    with migrated_store(settings) as store:
        yield Rig(fake_gitlab, store, settings, Clock())
        fake_gitlab.assert_clean()
