"""Comments edited by someone other than their author: a fact only webhooks carry.

GitHub's API says that a comment was edited, not by whom; the
`issue_comment.edited` webhook names the editor (`sender`). The routing
records every such foreign edit (`record`) with the PR's head at the time.
A review's body (`subject` "review", `comment_id` the review's id) is
recorded on every edit, its author's own included: the API does not even
say that a review was edited, and an edited body never approves when edits
are ignored. Whether the comment looked like an approval is for the
evaluation to decide (`bot/core/policy/tampering.py`), which reads them back
per PR:

- `marks_for_pull(conn, provider, repo, number)` — every mark of the PR,
  oldest first, as `TamperRecord`s; map each to the core's
  `TamperMark(comment_id=, editor=, author=, at=)`. The core drops marks
  older than the head's push time itself.
- `audit_entries(conn, repo=, since=)` — the foreign edits for `gatebot audit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, and_, func, insert, select

from bot.store.audit import audit_query
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

    def line(self) -> str:
        """One line for people (`gatebot audit`): time, repository and PR, head, who
        edited whose comment or review body."""
        head = f"{self.head_sha[:12]} " if self.head_sha else ""
        what = "review body" if self.subject == REVIEW else "comment"
        return (
            f"{self.at.isoformat(timespec='seconds')} {self.repo}#{self.number} {head}"
            f"tampering: {self.editor} edited {self.author}'s {what} {self.comment_id}"
        )


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
    return [_record(r) for r in rows]


def _record(r: Any) -> TamperRecord:
    return TamperRecord(
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


def audit_entries(
    conn: Connection, *, repo: str | None = None, since: datetime | None = None
) -> list[TamperRecord]:
    """Edits by someone other than the author (tampering), oldest first, for
    `gatebot audit` (`audit_query`'s filters); an author's own edits are left out."""
    stmt = audit_query(t, repo=repo, since=since).where(
        func.lower(t.c.editor) != func.lower(t.c.author)
    )
    return [_record(r) for r in conn.execute(stmt)]
