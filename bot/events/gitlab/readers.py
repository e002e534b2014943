"""Readers of the GitLab payload shapes several handlers share.

Each returns None for a shape it does not recognise: a surprising payload is
skipped with a reason, never an exception.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.events.effects import RememberPull
from bot.events.payload import get, positive_int, sha, text, utc_time

NO_MR = "the payload names no merge request of a project"
CLOSED = "the merge request is closed or merged: its last verdict stands"

# `locked` is a merge in progress: still open until GitLab says `merged`.
CLOSED_STATES = frozenset({"closed", "merged"})

_SPACED_OFFSET = re.compile(r"\s+([+-]\d{2}:?\d{2})$")


def gitlab_time(value: Any) -> datetime | None:
    """A GitLab time as an aware UTC datetime, in any of the forms its hooks use:
    `2015-05-17 18:21:36 UTC`, `2013-12-03T17:23:34Z`, `2021-04-28 21:50:00 +0200`."""
    if not isinstance(value, str) or not value.strip():
        return None
    stamp = value.strip()
    if stamp.endswith(" UTC"):
        stamp = stamp.removesuffix(" UTC") + "+00:00"
    elif stamp.endswith("Z"):
        stamp = stamp.removesuffix("Z") + "+00:00"
    else:
        stamp = _SPACED_OFFSET.sub(r"\1", stamp)
    return utc_time(stamp)


_KINDS = {
    "MergeRequest": "a merge request",
    "Issue": "an issue",
    "Commit": "a commit",
    "Snippet": "a snippet",
    "Note": "a note",
}


def kind_of(name: str | None) -> str:
    """A `noteable_type` / `awardable_type` in words, for reasons."""
    return _KINDS.get(name or "", "something else")


def is_closed(mr: Any) -> bool:
    """Whether a merge request object says it is closed or merged."""
    return get(mr, "state") in CLOSED_STATES


def merge_request(repo: str | None, attrs: Any, *, ended: bool = False) -> RememberPull | None:
    """What a Merge Request Hook's `object_attributes` say of the MR (None without
    the essentials). `ended`: the hook closed or merged it, whatever `state` says."""
    return RememberPull.of(
        repo,
        positive_int(get(attrs, "iid")),
        text(get(attrs, "target_branch")),
        sha(get(attrs, "last_commit", "id")),
        closed=ended or is_closed(attrs),
        updated_at=gitlab_time(get(attrs, "updated_at")),
    )


def merge_request_number(repo: str | None, mr: Any) -> int | None:
    """The `iid` of the `merge_request` object notes, emoji and pipelines carry."""
    return positive_int(get(mr, "iid")) if repo is not None else None
