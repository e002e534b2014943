"""Comment commands in the store: the inbox of PR comments and the command audit log.

The web tier never talks to the forge: a PR comment that may hold commands
is written to the inbox as it arrives (`receive`, from `issue_comment`
`created` only) and the PR is marked dirty. The pipeline works through a
PR's inbox (`unanswered`) with one state machine per comment, each step a
conditional UPDATE, so a redelivered event, a second worker or a crash
between two steps never runs a comment's commands twice nor answers twice:

    pending --acted--> acted --claim_answer--> answering --answered--> answered
                         ^                          |
                         +------release_answer------+   (posting the reply failed)

`outcomes` is the pipeline's own JSON of what the commands did, kept from
acting to answering so the reply can be written (again) after a crash.
`cheap` counts the rate-limited commands (help, status, recheck) a comment
ran; `cheap_since` sums them over a PR's recent comments.

The audit log (`audit`, `audit_entries`): one line per command acted on or
refused, for people (`gatebot audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from bot.keys import PullKey
from bot.store.audit import audit_query
from bot.store.dialect import insert_once
from bot.store.tables import command_audit, command_comments

PENDING = "pending"
ACTED = "acted"
ANSWERING = "answering"
ANSWERED = "answered"


@dataclass(frozen=True)
class CommandComment:
    key: PullKey
    comment_id: int
    author: str
    body: str
    created_at: datetime  # the comment's own time, as the forge wrote it
    received_at: datetime
    installation_id: int | None
    state: str
    outcomes: str | None
    cheap: int
    acted_at: datetime | None
    reply_id: int | None


def _comment(row: Any) -> CommandComment:
    return CommandComment(
        key=PullKey(row.provider, row.repo, row.number),
        comment_id=row.comment_id,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
        received_at=row.received_at,
        installation_id=row.installation_id,
        state=row.state,
        outcomes=row.outcomes,
        cheap=row.cheap,
        acted_at=row.acted_at,
        reply_id=row.reply_id,
    )


def _of_pull(key: PullKey) -> Any:
    t = command_comments
    return and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number)


def _comment_in(key: PullKey, comment_id: int, state: str) -> Any:
    t = command_comments
    return and_(_of_pull(key), t.c.comment_id == comment_id, t.c.state == state)


def receive(
    conn: Connection,
    key: PullKey,
    comment_id: int,
    *,
    author: str,
    body: str,
    created_at: datetime,
    installation_id: int | None,
    now: datetime,
) -> bool:
    """Put a new comment in the PR's inbox as `pending`; False (nothing changed)
    when the comment is already known, whatever its state."""
    return insert_once(
        conn,
        command_comments,
        provider=key.provider,
        repo=key.repo,
        number=key.number,
        comment_id=comment_id,
        author=author,
        body=body,
        created_at=created_at,
        received_at=now,
        installation_id=installation_id,
        state=PENDING,
        cheap=0,
        updated_at=now,
    )


def unanswered(conn: Connection, key: PullKey) -> list[CommandComment]:
    """The PR's comments still to act on or to answer, oldest first."""
    t = command_comments
    rows = conn.execute(
        select(t)
        .where(_of_pull(key), t.c.state.in_((PENDING, ACTED)))
        .order_by(t.c.created_at, t.c.comment_id)
    )
    return [_comment(r) for r in rows]


def acted(
    conn: Connection, key: PullKey, comment_id: int, *, outcomes: str, cheap: int, now: datetime
) -> bool:
    """pending → acted, with what the commands did; False if the comment was not pending."""
    changed = conn.execute(
        update(command_comments)
        .where(_comment_in(key, comment_id, PENDING))
        .values(state=ACTED, outcomes=outcomes, cheap=cheap, acted_at=now, updated_at=now)
    ).rowcount
    return changed == 1


def claim_answer(conn: Connection, key: PullKey, comment_id: int, now: datetime) -> bool:
    """acted → answering: this caller posts the reply; False if someone else claimed it
    (or the comment was never acted on)."""
    changed = conn.execute(
        update(command_comments)
        .where(_comment_in(key, comment_id, ACTED))
        .values(state=ANSWERING, updated_at=now)
    ).rowcount
    return changed == 1


def answered(
    conn: Connection, key: PullKey, comment_id: int, reply_id: int | None, now: datetime
) -> None:
    """answering → answered; `reply_id` is the reply posted, None when none was needed.

    The body is dropped then: it was kept only to be read once, and the audit log
    keeps each command with its arguments.
    """
    conn.execute(
        update(command_comments)
        .where(_comment_in(key, comment_id, ANSWERING))
        .values(state=ANSWERED, reply_id=reply_id, body="", updated_at=now)
    )


def release_answer(conn: Connection, key: PullKey, comment_id: int, now: datetime) -> None:
    """answering → acted: the reply could not be posted; a later run tries again."""
    conn.execute(
        update(command_comments)
        .where(_comment_in(key, comment_id, ANSWERING))
        .values(state=ACTED, updated_at=now)
    )


def cheap_since(conn: Connection, key: PullKey, since: datetime) -> int:
    """Rate-limited commands run on the PR by comments acted on from `since` on."""
    t = command_comments
    total = conn.execute(
        select(func.coalesce(func.sum(t.c.cheap), 0)).where(
            _of_pull(key), t.c.acted_at >= since
        )
    ).scalar_one()
    return int(total)


# -- audit ----------------------------------------------------------------------


@dataclass(frozen=True)
class CommandAuditEntry:
    provider: str
    repo: str
    number: int
    comment_id: int
    login: str
    command: str
    args: str
    outcome: str
    detail: str | None
    at: datetime

    def line(self) -> str:
        """One line for people: time, repository and PR, the command as given, who, outcome."""
        args = f" {self.args}" if self.args else ""
        detail = f": {self.detail}" if self.detail else ""
        return (
            f"{self.at.isoformat(timespec='seconds')} {self.repo}#{self.number} "
            f"command {self.command}{args} by {self.login}: {self.outcome}{detail}"
        )


def audit(
    conn: Connection,
    key: PullKey,
    comment_id: int,
    *,
    login: str,
    command: str,
    args: str,
    outcome: str,
    detail: str | None,
    now: datetime,
) -> None:
    conn.execute(
        command_audit.insert().values(
            provider=key.provider,
            repo=key.repo,
            number=key.number,
            comment_id=comment_id,
            login=login,
            command=command,
            args=args,
            outcome=outcome,
            detail=detail,
            at=now,
        )
    )


def audit_entries(
    conn: Connection, *, repo: str | None = None, since: datetime | None = None
) -> list[CommandAuditEntry]:
    """The command audit log, oldest first, optionally of one repository and from a time on."""
    rows = conn.execute(audit_query(command_audit, repo=repo, since=since))
    return [
        CommandAuditEntry(
            provider=r.provider,
            repo=r.repo,
            number=r.number,
            comment_id=r.comment_id,
            login=r.login,
            command=r.command,
            args=r.args,
            outcome=r.outcome,
            detail=r.detail,
            at=r.at,
        )
        for r in rows
    ]
