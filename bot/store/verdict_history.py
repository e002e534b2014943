"""Every verdict the bot showed on a PR, in order: the details page's history.

`add` is called with each verdict the publisher records as posted; it keeps a
row only when the PR's verdict under that context changed (state or status
line) or its head did, so reposting the same verdict adds nothing. `for_pull`
lists them newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from bot.store.evaluations import Posted
from bot.store.tables import verdict_history as t


@dataclass(frozen=True)
class Shown:
    """One verdict as it stood on the PR."""

    sha: str
    context: str
    state: str
    description: str
    at: datetime


def add(conn: Connection, posted: Posted) -> bool:
    """Keep `posted` in the PR's history if it changed anything; whether it did."""
    last = conn.execute(
        select(t.c.sha, t.c.state, t.c.description)
        .where(
            and_(
                t.c.provider == posted.provider,
                t.c.repo == posted.repo.lower(),
                t.c.number == posted.number,
                t.c.context == posted.context,
            )
        )
        .order_by(t.c.id.desc())
        .limit(1)
    ).first()
    if last is not None and tuple(last) == (posted.sha, posted.state, posted.description):
        return False
    conn.execute(
        t.insert().values(
            provider=posted.provider,
            repo=posted.repo.lower(),
            number=posted.number,
            sha=posted.sha,
            context=posted.context,
            state=posted.state,
            description=posted.description,
            at=posted.posted_at,
        )
    )
    return True


def for_pull(
    conn: Connection, provider: str, repo: str, number: int, limit: int = 100
) -> list[Shown]:
    """The PR's verdicts, newest first (at most `limit`)."""
    rows = conn.execute(
        select(t.c.sha, t.c.context, t.c.state, t.c.description, t.c.at)
        .where(and_(t.c.provider == provider, t.c.repo == repo.lower(), t.c.number == number))
        .order_by(t.c.id.desc())
        .limit(limit)
    )
    return [Shown(*row) for row in rows]
