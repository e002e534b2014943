"""The GitHub pipeline: what `bot.pipeline.forges` runs for GitHub PRs and merge-queue
groups whenever a GitHub App is configured.

Built once per worker process (`pull.full_pipeline`): the operator's files
are read at start, once for every forge (a broken one stops the start with
one sentence), the App's forge is shared by every evaluation. A job is a PR (`PullPipeline`) or a merge-queue group
(`MergeGroupPipeline`, a `GroupKey`); a forge failure in
either leaves it marked for a later try (`errors.guarded`).
"""

from __future__ import annotations

from bot.forges import GITHUB
from bot.keys import GroupKey, Job
from bot.pipeline.errors import guarded
from bot.pipeline.failures import FailureReport, Reporting
from bot.pipeline.merge_group import GroupWaker, MergeGroupPipeline
from bot.pipeline.operator import OperatorConfig, load_operator_config
from bot.pipeline.pull import RememberBotName, full_pipeline
from bot.providers.counting import RequestTally
from bot.providers.github.forge import PROVIDER, GitHubForge
from bot.providers.github.policy_source import owner_policy_path
from bot.settings import ConfigurationError, Settings
from bot.store import Store
from bot.worker import Pipeline


def github_pipeline(
    settings: Settings, store: Store, operator: OperatorConfig | None = None
) -> Pipeline:
    """Evaluate GitHub PRs against their base branch's policy and publish the verdict.

    `operator`: the operator's files, when the caller read them already.
    """
    if not GITHUB.configured(settings):
        raise ConfigurationError(
            "The GitHub pipeline needs a GitHub App: set GITHUB_APP_ID and the rest first."
        )
    operator = operator if operator is not None else load_operator_config(settings)
    forge = GitHubForge(settings, store)
    pulls = full_pipeline(
        settings,
        store,
        forge,
        operator,
        GITHUB.policy_paths,
        retries=forge.retries,
        on_posted=GroupWaker(store, forge.clock),
        owner_policy=owner_policy_path,
        codeowners_paths=GITHUB.codeowners_paths,
    )
    groups = MergeGroupPipeline(forge, store)
    # Read once per process by the evaluations already (`GET /app`); the App writes
    # as `<slug>[bot]`, the store keeps the slug.
    remember_name = RememberBotName(
        store,
        PROVIDER,
        settings.github_app_id,
        lambda: forge.app.bot_login(RequestTally()).removesuffix("[bot]"),
        forge.clock,
    )

    def run(job: Job) -> str:
        if job.key.provider != PROVIDER:
            return f"{job.key.provider} PRs are not evaluated by the GitHub pipeline"
        if isinstance(job.key, GroupKey):
            return guarded(job.key, lambda: remember_name.after(groups(job)))
        return guarded(job.key, lambda: remember_name.after(pulls(job)))

    return Reporting(run, FailureReport(forge, PROVIDER))
