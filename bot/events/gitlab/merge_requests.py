"""`Merge Request Hook`: a merge request opened, pushed to, edited, approved, closed or merged.

- open / reopen / update / approved / unapproved / approval / unapproval:
  the MR is remembered (`target_branch` as its base, `last_commit.id` as its
  head, open or not by `state` — a retargeted MR is judged under its new
  target from now on) and marked. An `update` carrying `oldrev` is a push
  (the delivery record itself keeps its pusher). open, reopen, a push and
  a retarget (`changes.target_branch`) also go into the MR's head history
  (`RecordHead`): the push time of a head — which GitLab approvals, naming
  no commit, are judged by — and the retarget that voids approvals.
- Every action but `open` and a push also drops the MR's stored parts: a
  title, description, label, draft or target change (`changes` names which)
  or an approval may not move what they are kept by.
- close / merge: remembered closed, its parts dropped, and marked once, so
  the pipeline sees it closed and stops, or deploys what was merged.

Any other action on a closed or merged MR does no work (its last verdict
stands); what it says of the MR is still remembered.
"""

from __future__ import annotations

from bot.events.effects import DropPullParts, MarkPulls, RecordHead
from bot.events.gitlab import readers
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import get, text
from bot.events.router import Routed, Router, do, ignore

router: Router[Delivery] = Router()

OPEN = "open"
UPDATE = "update"
CHANGES = ("open", "reopen", "update", "approved", "unapproved", "approval", "unapproval")
ENDINGS = ("close", "merge")
# Actions that give the MR a head; a push and a retarget (both `update`) too.
_HEAD_CHANGE = ("open", "reopen")


def is_retarget(d: Delivery) -> bool:
    """An update that changed the target branch (`changes.target_branch`)."""
    return d.action == UPDATE and get(d.get("changes"), "target_branch") is not None


def is_push(d: Delivery) -> bool:
    """An `update` that brought new commits: GitLab sends `oldrev` exactly then."""
    return d.action == UPDATE and text(d.get("object_attributes", "oldrev")) is not None


@router.register("Merge Request Hook", *CHANGES)
def merge_request_changed(d: Delivery) -> Routed:
    mr = readers.merge_request(d.repo, d.get("object_attributes"))
    if mr is None:
        return ignore(readers.NO_MR)
    if mr.closed:
        return ignore(readers.CLOSED, mr)
    pushed = is_push(d)
    parts = None if d.action == OPEN or pushed else DropPullParts(mr.repo, mr.number)
    announced = pushed or d.action in _HEAD_CHANGE or is_retarget(d)
    head = RecordHead.of(mr, pushed=pushed) if announced else None
    return do(mr, head, parts, MarkPulls(mr.repo, (mr.number,)),
              note=_note(d, mr.base_ref, pushed))


@router.register("Merge Request Hook", *ENDINGS)
def merge_request_ended(d: Delivery) -> Routed:
    mr = readers.merge_request(d.repo, d.get("object_attributes"), ended=True)
    if mr is None:
        return ignore(readers.NO_MR)
    return do(mr, DropPullParts(mr.repo, mr.number), MarkPulls(mr.repo, (mr.number,)))


def _note(d: Delivery, base_ref: str, pushed: bool) -> str | None:
    if pushed:
        return "new commits pushed"
    changes = d.get("changes")
    if get(changes, "target_branch") is not None:
        old = text(get(changes, "target_branch", "previous"))
        return f"retargeted from {old or 'another branch'} to {base_ref}"
    if d.action == UPDATE and isinstance(changes, dict):
        changed = sorted(k for k in changes if isinstance(k, str) and k not in _BOOKKEEPING)
        return f"changed: {', '.join(changed)}" if changed else None
    return None


# `changes` entries every update carries, which say nothing about what changed.
_BOOKKEEPING = frozenset({"updated_at", "updated_by_id", "last_edited_at", "last_edited_by_id"})
