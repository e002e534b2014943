"""Results on a commit: `Pipeline Hook` and `Job Hook`.

Each marks the merge requests whose head is the commit (`MarkHead`: those
the store knows with that head, and those it posted a verdict for on it).
A pipeline for a merge request also names the MR (`merge_request.iid`),
which covers merged-results pipelines, whose commit is not the MR's head;
the MR is left out when it is closed or merged (its last verdict stands) or
belongs to another project (a fork's pipeline).

A pipeline is also a hint to the deploy follower (`FollowDeploy`, by the
pipeline's id): when it is one the bot started to deploy, the follower
re-reads it from the API before recording an outcome.

Every status marks: a job or pipeline starting again after a result makes
its check pending. The bot's own commit statuses show in GitLab's pipelines
too; they cannot wake the bot in a loop, since a verdict is posted only
when it changes.
"""

from __future__ import annotations

from bot.events.effects import FollowDeploy, MarkHead
from bot.events.gitlab import readers
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import get, sha
from bot.events.router import Routed, Router, do, ignore
from bot.providers.base import PipelineRun

router: Router[Delivery] = Router()

NO_COMMIT = "the payload names no project or commit"


@router.register("Pipeline Hook")
def pipeline(d: Delivery) -> Routed:
    head = sha(d.get("object_attributes", "sha"))
    ident = d.get("object_attributes", "id")
    follow = (
        FollowDeploy(d.repo, PipelineRun.method, str(ident))
        if d.repo is not None and isinstance(ident, int) else None
    )
    if d.repo is None or head is None:
        return ignore(NO_COMMIT, follow)
    return do(MarkHead(d.repo, head, _merge_request(d)), follow)


@router.register("Job Hook")
def job(d: Delivery) -> Routed:
    head = sha(d.get("sha"))
    if d.repo is None or head is None:
        return ignore(NO_COMMIT)
    return do(MarkHead(d.repo, head))


def _merge_request(d: Delivery) -> tuple[int, ...]:
    mr = d.get("merge_request")
    number = readers.merge_request_number(d.repo, mr)
    if number is None or readers.is_closed(mr):
        return ()
    target, project = get(mr, "target_project_id"), d.get("project", "id")
    if isinstance(target, int) and isinstance(project, int) and target != project:
        return ()
    return (number,)
