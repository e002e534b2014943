"""The verdict last posted per (repository, head SHA, context).

The publisher reads it to post only on change: when the same state and
description (and details link) already went out for this SHA and context,
nothing is written to the forge. The details page reads the explanation
kept with it. `forget` is for the webhook routing when someone else wrote a
status under the bot's context: the next evaluation then posts again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, delete, select

from bot.core.gate_state import GateState
from bot.store.dialect import insert
from bot.store.tables import evaluations as t


@dataclass(frozen=True)
class Posted:
    """What the bot last published for one head SHA under one context."""

    provider: str
    repo: str
    sha: str
    context: str
    number: int
    state: str
    description: str
    details_url: str | None
    report_only: bool
    status_posted: bool
    check_run_id: int | None
    explanation: str | None
    posted_at: datetime

    def same_verdict(self, other: Posted) -> bool:
        """Whether `other` would show the forge exactly what is already there."""
        return (
            self.state == other.state
            and self.description == other.description
            and self.details_url == other.details_url
            and self.report_only == other.report_only
            and _impact(self.explanation) == _impact(other.explanation)
        )


def _impact(explanation: str | None) -> Any:
    """The impact section kept in an explanation (a policy PR's): it changes what the
    check run shows without changing the verdict."""
    if explanation is None:
        return None
    try:
        return json.loads(explanation).get("impact")
    except (ValueError, AttributeError):
        return None


def _match(provider: str, repo: str, sha: str, context: str) -> ColumnElement[bool]:
    return and_(
        t.c.provider == provider, t.c.repo == repo.lower(), t.c.sha == sha, t.c.context == context
    )


def last(conn: Connection, provider: str, repo: str, sha: str, context: str) -> Posted | None:
    row = conn.execute(select(t).where(_match(provider, repo, sha, context))).first()
    return None if row is None else _posted(row)


def latest_for_pull(conn: Connection, provider: str, repo: str, number: int) -> Posted | None:
    """The most recent verdict posted for a PR, whatever its head or context."""
    row = conn.execute(
        select(t)
        .where(t.c.provider == provider, t.c.repo == repo.lower(), t.c.number == number)
        .order_by(t.c.posted_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _posted(row)


_CHUNK = 500  # keeps the IN list well inside every database's parameter limit


def passing_among(
    conn: Connection, provider: str, repo: str, pairs: Iterable[tuple[str, str]]
) -> list[Posted]:
    """Of the (SHA, context) `pairs`, those whose last posted verdict is an enforcing
    success (a status the forge's branch protection reads as passing), in pair order."""
    wanted = list(dict.fromkeys(pairs))
    shas = sorted({sha for sha, _ in wanted})
    found: dict[tuple[str, str], Posted] = {}
    for start in range(0, len(shas), _CHUNK):
        rows = conn.execute(
            select(t).where(
                t.c.provider == provider,
                t.c.repo == repo.lower(),
                t.c.sha.in_(shas[start : start + _CHUNK]),
                t.c.state == GateState.SUCCESS.value,
                t.c.report_only.is_(False),
            )
        )
        for row in rows:
            found[(row.sha, row.context)] = _posted(row)
    return [found[pair] for pair in wanted if pair in found]


def _posted(row: Row[Any]) -> Posted:
    return Posted(
        provider=row.provider,
        repo=row.repo,
        sha=row.sha,
        context=row.context,
        number=row.number,
        state=row.state,
        description=row.description,
        details_url=row.details_url,
        report_only=bool(row.report_only),
        status_posted=bool(row.status_posted),
        check_run_id=row.check_run_id,
        explanation=row.explanation,
        posted_at=row.posted_at,
    )


def record(conn: Connection, posted: Posted) -> None:
    values = {
        "provider": posted.provider,
        "repo": posted.repo.lower(),
        "sha": posted.sha,
        "context": posted.context,
        "number": posted.number,
        "state": posted.state,
        "description": posted.description,
        "details_url": posted.details_url,
        "report_only": posted.report_only,
        "status_posted": posted.status_posted,
        "check_run_id": posted.check_run_id,
        "explanation": posted.explanation,
        "posted_at": posted.posted_at,
    }
    stmt = insert(conn, t).values(values)
    keys = [t.c.provider, t.c.repo, t.c.sha, t.c.context]
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={
                name: stmt.excluded[name]
                for name in values
                if name not in ("provider", "repo", "sha", "context")
            },
        )
    )


def forget(conn: Connection, provider: str, repo: str, sha: str, context: str) -> int:
    """Drop the record, so the next evaluation posts whatever it decides."""
    return conn.execute(delete(t).where(_match(provider, repo, sha, context))).rowcount

