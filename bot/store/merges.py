"""Merging in the store: intents, the audit log, feedback keys and per-base merge locks.

- Intents: one row per (provider, repository, PR, head SHA), written `open`
  before the merge call (`open_intent`) and completed after it (`settle`):
  `merged`, `refused` (the forge said no; a later evaluation of the same
  head may try again) or `abandoned` (the head moved or the PR closed).
  An intent still `open` means an answer was lost (a crash, a 5xx): it is
  reconciled against the PR's real state before anything is retried.
- The audit log (`record`, `audit`): one line per outcome, with who armed
  the merge (`auto` for the policy, later a person).
- Feedback keys (`claim_feedback`): one PR comment per (PR, head, outcome).
- Locks (`acquire`, `release`): one merge at a time per repository and base
  branch across every process; a holder that died blocks until expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from bot import metrics
from bot.keys import PullKey
from bot.store.audit import audit_query
from bot.store.dialect import insert, insert_once
from bot.store.tables import merge_audit, merge_feedback, merge_intents, merge_locks

OPEN = "open"
MERGED = "merged"
REFUSED = "refused"
ABANDONED = "abandoned"

AUTO = "auto"
"""`armed_by` of merges the policy's `merge.auto` asked for."""


@dataclass(frozen=True)
class Intent:
    key: PullKey
    head_sha: str
    base_ref: str
    method: str
    armed_by: str
    installation_id: int | None
    delete_branch: bool
    state: str
    merge_sha: str | None
    detail: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


def _intent(row: Any) -> Intent:
    return Intent(
        key=PullKey(row.provider, row.repo, row.number),
        head_sha=row.head_sha,
        base_ref=row.base_ref,
        method=row.method,
        armed_by=row.armed_by,
        installation_id=row.installation_id,
        delete_branch=bool(row.delete_branch),
        state=row.state,
        merge_sha=row.merge_sha,
        detail=row.detail,
        attempts=row.attempts,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _of_pull(key: PullKey) -> Any:
    t = merge_intents
    return and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number)


def intent(conn: Connection, key: PullKey, head_sha: str) -> Intent | None:
    t = merge_intents
    row = conn.execute(select(t).where(_of_pull(key), t.c.head_sha == head_sha)).first()
    return _intent(row) if row is not None else None


def open_intents(conn: Connection, key: PullKey | None = None) -> list[Intent]:
    """Intents whose call's answer was never settled, oldest first (of one PR, or all)."""
    t = merge_intents
    where = t.c.state == OPEN if key is None else and_(t.c.state == OPEN, _of_pull(key))
    rows = conn.execute(select(t).where(where).order_by(t.c.created_at, t.c.id))
    return [_intent(r) for r in rows]


def merged_intent(conn: Connection, key: PullKey) -> Intent | None:
    """The intent that merged the PR, if the bot merged it."""
    t = merge_intents
    row = conn.execute(select(t).where(_of_pull(key), t.c.state == MERGED)).first()
    return _intent(row) if row is not None else None


def open_intent(
    conn: Connection,
    key: PullKey,
    head_sha: str,
    *,
    base_ref: str,
    method: str,
    armed_by: str,
    installation_id: int | None,
    now: datetime,
    delete_branch: bool = False,
) -> Intent | None:
    """Write the intent to merge `head_sha` before the call; None if it must not be made.

    A new intent, or one a forge refusal left `refused`, becomes `open`; an
    intent already `open` (another attempt's answer is unsettled), `merged`
    or `abandoned` is left alone and None is returned.
    """
    t = merge_intents
    conn.execute(
        insert(conn, t)
        .values(
            provider=key.provider,
            repo=key.repo,
            number=key.number,
            head_sha=head_sha,
            base_ref=base_ref,
            method=method,
            armed_by=armed_by,
            installation_id=installation_id,
            delete_branch=delete_branch,
            state=REFUSED,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    reopened = conn.execute(
        update(t)
        .where(_of_pull(key), t.c.head_sha == head_sha, t.c.state == REFUSED)
        .values(
            state=OPEN,
            method=method,
            armed_by=armed_by,
            base_ref=base_ref,
            attempts=t.c.attempts + 1,
            detail=None,
            updated_at=now,
        )
    ).rowcount
    return intent(conn, key, head_sha) if reopened == 1 else None


def settle(
    conn: Connection,
    key: PullKey,
    head_sha: str,
    state: str,
    now: datetime,
    *,
    merge_sha: str | None = None,
    detail: str | None = None,
) -> bool:
    """Complete an intent; False if it was already settled (someone else did)."""
    t = merge_intents
    changed = conn.execute(
        update(t)
        .where(_of_pull(key), t.c.head_sha == head_sha, t.c.state == OPEN)
        .values(state=state, merge_sha=merge_sha, detail=detail, updated_at=now)
    ).rowcount
    return changed == 1


# -- audit ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    key: PullKey
    head_sha: str
    method: str
    armed_by: str
    outcome: str
    merge_sha: str | None
    detail: str | None
    at: datetime

    def line(self) -> str:
        """One line for people: time, repository and PR, SHA, method, who armed it, outcome."""
        merged = f" -> {self.merge_sha[:12]}" if self.merge_sha else ""
        detail = f": {self.detail}" if self.detail else ""
        return (
            f"{self.at.isoformat(timespec='seconds')} {self.key.repo}#{self.key.number} "
            f"{self.head_sha[:12]} {self.method} armed by {self.armed_by}: "
            f"{self.outcome}{merged}{detail}"
        )


def record(
    conn: Connection,
    key: PullKey,
    head_sha: str,
    *,
    method: str,
    armed_by: str,
    outcome: str,
    now: datetime,
    merge_sha: str | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        merge_audit.insert().values(
            provider=key.provider,
            repo=key.repo,
            number=key.number,
            head_sha=head_sha,
            method=method,
            armed_by=armed_by,
            outcome=outcome,
            merge_sha=merge_sha,
            detail=detail,
            at=now,
        )
    )
    metrics.MERGES.labels(forge=key.provider, outcome=metrics.label(outcome)).inc()


def audit(
    conn: Connection, *, repo: str | None = None, since: datetime | None = None
) -> list[AuditEntry]:
    """The audit log, oldest first, optionally of one repository and from a time on."""
    t = merge_audit
    rows = conn.execute(audit_query(t, repo=repo, since=since))
    return [
        AuditEntry(
            key=PullKey(r.provider, r.repo, r.number),
            head_sha=r.head_sha,
            method=r.method,
            armed_by=r.armed_by,
            outcome=r.outcome,
            merge_sha=r.merge_sha,
            detail=r.detail,
            at=r.at,
        )
        for r in rows
    ]


# -- feedback -------------------------------------------------------------------


def claim_feedback(
    conn: Connection, key: PullKey, head_sha: str, outcome: str, now: datetime
) -> bool:
    """Reserve the one comment for (PR, head, outcome); False if it was already written."""
    return insert_once(
        conn,
        merge_feedback,
        provider=key.provider,
        repo=key.repo,
        number=key.number,
        head_sha=head_sha,
        outcome=outcome,
        posted_at=now,
    )


def _feedback_row(key: PullKey, head_sha: str, outcome: str) -> Any:
    t = merge_feedback
    return and_(
        t.c.provider == key.provider,
        t.c.repo == key.repo,
        t.c.number == key.number,
        t.c.head_sha == head_sha,
        t.c.outcome == outcome,
    )


def feedback_posted(
    conn: Connection, key: PullKey, head_sha: str, outcome: str, comment_id: int
) -> None:
    conn.execute(
        update(merge_feedback)
        .where(_feedback_row(key, head_sha, outcome))
        .values(comment_id=comment_id)
    )


def drop_feedback(conn: Connection, key: PullKey, head_sha: str, outcome: str) -> None:
    """Give the reservation back: the comment could not be written, a later run may."""
    conn.execute(delete(merge_feedback).where(_feedback_row(key, head_sha, outcome)))


# -- locks ----------------------------------------------------------------------


def _lock_row(provider: str, repo: str, base_ref: str) -> Any:
    t = merge_locks
    return and_(t.c.provider == provider, t.c.repo == repo, t.c.base_ref == base_ref)


def acquire(
    conn: Connection,
    provider: str,
    repo: str,
    base_ref: str,
    owner: str,
    now: datetime,
    seconds: float,
) -> bool:
    """Take the merge lock of (repository, base branch) unless someone holds it unexpired."""
    t = merge_locks
    conn.execute(
        insert(conn, t)
        .values(provider=provider, repo=repo, base_ref=base_ref, owner=None, expires_at=None)
        .on_conflict_do_nothing()
    )
    free = or_(t.c.owner.is_(None), t.c.expires_at < now, t.c.owner == owner)
    taken = conn.execute(
        update(t)
        .where(_lock_row(provider, repo, base_ref), free)
        .values(owner=owner, expires_at=now + timedelta(seconds=seconds))
    ).rowcount
    return taken == 1


def release(conn: Connection, provider: str, repo: str, base_ref: str, owner: str) -> bool:
    t = merge_locks
    freed = conn.execute(
        update(t)
        .where(_lock_row(provider, repo, base_ref), t.c.owner == owner)
        .values(owner=None, expires_at=None)
    ).rowcount
    return freed == 1


def lock_holder(conn: Connection, provider: str, repo: str, base_ref: str) -> Any:
    t = merge_locks
    return conn.execute(select(t).where(_lock_row(provider, repo, base_ref))).first()
