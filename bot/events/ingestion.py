"""One verified delivery into the store, in one transaction: record, route, apply, mark.

The consumer's inbox drainer (`bot.events.inbox_drain`) calls `ingest` for
each delivery the webhook endpoints verified, parsed and kept, on the
transaction it opens, with the routing of the delivery's forge (a
`ForgeRouting`: `bot.events.github.GitHubRouting`,
`bot.events.gitlab.GitLabRouting`). `ingest`:

1. records the delivery (`store/deliveries.py`); a repeated delivery id is
   reported, and nothing else happens;
2. notes the head SHA it announces, with its push time and pusher
   (`store/heads.py`);
3. looks up the bot's own name when the routing needs it for this event
   (`store/apps.py`), and routes the delivery — pure, no store;
4. applies the effects (`apply.py`) and marks the PRs (and merge groups)
   they name dirty in one statement (`dirty.mark_many`), which says which
   were clean until then: only those need a wake-up.

Everything runs on the connection it is given, so the caller's transaction
covers the lot: a delivery is never recorded without the work it causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from bot.events.apply import apply
from bot.events.parsed import ParsedDelivery
from bot.events.router import Routed
from bot.keys import WorkKey
from bot.store import apps, deliveries, dirty, heads
from bot.store.key_columns import in_column_order


class ForgeRouting(Protocol):
    """What a forge's routing gives the ingestion: its handlers, and its few facts."""

    @property
    def policy_paths(self) -> tuple[str, ...]:
        """Where the forge keeps a branch's own policy file (see `apply`)."""
        ...

    def bot_account(self, parsed: ParsedDelivery) -> int | None:
        """The `apps` row whose name the handlers of this delivery need (None: none)."""
        ...

    def route(self, parsed: ParsedDelivery, bot_name: str | None) -> Routed:
        """What the delivery causes; `bot_name` is the name kept under `bot_account`."""
        ...


@dataclass(frozen=True)
class Ingested:
    new: bool  # False: this delivery id was already recorded
    marked: tuple[WorkKey, ...] = ()  # marked dirty by this delivery
    woken: tuple[WorkKey, ...] = ()  # of those, the ones clean until now: queue them
    routed: Routed | None = None  # what the routing decided, for the log

    @property
    def pull(self) -> WorkKey | None:
        """The first PR marked, if any."""
        return self.marked[0] if self.marked else None

    @property
    def wake(self) -> bool:
        return bool(self.woken)


def ingest(
    conn: Connection, parsed: ParsedDelivery, routing: ForgeRouting, now: datetime
) -> Ingested:
    """Record `parsed`; unless it is a duplicate, route it, apply what it causes and
    mark the PRs it names, all on `conn`."""
    rec = parsed.record
    if not deliveries.record(conn, rec, now):
        return Ingested(new=False)
    if rec.repo is not None and rec.head_sha is not None:
        heads.record(
            conn,
            rec.provider,
            rec.repo,
            rec.head_sha,
            now,
            pushed=rec.head_pushed,
            pusher=rec.pusher,
        )
    account = routing.bot_account(parsed)
    bot_name = apps.slug(conn, rec.provider, account) if account is not None else None
    routed = routing.route(parsed, bot_name)
    marks = apply(
        conn,
        routed,
        provider=rec.provider,
        installation_id=rec.installation_id,
        now=now,
        policy_paths=routing.policy_paths,
    )
    woken = dirty.mark_many(conn, marks, now)
    return Ingested(
        new=True, marked=tuple(in_column_order(marks)), woken=tuple(woken), routed=routed
    )
