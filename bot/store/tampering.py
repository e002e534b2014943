"""Comments edited by someone other than their author: a fact only webhooks carry.

GitHub's API says that a comment was edited, not by whom; the
`issue_comment.edited` webhook names the editor (`sender`). The routing
records every such foreign edit (`record`) with the PR's head at the time.
A review's body (`subject` "review", `comment_id` the review's id) is
recorded on every edit, its author's own included: the API does not even
say that a review was edited, and an edited body never approves when edits
are ignored;
whether the comment looked like an approval is for the evaluation to decide
(`bot/core/policy/tampering.py`), which reads them back per PR:

- `marks_for_pull(conn, provider, repo, number)` — every mark of the PR,
  oldest first, as `TamperRecord`s; map each to the core's
  `TamperMark(comment_id=, editor=, author=, at=)`. The core drops marks
  older than the head's push time itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Executable, and_, insert, select

from bot.store.dialect import cached_statement
from bot.store.tables import tamper_marks as t

COMMENT = "comment"
REVIEW = "review"


@dataclass(frozen=True)
class TamperRecord:
    """`editor` edited `author`'s comment `comment_id` on PR `number` at `at`."""

    provider: str
    repo: str
    number: int
    comment_id: int
    author: str
    editor: str
    head_sha: str | None  # the PR's head as the store knew it then, if it did
    at: datetime
    subject: str = COMMENT


@cached_statement
def _record_statement(dialect: str) -> Executable:
    return insert(t)


def record(conn: Connection, mark: TamperRecord) -> None:
    conn.execute(
        _record_statement(conn),
        {
            "provider": mark.provider,
            "repo": mark.repo,
            "number": mark.number,
            "comment_id": mark.comment_id,
            "author": mark.author,
            "editor": mark.editor,
            "head_sha": mark.head_sha,
            "at": mark.at,
            "subject": mark.subject,
        },
    )


def marks_for_pull(conn: Connection, provider: str, repo: str, number: int) -> list[TamperRecord]:
    """Every edit recorded on the PR (foreign edits of comments, every edit of a
    review's body), oldest first."""
    rows = conn.execute(
        select(t)
        .where(and_(t.c.provider == provider, t.c.repo == repo, t.c.number == number))
        .order_by(t.c.at, t.c.id)
    )
    return [
        TamperRecord(
            provider=r.provider,
            repo=r.repo,
            number=r.number,
            comment_id=r.comment_id,
            author=r.author,
            editor=r.editor,
            head_sha=r.head_sha,
            at=r.at,
            subject=r.subject,
        )
        for r in rows
    ]
