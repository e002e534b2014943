"""The verdict the bot reached per (PR, head SHA, context), for the deploy step.

`evaluations` keeps what was last *posted* per head and context — shared by
every PR with that head and base, and left alone when a run posts nothing
new. This table keeps what each run *decided* for one PR, so a merge is
deployed only if its merged head passed for that same PR under the context
of the branch it was merged into (`gatebot: main`): a success on another PR
with the same head, or on the same head proposed into another base, never
counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from bot.core.gate_state import GateState
from bot.keys import PullKey
from bot.store.dialect import insert
from bot.store.tables import pull_verdicts as t


@dataclass(frozen=True)
class Verdict:
    """What one evaluation of a PR decided for its head under one context."""

    state: str
    report_only: bool
    decided_at: datetime

    @property
    def passed(self) -> bool:
        """The gate passed and enforces (a report-only success passes nothing)."""
        return self.state == GateState.SUCCESS and not self.report_only


def record(
    conn: Connection, key: PullKey, sha: str, context: str, *, state: str, report_only: bool,
    now: datetime,
) -> None:
    """Keep the latest verdict for (PR, head, context); a later one replaces it."""
    values = {
        "provider": key.provider,
        "repo": key.repo.lower(),
        "number": key.number,
        "sha": sha,
        "context": context,
        "state": state,
        "report_only": report_only,
        "decided_at": now,
    }
    stmt = insert(conn, t).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo, t.c.number, t.c.sha, t.c.context],
            set_={"state": stmt.excluded.state, "report_only": stmt.excluded.report_only,
                  "decided_at": stmt.excluded.decided_at},
        )
    )


def get(conn: Connection, key: PullKey, sha: str, context: str) -> Verdict | None:
    """The latest verdict for PR `key` at head `sha` under `context`, if any."""
    row = conn.execute(
        select(t.c.state, t.c.report_only, t.c.decided_at).where(
            t.c.provider == key.provider,
            t.c.repo == key.repo.lower(),
            t.c.number == key.number,
            t.c.sha == sha,
            t.c.context == context,
        )
    ).first()
    if row is None:
        return None
    return Verdict(row.state, bool(row.report_only), row.decided_at)
