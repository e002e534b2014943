"""A PR's slow-changing parts kept in the store between evaluations (`bot.store.pull_parts`).

Files, commits and reviews change only with a PR's head SHA or its
`updated_at` (a review, a comment, a label, an edit all move it), so an
evaluation that finds both unchanged, within the forge cache's TTL, reuses
what the last one read. `load` and `save` hold that rule once; each forge
says which parts it keeps (a pydantic model) and when it reads them. A part
the forge can change without moving either is never kept (GitLab's
approvals: `bot.providers.gitlab.forge`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot.keys import PullKey
from bot.providers.base import PullHead
from bot.store import Store, pull_parts

log = logging.getLogger(__name__)

Parts = TypeVar("Parts", bound=BaseModel)


def load(
    store: Store,
    key: PullKey,
    head: PullHead,
    model: type[Parts],
    *,
    ttl_seconds: float,
    now: datetime,
) -> Parts | None:
    """The parts stored for `head` (its SHA and `updated_at`), if still fresh and readable."""
    with store.begin() as conn:
        stored = pull_parts.get(conn, key.provider, key.repo, key.number)
    if stored is None or (stored.head_sha, stored.updated_at) != (head.head_sha, head.updated_at):
        return None
    if stored.fetched_at <= now - timedelta(seconds=ttl_seconds):
        return None
    try:
        return model.model_validate_json(stored.parts)
    except ValidationError:
        log.warning("%s: stored PR parts are unreadable; reading them again", key)
        return None


def save(store: Store, key: PullKey, head: PullHead, parts: BaseModel, now: datetime) -> None:
    with store.begin() as conn:
        pull_parts.put(
            conn, key.provider, key.repo, key.number, head.head_sha, head.updated_at,
            parts.model_dump_json(), now,
        )

