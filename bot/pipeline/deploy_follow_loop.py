"""The deploy follower in the background: a pass every `GATEBOT_DEPLOY_FOLLOW_SECONDS`.

`gatebot serve` (with the embedded queue) and `gatebot worker` each run a
`DeployFollowLoop` thread, as they run the catch-up rounds. With several
instances, the store-held lease the catch-up uses (`bot.store.catchup_rounds`,
under its own name) lets one instance run a pass at a time; a killed
instance blocks the passes only until its lease expires. Each deployment
keeps its own backoff in the store, so the pass itself can be frequent: it
reads only the deployments that are due.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import links
from bot.periodic import Periodic, owner_id
from bot.pipeline.deploy_follow import DeployFollower
from bot.pipeline.deploy_targets import TargetCaller
from bot.pipeline.operator import load_operator_config
from bot.providers.base import Forge
from bot.providers.github.forge import GitHubForge
from bot.providers.gitlab.forge import GitLabForge
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store, catchup_rounds, utcnow

log = logging.getLogger(__name__)

LEASE = "deploy_follow"


class DeployFollowLoop:
    """Runs passes of `follower` under the store's lease."""

    def __init__(self, follower: DeployFollower, interval: float) -> None:
        self.follower = follower
        self.interval = interval
        # A pass that asks many deployments may outlast the interval.
        self.lease_seconds = max(4 * interval, 120.0)
        self.owner = owner_id()
        self._periodic = Periodic("deploy-follower", interval, self.run_once)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def run_once(self) -> bool:
        """One pass unless another instance holds the lease; True when this call ran it."""
        store = self.follower.store
        with store.begin() as conn:
            if not catchup_rounds.take(conn, self.owner, self.follower.clock(),
                                       self.lease_seconds, name=LEASE):
                return False
        acted = 0
        error = None
        try:
            acted = self.follower.run_once()
        except Exception as exc:
            # A bug in one pass must not end the loop: logged, tried next pass.
            log.exception("deploy follower pass failed")
            error = f"the pass failed ({type(exc).__name__})"
        with store.begin() as conn:
            catchup_rounds.finish(conn, self.owner, self.follower.clock(), caught_up_to=None,
                                  requests=0, marked=acted, error=error, name=LEASE)
        return True


def build_follower(settings: Settings, store: Store) -> DeployFollower:
    """The follower of every configured forge's deployments and the operator's targets."""
    retries = RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
    forges: dict[str, Forge] = {}
    if settings.github_configured:
        forges[GitHubForge.provider] = GitHubForge(settings, store, retries=retries)
    if settings.gitlab_configured:
        forges[GitLabForge.provider] = GitLabForge(settings, store, retries=retries)
    operator = load_operator_config(settings)
    return DeployFollower(
        store=store,
        forges=forges,
        targets=operator.targets,
        caller=TargetCaller(retries, callback_url=links.deploy_callback_url(settings)),
        clock=utcnow,
        timeout=timedelta(minutes=settings.deploy_timeout_minutes),
    )


def start_deploy_follower(settings: Settings, store: Store) -> DeployFollowLoop:
    """Start following deployments in the background."""
    loop = DeployFollowLoop(build_follower(settings, store), settings.deploy_follow_seconds)
    loop.start()
    return loop
