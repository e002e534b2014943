"""Deploying in the store: deploy intents and the deploy audit log.

- Intents: one row per (provider, repository, merge SHA, deploy name),
  written `open` before the call (`open_intent`) and completed after it
  (`settle`): `deployed` or `failed` (the target certainly did not act). An
  intent still `open` means the answer was lost (a crash, a 5xx, a timeout):
  the deploy step settles a GitHub deployment by listing the SHA's
  deployments and never sends anything else a second time.
- The audit log (`record`, `audit`): one line per outcome. Rows hold names,
  SHAs and links, never a target's URL or secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from bot import metrics
from bot.store.audit import audit_query
from bot.store.dialect import insert_once
from bot.store.tables import deploy_audit, deploy_intents

OPEN = "open"
DEPLOYED = "deployed"
FAILED = "failed"


@dataclass(frozen=True)
class DeployKey:
    """At most one deployment per key."""

    provider: str
    repo: str
    merge_sha: str
    name: str


@dataclass(frozen=True)
class Intent:
    key: DeployKey
    number: int
    method: str
    environment: str
    state: str
    link: str | None
    detail: str | None
    created_at: datetime
    updated_at: datetime
    reference: str | None = None
    """The target's own id of the deployment it started, when it named one."""


def _intent(row: Any) -> Intent:
    return Intent(
        key=DeployKey(row.provider, row.repo, row.merge_sha, row.name),
        number=row.number,
        method=row.method,
        environment=row.environment,
        state=row.state,
        link=row.link,
        detail=row.detail,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reference=row.reference,
    )


def _of(key: DeployKey) -> Any:
    t = deploy_intents
    return and_(
        t.c.provider == key.provider,
        t.c.repo == key.repo.lower(),
        t.c.merge_sha == key.merge_sha,
        t.c.name == key.name,
    )


def intent(conn: Connection, key: DeployKey) -> Intent | None:
    row = conn.execute(select(deploy_intents).where(_of(key))).first()
    return _intent(row) if row is not None else None


def open_intent(
    conn: Connection,
    key: DeployKey,
    *,
    number: int,
    method: str,
    environment: str,
    now: datetime,
) -> Intent | None:
    """Write the intent before the call; None when one already exists for the key
    (deployed, failed, or open with its answer unsettled)."""
    inserted = insert_once(
        conn,
        deploy_intents,
        provider=key.provider,
        repo=key.repo.lower(),
        merge_sha=key.merge_sha,
        name=key.name,
        number=number,
        method=method,
        environment=environment,
        state=OPEN,
        created_at=now,
        updated_at=now,
    )
    return intent(conn, key) if inserted else None


def settle(
    conn: Connection,
    key: DeployKey,
    state: str,
    now: datetime,
    *,
    link: str | None = None,
    detail: str | None = None,
    reference: str | None = None,
) -> bool:
    """Complete an open intent; False if it was already settled."""
    t = deploy_intents
    changed = conn.execute(
        update(t)
        .where(_of(key), t.c.state == OPEN)
        .values(state=state, link=link, detail=detail, reference=reference, updated_at=now)
    ).rowcount
    return changed == 1


def note(conn: Connection, key: DeployKey, detail: str, now: datetime) -> None:
    """Say why an intent is still open (the answer was lost)."""
    t = deploy_intents
    conn.execute(
        update(t).where(_of(key), t.c.state == OPEN).values(detail=detail, updated_at=now)
    )


# -- audit ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    key: DeployKey
    number: int
    method: str
    outcome: str
    link: str | None
    detail: str | None
    at: datetime

    def line(self) -> str:
        """One line for people: time, repository and PR, merge SHA, deploy, outcome."""
        link = f" {self.link}" if self.link else ""
        detail = f": {self.detail}" if self.detail else ""
        return (
            f"{self.at.isoformat(timespec='seconds')} {self.key.repo}#{self.number} "
            f"{self.key.merge_sha[:12]} deploy {self.key.name} ({self.method}): "
            f"{self.outcome}{link}{detail}"
        )


def record(
    conn: Connection,
    key: DeployKey,
    *,
    number: int,
    method: str,
    outcome: str,
    now: datetime,
    link: str | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        deploy_audit.insert().values(
            provider=key.provider,
            repo=key.repo.lower(),
            number=number,
            merge_sha=key.merge_sha,
            name=key.name,
            method=method,
            outcome=outcome,
            link=link,
            detail=detail,
            at=now,
        )
    )
    metrics.DEPLOYS.labels(forge=key.provider, outcome=metrics.label(outcome)).inc()


def audit(
    conn: Connection, *, repo: str | None = None, since: datetime | None = None
) -> list[AuditEntry]:
    """The deploy audit log, oldest first, optionally of one repository and from a time on."""
    t = deploy_audit
    rows = conn.execute(audit_query(t, repo=repo, since=since))
    return [
        AuditEntry(
            key=DeployKey(r.provider, r.repo, r.merge_sha, r.name),
            number=r.number,
            method=r.method,
            outcome=r.outcome,
            link=r.link,
            detail=r.detail,
            at=r.at,
        )
        for r in rows
    ]


def intents_of_pull(conn: Connection, provider: str, repo: str, number: int) -> list[Intent]:
    """A PR's deploy intents, oldest first (its merges' deployments, whatever became of
    them)."""
    t = deploy_intents
    rows = conn.execute(
        select(t)
        .where(t.c.provider == provider, t.c.repo == repo.lower(), t.c.number == number)
        .order_by(t.c.created_at, t.c.id)
    )
    return [_intent(r) for r in rows]


def drop(conn: Connection, key: DeployKey) -> None:
    """Forget an open intent whose call certainly did not happen: a later run may send it."""
    conn.execute(delete(deploy_intents).where(_of(key), deploy_intents.c.state == OPEN))
