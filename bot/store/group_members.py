"""Which waiting merge-queue groups hold a given PR.

A group waits on the verdicts of its PRs (`bot.pipeline.merge_group`); when
a PR's verdict is posted, the groups still `requested` that hold it are
marked for another look. A repository has few groups in its queue at once,
so they are read per repository and their PR lists checked here.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, select

from bot.store import merge_groups
from bot.store.merge_groups import MergeGroup
from bot.store.tables import merge_groups as t


def requested_groups_with(
    conn: Connection, provider: str, repo: str, number: int
) -> list[MergeGroup]:
    """The `requested` groups of `repo` whose PRs include `number`, oldest first."""
    rows = conn.execute(
        select(t.c.id, t.c.pull_numbers)
        .where(
            and_(
                t.c.provider == provider,
                t.c.repo == repo,
                t.c.state == merge_groups.REQUESTED,
            )
        )
        .order_by(t.c.id)
    )
    wanted = str(number)
    ids = [row.id for row in rows if wanted in row.pull_numbers.split(",")]
    found = (merge_groups.get(conn, group_id) for group_id in ids)
    return [group for group in found if group is not None]
