"""Deploy outcomes in the store: each started deployment followed to its end.

One row per deployment the bot started (`start`, written when its intent
settles `deployed`), keyed as its intent is. Its `stage` is `running` until
it ends once (`end`): `succeeded`, `failed` or `timed out` — a conditional
UPDATE, so two followers (a webhook, the poll loop, a callback) record one
outcome, which also goes into the deploy audit (`bot.store.deploys.record`).

Followers find a row by the target's own id of the deployment
(`by_reference`: a GitHub deployment or workflow run id, a GitLab pipeline
id, a webhook target's idempotency key, a Jenkins queue item...). An event
only makes the row due (`make_due`): the follower re-reads the deployment
from the forge before anything is recorded. The poll loop takes the rows due
(`due`) and backs off per row (`checked`).

The PR comment: one per deployment, claimed here before it is posted
(`claim_comment`, given back when the post fails), then edited in place
until `comment_stage` is the row's stage (`unshown`, `shown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from bot.store import deploys
from bot.store.deploys import DeployKey
from bot.store.dialect import insert_once
from bot.store.tables import deploy_outcomes as t

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed out"
ENDED = (SUCCEEDED, FAILED, TIMED_OUT)

FIRST_INTERVAL = 15.0
"""Seconds before a running deployment is first asked about again."""
LONGEST_INTERVAL = 300.0
"""The backoff doubles up to this many seconds."""


@dataclass(frozen=True)
class Outcome:
    key: DeployKey
    number: int
    method: str
    environment: str
    target: str | None
    """The operator target's name, for `via: {target: ...}` deploys."""
    reference: str | None
    access: int | None
    """How the forge is reached for this PR (GitHub: the App installation's id)."""
    stage: str
    link: str | None
    message: str | None
    started_at: datetime
    ended_at: datetime | None
    next_check_at: datetime | None
    interval_seconds: float
    comment_id: int | None
    comment_stage: str | None

    @property
    def ended(self) -> bool:
        return self.stage in ENDED

    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


def _outcome(row: Any) -> Outcome:
    return Outcome(
        key=DeployKey(row.provider, row.repo, row.merge_sha, row.name),
        number=row.number,
        method=row.method,
        environment=row.environment,
        target=row.target,
        reference=row.reference,
        access=row.access,
        stage=row.stage,
        link=row.link,
        message=row.message,
        started_at=row.started_at,
        ended_at=row.ended_at,
        next_check_at=row.next_check_at,
        interval_seconds=float(row.interval_seconds),
        comment_id=row.comment_id,
        comment_stage=row.comment_stage,
    )


def _of(key: DeployKey) -> Any:
    return and_(
        t.c.provider == key.provider,
        func.lower(t.c.repo) == key.repo.lower(),
        t.c.merge_sha == key.merge_sha,
        t.c.name == key.name,
    )


def start(
    conn: Connection,
    key: DeployKey,
    *,
    number: int,
    method: str,
    environment: str,
    now: datetime,
    target: str | None = None,
    reference: str | None = None,
    access: int | None = None,
    link: str | None = None,
) -> bool:
    """The deployment started: `running`, first asked about after `FIRST_INTERVAL`;
    False when it is already recorded."""
    return insert_once(
        conn,
        t,
        provider=key.provider,
        # As the forge spells it: the follower opens evaluations under it.
        repo=key.repo,
        merge_sha=key.merge_sha,
        name=key.name,
        number=number,
        method=method,
        environment=environment,
        target=target,
        reference=reference,
        access=access,
        stage=RUNNING,
        link=link,
        started_at=now,
        next_check_at=now + timedelta(seconds=FIRST_INTERVAL),
        interval_seconds=FIRST_INTERVAL,
    )


def get(conn: Connection, key: DeployKey) -> Outcome | None:
    row = conn.execute(select(t).where(_of(key))).first()
    return _outcome(row) if row is not None else None


def by_reference(
    conn: Connection, provider: str | None, method: str, reference: str,
    repo: str | None = None,
) -> Outcome | None:
    """The deployment a target's own id names (of `provider` and within `repo` when
    given)."""
    query = select(t).where(t.c.method == method, t.c.reference == reference)
    if provider is not None:
        query = query.where(t.c.provider == provider)
    if repo is not None:
        query = query.where(func.lower(t.c.repo) == repo.lower())
    row = conn.execute(query).first()
    return _outcome(row) if row is not None else None


def of_pull(conn: Connection, provider: str, repo: str, number: int) -> list[Outcome]:
    """A PR's deployments, oldest first."""
    rows = conn.execute(
        select(t)
        .where(
            t.c.provider == provider, func.lower(t.c.repo) == repo.lower(), t.c.number == number
        )
        .order_by(t.c.started_at, t.c.id)
    )
    return [_outcome(r) for r in rows]


def of_repo(conn: Connection, repo: str | None = None) -> list[Outcome]:
    """Every deployment (of one repository), oldest first."""
    query = select(t).order_by(t.c.started_at, t.c.id)
    if repo is not None:
        query = query.where(func.lower(t.c.repo) == repo.lower())
    return [_outcome(r) for r in conn.execute(query)]


def make_due(conn: Connection, key: DeployKey, now: datetime) -> bool:
    """An event says the deployment moved: ask about it at once; False if it ended."""
    changed = conn.execute(
        update(t).where(_of(key), t.c.stage == RUNNING).values(next_check_at=now)
    ).rowcount
    return changed == 1


def due(conn: Connection, now: datetime, timeout: timedelta, limit: int = 100) -> list[Outcome]:
    """Running deployments to ask about now, or to time out; the longest waiting first."""
    rows = conn.execute(
        select(t)
        .where(
            t.c.stage == RUNNING,
            or_(t.c.next_check_at <= now, t.c.started_at <= now - timeout),
        )
        .order_by(t.c.next_check_at, t.c.id)
        .limit(limit)
    )
    return [_outcome(r) for r in rows]


def checked(conn: Connection, key: DeployKey, now: datetime) -> None:
    """Asked and still running: ask again after the row's interval, which then doubles."""
    row = get(conn, key)
    if row is None or row.ended:
        return
    wait = row.interval_seconds
    conn.execute(
        update(t)
        .where(_of(key), t.c.stage == RUNNING)
        .values(
            next_check_at=now + timedelta(seconds=wait),
            interval_seconds=min(wait * 2, LONGEST_INTERVAL),
        )
    )


def progressed(conn: Connection, key: DeployKey, *, link: str | None, message: str) -> None:
    """A running deployment told where to follow it (or what it is doing)."""
    values: dict[str, Any] = {"message": message or None}
    if link:
        values["link"] = link
    conn.execute(update(t).where(_of(key), t.c.stage == RUNNING).values(**values))


def end(
    conn: Connection,
    key: DeployKey,
    stage: str,
    now: datetime,
    *,
    link: str | None = None,
    message: str | None = None,
) -> bool:
    """Record how the deployment ended, once, into the deploy audit too; False if it
    had ended already."""
    if stage not in ENDED:
        raise ValueError(f"{stage!r} is not how a deployment ends")
    row = get(conn, key)
    if row is None or row.ended:
        return False
    final_link = link or row.link
    changed = conn.execute(
        update(t)
        .where(_of(key), t.c.stage == RUNNING)
        .values(
            stage=stage, ended_at=now, next_check_at=None, link=final_link,
            message=message or None,
        )
    ).rowcount
    if changed != 1:
        return False
    took = int(max(0.0, (now - row.started_at).total_seconds()))
    deploys.record(
        conn, key, number=row.number, method=row.method, outcome=stage, now=now,
        link=final_link, detail=f"after {took} s" + (f": {message}" if message else ""),
    )
    return True


# -- the PR comment ----------------------------------------------------------------


def claim_comment(conn: Connection, key: DeployKey, now: datetime) -> bool:
    """Reserve the deployment's one comment; False if it was posted (or is being posted)."""
    changed = conn.execute(
        update(t)
        .where(_of(key), t.c.comment_claimed_at.is_(None))
        .values(comment_claimed_at=now)
    ).rowcount
    return changed == 1


def drop_comment_claim(conn: Connection, key: DeployKey) -> None:
    """Give the reservation back: the comment could not be written, a later pass may."""
    conn.execute(
        update(t).where(_of(key), t.c.comment_id.is_(None)).values(comment_claimed_at=None)
    )


def shown(conn: Connection, key: DeployKey, stage: str, comment_id: int | None = None) -> None:
    """The comment now tells `stage` (and is `comment_id`, when just posted)."""
    values: dict[str, Any] = {"comment_stage": stage}
    if comment_id is not None:
        values["comment_id"] = comment_id
    conn.execute(update(t).where(_of(key)).values(**values))


def unshown(conn: Connection, limit: int = 100) -> list[Outcome]:
    """Deployments whose comment is posted but tells an older stage."""
    rows = conn.execute(
        select(t)
        .where(
            t.c.comment_id.is_not(None),
            or_(t.c.comment_stage.is_(None), t.c.comment_stage != t.c.stage),
        )
        .order_by(t.c.id)
        .limit(limit)
    )
    return [_outcome(r) for r in rows]


def unposted(conn: Connection, limit: int = 100) -> list[Outcome]:
    """Deployments whose comment was never claimed (its first post failed)."""
    rows = conn.execute(
        select(t).where(t.c.comment_claimed_at.is_(None)).order_by(t.c.id).limit(limit)
    )
    return [_outcome(r) for r in rows]
