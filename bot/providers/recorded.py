"""Facts about a PR that only the bot itself recorded, read from the store for a snapshot.

The forges do not tell when a head became the PR's head or who pushed it,
nor who edited a comment; the web tier and the worker record those
(`bot.store.pull_heads`, `bot.store.heads`, `bot.store.tampering`), and the
comment commands record holds and overrides (`bot.store.holds`,
`bot.store.overrides`). Every forge
adapter turns them into the snapshot's models the same way, here.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.snapshot import HeadChange, Hold, Override, Review, TamperMark
from bot.keys import PullKey
from bot.store import Store, heads, holds, overrides, pull_heads, tampering


def head_facts(
    store: Store, key: PullKey, shas: Iterable[str]
) -> tuple[tuple[HeadChange, ...], tuple[str, ...]]:
    """The PR's head history (with who pushed each head, when known), and everyone
    who pushed one of the given SHAs."""
    with store.begin() as conn:
        history = pull_heads.history(conn, key)
        wanted = set(shas)
        records = heads.for_shas(conn, key.provider, key.repo, wanted | {r.sha for r in history})
    pusher_of = {r.sha: r.pusher or None for r in records}
    changes = tuple(
        HeadChange(sha=r.sha, base_ref=r.base_ref, at=r.at, pusher=pusher_of.get(r.sha))
        for r in history
    )
    pushers = tuple(sorted({r.pusher for r in records if r.pusher and r.sha in wanted}))
    return changes, pushers


def unpushed(store: Store, key: PullKey, shas: Iterable[str]) -> set[str]:
    """Those of `shas` no recorded push names a pusher for (a lost hook, or a
    commit pushed under another tip)."""
    wanted = set(shas)
    with store.begin() as conn:
        records = heads.for_shas(conn, key.provider, key.repo, wanted)
    return wanted - {r.sha for r in records if r.pusher}


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
            TamperMark(comment_id=_marked(m), editor=m.editor, author=m.author, at=m.at)
            for m in marks
            # A review's edits are all recorded; only someone else's is tampering.
            if m.subject != tampering.REVIEW or m.editor.casefold() != m.author.casefold()
        ),
    )


def _marked(mark: tampering.TamperRecord) -> int | str:
    # The core reads a review's body as the comment `review-<id>`.
    return f"review-{mark.comment_id}" if mark.subject == tampering.REVIEW else mark.comment_id


def with_review_edits(store: Store, key: PullKey, reviews: Iterable[Review]) -> tuple[Review, ...]:
    """`reviews` with their recorded body edits (the last editor and time): the forges'
    APIs do not say that a review was edited, only the webhook does."""
    with store.begin() as conn:
        marks = tampering.marks_for_pull(conn, key.provider, key.repo, key.number)
    last = {m.comment_id: m for m in marks if m.subject == tampering.REVIEW}
    edited = []
    for review in reviews:
        mark = last.get(review.id) if isinstance(review.id, int) else None
        if mark is not None and mark.at > review.submitted_at:
            review = review.model_copy(
                update={"edited": True, "edited_by": mark.editor, "edited_at": mark.at}
            )
        edited.append(review)
    return tuple(edited)
