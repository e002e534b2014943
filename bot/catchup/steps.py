"""The catch-up steps the settings call for: GitHub's redelivery, then a reconcile per
configured forge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.catchup.listing import GitHubLister, GitLabLister
from bot.catchup.reconcile import Reconcile
from bot.catchup.redeliver import redeliver_step
from bot.catchup.round import Step
from bot.keys import PullKey
from bot.providers.github.auth import AppCredentials, GitHubApp
from bot.providers.github.client import ClientConfig as GitHubConfig
from bot.providers.gitlab.client import ClientConfig as GitLabConfig
from bot.providers.gitlab.client import token_of
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store


def steps(
    settings: Settings,
    store: Store,
    clock: Callable[[], datetime],
    *,
    only_repo: str | None = None,
    since: datetime | None = None,
    wake: Callable[[PullKey], object] | None = None,
) -> list[Step]:
    """The steps of a round, in order. `only_repo` and `since` narrow the reconcile to one
    repository and start it at a given time instead of the marks (`gatebot reconcile`);
    `wake` is told of each PR marked (the queue, so the work starts at once)."""
    retries = RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
    found: list[Step] = []
    # The delivery log is the App's, not a repository's: a narrowed run leaves it alone.
    if only_repo is None and since is None:
        redeliver = redeliver_step(settings, store, clock)
        if redeliver is not None:
            found.append(redeliver)
    if settings.github_configured and settings.github_app_id is not None:
        config = GitHubConfig.from_settings(settings)
        credentials = AppCredentials(settings.github_app_id, settings.github_private_key_pem())
        app = GitHubApp(credentials, config, retries, clock=clock)
        found.append(
            Reconcile(
                GitHubLister(app, config, retries),
                store,
                budget=settings.catchup_requests,
                only_repo=only_repo,
                since=since,
                wake=wake,
            )
        )
    if settings.gitlab_configured:
        found.append(
            Reconcile(
                GitLabLister(GitLabConfig.from_settings(settings), token_of(settings), retries),
                store,
                budget=settings.catchup_requests,
                only_repo=only_repo,
                since=since,
                wake=wake,
            )
        )
    return found
