"""Tampering: an approval-looking comment edited by someone other than its author.

Such an edit could put approval words in a reviewer's mouth, so the gate
fails and says who edited what, until the next push (a mark older than the
head's push time no longer counts) or an override. The web tier records who
edited a comment (the webhook's `sender`) as a `TamperMark`; a comment whose
`edited_by` differs from its author is treated the same way. Review bodies
count as comments (`review-<id>`): the forges' APIs do not say a review was
edited at all, so only the `pull_request_review.edited` webhook tells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.policy.approvals import REVIEW_PREFIX, CommentMatcher, review_comment
from bot.core.policy.context import Context, fold
from bot.core.policy.result import Result, Status, TamperFacts, join_words, node


@dataclass(frozen=True, slots=True)
class _Edit:
    comment_id: str
    editor: str
    author: str
    at: datetime | None


def _subject(comment_id: str) -> str:
    if comment_id.startswith(REVIEW_PREFIX):
        return f"approving review body {comment_id[len(REVIEW_PREFIX):]}"
    return f"approval comment {comment_id}"


def evaluate_tampering(ctx: Context, approval_like: CommentMatcher) -> Result:
    """FAILED when an approval-looking comment was tampered with since the last push."""
    if not approval_like:
        return node("tampering", "tampering", Status.APPROVED,
                    "no approval comments to tamper with: the policy has no comment methods")
    # Review bodies count as comments, under the ids approvals give them.
    readable = (*ctx.snapshot.comments, *(review_comment(r) for r in ctx.snapshot.reviews))
    comments = {str(c.id): c for c in readable}
    edits: dict[str, _Edit] = {}
    for mark in ctx.snapshot.tampering:
        if fold(mark.editor) != fold(mark.author):
            edits.setdefault(str(mark.comment_id),
                             _Edit(str(mark.comment_id), mark.editor, mark.author, mark.at))
    for comment in readable:
        editor = comment.edited_by
        if comment.edited and editor and fold(editor) != fold(comment.author.login):
            edits.setdefault(str(comment.id),
                             _Edit(str(comment.id), editor, comment.author.login,
                                   comment.edited_at))
    pushed = ctx.head_push_time
    found: list[_Edit] = []
    for edit in edits.values():
        if pushed is not None and edit.at is not None and edit.at < pushed:
            continue  # a push since then ended it
        current = comments.get(edit.comment_id)
        # A comment that is gone can no longer be read: it may have looked like an approval.
        if current is None or approval_like.matches(current.body):
            found.append(edit)
    if not found:
        return node("tampering", "tampering", Status.APPROVED,
                    "no approval comment was edited by someone else")
    found.sort(key=lambda e: (e.at is None, e.at, e.comment_id))
    first = found[0]
    sentence = join_words([
        f"{e.editor} edited {e.author}'s {_subject(e.comment_id)}" for e in found
    ])
    children = tuple(
        node("tampering", e.comment_id, Status.FAILED,
             f"{e.editor} edited {e.author}'s {_subject(e.comment_id)}",
             facts=TamperFacts(e.comment_id, e.editor, e.author, e.at))
        for e in found
    )
    return node("tampering", "tampering", Status.FAILED,
                f"tampering: {sentence}; a push or an override clears it", children,
                facts=TamperFacts(first.comment_id, first.editor, first.author, first.at))
