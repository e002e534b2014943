"""The GitLab pipeline: merge requests of the projects `GITLAB_TOKEN` can reach.

Built once per worker process, like the GitHub one (`pull.full_pipeline`):
the operator's files are read at start, once for every forge (a broken one
stops the start with one sentence), one forge is shared by every evaluation. A job is a merge request (`PullPipeline`, keys of
provider `gitlab`, the MR's iid as number); a forge failure leaves it marked
for a later try (`errors.guarded`). The first run of a process records the
token user's username (`pull.RememberBotName`), so the routing knows the bot's
own notes. A key whose project path GitLab spells otherwise
(`NotThisProject`: another case, an old path) is dropped with a warning.
"""

from __future__ import annotations

import logging

from bot.forges import GITLAB
from bot.keys import Job, PullKey
from bot.pipeline.errors import guarded
from bot.pipeline.failures import FailureReport, Reporting
from bot.pipeline.operator import OperatorConfig, load_operator_config
from bot.pipeline.pull import RememberBotName, full_pipeline
from bot.providers.gitlab.bot_account import BOT_ACCOUNT_ID
from bot.providers.gitlab.forge import PROVIDER, GitLabForge, NotThisProject
from bot.settings import ConfigurationError, Settings
from bot.store import Store
from bot.worker import Pipeline

log = logging.getLogger(__name__)


def gitlab_pipeline(
    settings: Settings, store: Store, operator: OperatorConfig | None = None
) -> Pipeline:
    """Evaluate GitLab merge requests against their target branch's policy.

    `operator`: the operator's files, when the caller read them already.
    """
    if not GITLAB.configured(settings):
        raise ConfigurationError("The GitLab pipeline needs GITLAB_TOKEN (and the rest) first.")
    operator = operator if operator is not None else load_operator_config(settings)
    forge = GitLabForge(settings, store)
    pulls = full_pipeline(
        settings, store, forge, operator, GITLAB.policy_paths, retries=forge.retries,
        codeowners_paths=GITLAB.codeowners_paths,
    )
    remember_name = RememberBotName(store, PROVIDER, BOT_ACCOUNT_ID, forge.bot_username, forge.clock)

    def run(job: Job) -> str:
        if job.key.provider != PROVIDER:
            return f"{job.key.provider} PRs are not evaluated by the GitLab pipeline"
        if not isinstance(job.key, PullKey):
            return f"{job.key}: GitLab has no merge groups the bot judges"
        try:
            return guarded(job.key, lambda: remember_name.after(pulls(job)))
        except NotThisProject as exc:
            # A delivery named the project under another spelling or an old path:
            # nothing is read, posted or merged under it (and it is not retried).
            log.warning("%s", exc)
            return str(exc)

    return Reporting(run, FailureReport(forge, PROVIDER))
