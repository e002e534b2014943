"""The GitHub pipeline: what `bot.pipeline.forges` runs for GitHub PRs and merge-queue
groups whenever a GitHub App is configured.

Built once per worker process: the operator's files are read here (a
broken one stops the start with one sentence), the App's forge is shared by
every evaluation. A job is a PR (`PullPipeline`) or a merge-queue group
(`MergeGroupPipeline`, keys of provider `github-mq`); a forge failure in
either leaves it marked for a later try (`errors.guarded`).
"""

from __future__ import annotations

from bot.pipeline.commands import CommandStep
from bot.pipeline.deploy import DeployStep
from bot.pipeline.deploy_targets import TargetCaller
from bot.pipeline.errors import guarded
from bot.pipeline.merge import MergeStep
from bot.pipeline.merge_group import GroupWaker, MergeGroupPipeline
from bot.pipeline.operator import load_operator_config
from bot.pipeline.pull import PullPipeline
from bot.providers.counting import RequestTally
from bot.providers.github.forge import PROVIDER, GitHubForge
from bot.providers.github.policy_source import POLICY_PATHS, owner_policy_path
from bot.settings import ConfigurationError, Settings
from bot.store import Store, apps
from bot.store.dirty import PullKey
from bot.store.merge_groups import queue_provider
from bot.web import links
from bot.worker import Pipeline, PullJob


def github_pipeline(settings: Settings, store: Store) -> Pipeline:
    """Evaluate GitHub PRs against their base branch's policy and publish the verdict."""
    if settings.github_app_id is None:
        raise ConfigurationError(
            "The GitHub pipeline needs a GitHub App: set GITHUB_APP_ID and the rest first."
        )
    app_id = settings.github_app_id
    operator = load_operator_config(settings)
    forge = GitHubForge(settings, store)

    def details_url(key: PullKey) -> str | None:
        return links.details_url(settings, key.provider, key.repo, key.number)

    merging = MergeStep(store, forge.clock, lock_seconds=settings.lease_seconds)
    deploying = DeployStep(
        store, forge.clock, operator.targets, TargetCaller(forge.retries)
    )
    pulls = PullPipeline(
        forge,
        store,
        operator,
        POLICY_PATHS,
        details_url,
        on_posted=GroupWaker(store, forge.clock),
        merging=merging,
        deploying=deploying,
        commands=CommandStep(store, forge.clock),
        owner_policy=owner_policy_path,
    )
    groups = MergeGroupPipeline(forge, store)

    identity = AppIdentity(forge, store, app_id)

    def run(job: PullJob) -> str:
        if job.key.provider == queue_provider(PROVIDER):
            return guarded(job.key, lambda: identity.after(groups(job)))
        if job.key.provider != PROVIDER:
            return f"{job.key.provider} PRs are not evaluated by the GitHub pipeline"
        return guarded(job.key, lambda: identity.after(pulls(job)))

    return run


class AppIdentity:
    """Tells the store the App's slug once per process, so the routing knows the bot's
    own statuses (they are written as `<slug>[bot]`) from the first one on."""

    def __init__(self, forge: GitHubForge, store: Store, app_id: int) -> None:
        self.forge = forge
        self.store = store
        self.app_id = app_id
        self.known = False

    def after(self, summary: str) -> str:
        if not self.known:
            # Read once per process by the evaluations already (`GET /app`).
            login = self.forge.app.bot_login(RequestTally())
            with self.store.begin() as conn:
                apps.remember(
                    conn, PROVIDER, self.app_id, login.removesuffix("[bot]"), self.forge.clock()
                )
            self.known = True
        return summary
