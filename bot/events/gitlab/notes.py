"""`Note Hook`: comments, on merge requests only.

- A new note on an MR (`object_attributes.action` `create`; older servers
  send no action, and a note whose `created_at` equals its `updated_at` is
  taken as new) goes into the MR's command inbox (`ReceiveComment`), where
  the pipeline parses, runs and answers its commands; the MR's stored parts
  are dropped and it is marked.
- An edited note (`update`) drops the parts and marks the MR only: edited
  comments never run commands.
- A note too long to hold commands (over `MAX_BODY_CHARS`), or without its
  id, author or time, is not received; the MR is still marked.

A note on a closed or merged MR is received and the MR marked, without
dropping its parts, since commands such as `/gate deploy` are given on
merged MRs; an edit there does no work. System notes (GitLab's own record of
a change, which the change's own event reports), the bot's own notes (its
username from the store; while not known, no note is taken for the bot's)
and notes on issues, commits and snippets cause no work.
"""

from __future__ import annotations

from bot.core.commands import MAX_BODY_CHARS
from bot.events.effects import DropPullParts, MarkPulls, ReceiveComment
from bot.events.gitlab import readers
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import get, positive_int, text
from bot.events.router import Routed, Router, do, ignore

router: Router[Delivery] = Router()

MERGE_REQUEST = "MergeRequest"
CREATE = "create"


@router.register("Note Hook", needs_slug=True)
def note(d: Delivery) -> Routed:
    attrs = d.get("object_attributes")
    noteable = text(get(attrs, "noteable_type"))
    if noteable != MERGE_REQUEST:
        return ignore(f"a note on {readers.kind_of(noteable)}, not on a merge request")
    number = readers.merge_request_number(d.repo, d.get("merge_request"))
    if d.repo is None or number is None:
        return ignore(readers.NO_MR)
    if get(attrs, "system") is True:
        return ignore("a system note: GitLab's record of a change its own event reports")
    if d.is_bot(d.get("user")):
        return ignore("the bot's own note")
    received, why_not = _received(d, d.repo, number) if is_new(d) else (None, None)
    if readers.is_closed(d.get("merge_request")):
        if received is not None:
            return do(received, note="a note on a closed merge request: commands are read")
        return ignore(readers.CLOSED)
    return do(received, DropPullParts(d.repo, number), MarkPulls(d.repo, (number,)), note=why_not)


def is_new(d: Delivery) -> bool:
    """Whether the note was just written (not edited)."""
    if d.action is not None:
        return d.action == CREATE
    created = readers.gitlab_time(d.get("object_attributes", "created_at"))
    updated = readers.gitlab_time(d.get("object_attributes", "updated_at"))
    return created is not None and created == updated


def _received(d: Delivery, repo: str, number: int) -> tuple[ReceiveComment | None, str | None]:
    """The note for the MR's command inbox, or why it holds no commands."""
    attrs = d.get("object_attributes")
    note_id = positive_int(get(attrs, "id"))
    author = text(d.get("user", "username"))
    created_at = readers.gitlab_time(get(attrs, "created_at"))
    body = get(attrs, "note")
    if note_id is None or author is None or created_at is None or not isinstance(body, str):
        return None, "a note without its id, author, time or text is not read for commands"
    if len(body) > MAX_BODY_CHARS:
        return None, "a note too long to hold commands is not read for them"
    return ReceiveComment(repo, number, note_id, author, body, created_at), None
