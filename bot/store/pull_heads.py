"""Each PR's head history: which SHA became its head, on which base, and when.

The policy's push time of a head is the latest time it became THIS PR's
head, and a retarget (a change of base) voids approvals as a push does; no
forge tells either, so the bot records them. `note` appends a row when the
(head, base) it is told differs from the last one recorded for the PR:

- a webhook's ingestion (`bot/events`) calls it for the events that
  announce a change (GitHub `synchronize`, `opened`, `reopened`, a
  retarget; GitLab `open`, `reopen`, a push, a retarget), at the time the
  delivery arrives;
- the worker calls it with what it reads from the forge before every
  evaluation, so a missed or lost event is made up for at that moment.

A head that leaves and comes back (A → B → A) gets a new row, hence the time
it came back. Events arrive late or out of order: each row keeps the forge's
own `updated_at` of the PR from what told the bot, and an event older than
the newest state recorded for the PR is not recorded at all — a late
`synchronize` for A arriving after B became the head cannot make A look
freshly pushed, and a repeated one for the current head changes nothing
(its recorded time never moves, earlier or later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Executable, and_, bindparam, func, insert, select

from bot.keys import PullKey
from bot.store.dialect import cached_statement
from bot.store.tables import pull_heads as t


@dataclass(frozen=True)
class HeadRow:
    """From `at` on (as the bot recorded it), the PR's head was `sha` into `base_ref`."""

    sha: str
    base_ref: str
    at: datetime


def _of(key: PullKey) -> ColumnElement[bool]:
    return and_(t.c.provider == key.provider, t.c.repo == key.repo, t.c.number == key.number)


def _of_params() -> ColumnElement[bool]:
    return and_(
        t.c.provider == bindparam("provider"),
        t.c.repo == bindparam("repo"),
        t.c.number == bindparam("number"),
    )


@cached_statement
def _last_statement(_dialect: str) -> Executable:
    # The last recorded row, with the newest forge time of all: one query, built
    # once, since every announcing webhook asks it.
    newest = select(func.max(t.c.forge_updated_at)).where(_of_params()).scalar_subquery()
    return (
        select(t.c.sha, t.c.base_ref, newest.label("newest"))
        .where(_of_params())
        .order_by(t.c.id.desc())
        .limit(1)
    )


@cached_statement
def _insert_statement(_dialect: str) -> Executable:
    return insert(t)


def note(
    conn: Connection,
    key: PullKey,
    sha: str,
    base_ref: str,
    now: datetime,
    *,
    forge_updated_at: datetime | None = None,
    pushed: bool = False,
) -> bool:
    """Record that the PR's head is `sha` into `base_ref` as of `now`, if that is news.

    Nothing is written when it repeats the last recorded (head, base), or when
    `forge_updated_at` (the forge's time of the PR in what told it) is older
    than the newest one recorded for the PR. A push (`pushed`) that names the
    last recorded head is news when it is newer than everything recorded: the
    head left and came back (A → B → A) while the push of B went unheard, and
    it comes back now. True when a row was written.
    """
    pull = {"provider": key.provider, "repo": key.repo, "number": key.number}
    last = conn.execute(_last_statement(conn), pull).first()
    newest = last.newest if last is not None and forge_updated_at is not None else None
    if newest is not None and forge_updated_at is not None and forge_updated_at < newest:
        return False
    if last is not None and last.sha == sha and last.base_ref == base_ref:
        came_back = (
            pushed
            and newest is not None
            and forge_updated_at is not None
            and forge_updated_at > newest
        )
        if not came_back:
            return False
    conn.execute(
        _insert_statement(conn),
        {
            **pull,
            "sha": sha,
            "base_ref": base_ref,
            "at": now,
            "forge_updated_at": forge_updated_at,
        },
    )
    return True


def history(conn: Connection, key: PullKey) -> list[HeadRow]:
    """Every recorded change of the PR's head or base, in the order recorded."""
    rows = conn.execute(
        select(t.c.sha, t.c.base_ref, t.c.at).where(_of(key)).order_by(t.c.id)
    )
    return [HeadRow(r.sha, r.base_ref, r.at) for r in rows]
