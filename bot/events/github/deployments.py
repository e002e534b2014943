"""`deployment_status`: a deployment the bot may have created moved.

Any action, any state: the deployment's id goes to the deploy follower as a
hint (`FollowDeploy`), which re-reads the deployment's statuses from the API
before recording an outcome — the payload's state is never taken as the
outcome. A deployment the bot did not create matches nothing in the store
and does nothing. No PR is marked: a deployment changes no verdict.
"""

from __future__ import annotations

from bot.events.effects import FollowDeploy
from bot.events.github.delivery import Delivery
from bot.events.payload import get
from bot.events.router import Routed, Router, do, ignore
from bot.providers.base import ForgeDeployment

router: Router[Delivery] = Router()


@router.register("deployment_status")
def deployment_status(d: Delivery) -> Routed:
    ident = get(d.get("deployment"), "id")
    if d.repo is None or not isinstance(ident, int):
        return ignore("the payload names no repository or deployment")
    return do(
        FollowDeploy(d.repo, ForgeDeployment.method, str(ident)),
        note="deployment status: asked about at once if the bot follows it",
    )
