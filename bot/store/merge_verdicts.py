"""Whether a merge commit is an update merge, judged once by its content and kept.

A commit's content never changes, so neither does the verdict: the GitHub
adapter judges each merge of the base into a PR once (two comparisons) and
every later evaluation, of this PR or another holding the same commit,
reads the verdict here. `note` says why a merge is not an update merge (what
it changes of its own, or that its changes could not be read). Repository
names are kept lower-case: the forges compare them case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from bot.store.dialect import insert
from bot.store.tables import merge_verdicts as t


@dataclass(frozen=True)
class MergeVerdict:
    update_merge: bool
    note: str | None = None


def get_many(
    conn: Connection, provider: str, repo: str, shas: Iterable[str]
) -> dict[str, MergeVerdict]:
    """The verdicts known for `shas`, by SHA."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    rows = conn.execute(
        select(t.c.sha, t.c.update_merge, t.c.note).where(
            and_(t.c.provider == provider, t.c.repo == repo.lower(), t.c.sha.in_(wanted))
        )
    )
    return {r.sha: MergeVerdict(bool(r.update_merge), r.note) for r in rows}


def put(
    conn: Connection, provider: str, repo: str, sha: str, verdict: MergeVerdict, now: datetime
) -> None:
    """Remember the verdict on `sha` (a second judge of the same commit finds the same)."""
    stmt = insert(conn, t).values(
        provider=provider,
        repo=repo.lower(),
        sha=sha,
        update_merge=verdict.update_merge,
        note=verdict.note,
        checked_at=now,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.c.provider, t.c.repo, t.c.sha]))
