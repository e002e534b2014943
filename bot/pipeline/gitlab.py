"""The GitLab pipeline: merge requests of the projects `GITLAB_TOKEN` can reach.

Built once per worker process, like the GitHub one: the operator's files are
read here (a broken one stops the start with one sentence), one forge is
shared by every evaluation. A job is a merge request (`PullPipeline`, keys of
provider `gitlab`, the MR's iid as number); a forge failure leaves it marked
for a later try (`errors.guarded`). The first run of a process records the
token user's username, so the routing knows the bot's own notes.
"""

from __future__ import annotations

from bot.pipeline.commands import CommandStep
from bot.pipeline.deploy import DeployStep
from bot.pipeline.deploy_targets import TargetCaller
from bot.pipeline.errors import guarded
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import load_operator_config
from bot.pipeline.pull import PullPipeline
from bot.providers.gitlab.forge import PROVIDER, GitLabForge
from bot.providers.gitlab.policy_source import POLICY_PATHS
from bot.settings import ConfigurationError, Settings
from bot.store import Store, apps
from bot.store.dirty import PullKey
from bot.web import links
from bot.web.gitlab_events import BOT_ACCOUNT_ID
from bot.worker import Pipeline, PullJob


def gitlab_pipeline(settings: Settings, store: Store) -> Pipeline:
    """Evaluate GitLab merge requests against their target branch's policy."""
    if settings.gitlab_token is None:
        raise ConfigurationError("The GitLab pipeline needs GITLAB_TOKEN (and the rest) first.")
    operator = load_operator_config(settings)
    forge = GitLabForge(settings, store)

    def details_url(key: PullKey) -> str | None:
        return links.details_url(settings, key.provider, key.repo, key.number)

    pulls = PullPipeline(
        forge,
        store,
        operator,
        POLICY_PATHS,
        details_url,
        merging=MergeStep(store, forge.clock, lock_seconds=settings.lease_seconds),
        deploying=DeployStep(store, forge.clock, operator.targets, TargetCaller(forge.retries)),
        commands=CommandStep(store, forge.clock),
    )
    known = False

    def run(job: PullJob) -> str:
        nonlocal known
        if job.key.provider != PROVIDER:
            return f"{job.key.provider} PRs are not evaluated by the GitLab pipeline"
        summary = guarded(job.key, lambda: pulls(job))
        if not known:
            with store.begin() as conn:
                apps.remember(conn, PROVIDER, BOT_ACCOUNT_ID, forge.bot_username(), forge.clock())
            known = True
        return summary

    return run
