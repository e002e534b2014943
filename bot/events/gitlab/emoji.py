"""`Emoji Hook`: an award emoji given or taken back on a merge request or on one of its notes.

Awards may count as approvals, like approval comments, and do not move
what the MR's stored parts are kept by: the parts are dropped and the MR
marked. Awards on closed or merged MRs, on issues, snippets or their notes,
and the bot's own (it reacts to every command it reads) cause no work.
"""

from __future__ import annotations

from bot.events.effects import DropPullParts, MarkPulls
from bot.events.gitlab import readers
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import text
from bot.events.router import Routed, Router, do, ignore

router: Router[Delivery] = Router()

MERGE_REQUEST = "MergeRequest"
NOTE = "Note"


@router.register("Emoji Hook", needs_slug=True)
def award(d: Delivery) -> Routed:
    awarded = text(d.get("object_attributes", "awardable_type"))
    if awarded == NOTE:
        noteable = text(d.get("note", "noteable_type"))
        if noteable != MERGE_REQUEST:
            return ignore(f"an award on a note on {readers.kind_of(noteable)}")
    elif awarded != MERGE_REQUEST:
        return ignore(f"an award on {readers.kind_of(awarded)}, not on a merge request")
    number = readers.merge_request_number(d.repo, d.get("merge_request"))
    if d.repo is None or number is None:
        return ignore(readers.NO_MR)
    if d.is_bot(d.get("user")):
        return ignore("the bot's own award")
    if readers.is_closed(d.get("merge_request")):
        return ignore(readers.CLOSED)
    return do(DropPullParts(d.repo, number), MarkPulls(d.repo, (number,)))
