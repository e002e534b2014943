"""Facts about a PR that only the bot itself recorded, read from the store for a snapshot.

The forges do not tell when a head was pushed or who pushed it, nor who
edited a comment; the web tier records those from the events
(`bot.store.heads`, `bot.store.tampering`), and the comment commands record
holds and overrides (`bot.store.holds`, `bot.store.overrides`). Every forge
adapter turns them into the snapshot's models the same way, here.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.snapshot import HeadTimes, Hold, Override, TamperMark
from bot.store import Store, heads, holds, overrides, tampering
from bot.store.dirty import PullKey


def head_times(
    store: Store, key: PullKey, shas: Iterable[str]
) -> tuple[tuple[HeadTimes, ...], tuple[str, ...]]:
    """Push and first-seen times of the given heads, and everyone who pushed one of them."""
    with store.begin() as conn:
        records = heads.for_shas(conn, key.provider, key.repo, set(shas))
    times = tuple(
        HeadTimes(sha=r.sha, synchronized_at=r.pushed_at, first_seen_at=r.first_seen_at)
        for r in records
    )
    pushers = tuple(sorted({r.pusher for r in records if r.pusher}))
    return times, pushers


def event_facts(
    store: Store, key: PullKey
) -> tuple[tuple[Hold, ...], tuple[Override, ...], tuple[TamperMark, ...]]:
    """Holds, overrides and tampering marks of the PR.

    Tampering marks are all returned (the core drops those older than the
    head's push); so are overrides (the core keeps only one of the current
    head given after its push).
    """
    with store.begin() as conn:
        marks = tampering.marks_for_pull(conn, key.provider, key.repo, key.number)
        held = holds.for_pull(conn, key)
        overridden = overrides.for_pull(conn, key)
    return (
        tuple(Hold(by=h.by, at=h.at) for h in held),
        tuple(Override(sha=o.sha, by=o.by, reason=o.reason, at=o.at) for o in overridden),
        tuple(
            TamperMark(comment_id=m.comment_id, editor=m.editor, author=m.author, at=m.at)
            for m in marks
        ),
    )
