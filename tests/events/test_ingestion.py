"""The event layer's ingestion (`bot.events.ingestion`), on SQLite and on PostgreSQL.

One call records a delivery, routes it, applies its effects and marks its
PRs, on the caller's transaction. The forge's routing is stood in for by
the smallest one that marks the delivery's own PR, so these tests state the
ingestion's own promises: a delivery id is recorded once, the marks wake a
PR only when it was clean, and nothing outlives a rolled-back transaction.
The forges' real routings are tested in test_routing.py and
test_gitlab_routing.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.events.effects import MarkPulls
from bot.events.ingestion import ingest
from bot.events.parsed import DeliveryRecord, ParsedDelivery
from bot.events.router import Routed, do, ignore
from bot.keys import PullKey
from bot.store import apps, deliveries, dirty, heads, utcnow

KEY = PullKey("github", "acme/app", 7)


def parsed(**fields) -> ParsedDelivery:
    defaults = dict(
        provider="github",
        delivery_id="d-1",
        event="pull_request",
        action="opened",
        repo="acme/app",
        installation_id=99,
        pr_number=7,
        sender="ada",
    )
    return ParsedDelivery(DeliveryRecord(**{**defaults, **fields}), {})


@dataclass
class OwnPull:
    """A routing that marks the delivery's own PR, and notes what it was asked."""

    bot_name: str | None = None
    account: int | None = None
    policy_paths: tuple[str, ...] = ()

    def bot_account(self, parsed: ParsedDelivery) -> int | None:
        return self.account

    def route(self, parsed: ParsedDelivery, bot_name: str | None) -> Routed:
        self.bot_name = bot_name
        rec = parsed.record
        if rec.repo is None or rec.pr_number is None:
            return ignore("no PR")
        return do(MarkPulls(rec.repo, (rec.pr_number,)))


def test_ingest_records_once_and_marks_the_pr(store):
    now = utcnow()
    with store.begin() as conn:
        first = ingest(conn, parsed(), OwnPull(), now)
        second = ingest(conn, parsed(), OwnPull(), now)
        third = ingest(conn, parsed(delivery_id="d-2"), OwnPull(), now)
        row = dirty.get(conn, KEY)
    assert (first.new, first.pull, first.wake) == (True, KEY, True)
    assert (second.new, second.wake) == (False, False)
    assert (third.new, third.wake) == (True, False)  # already dirty: no new wake-up
    assert row.generation == 2
    assert row.installation_id == 99
    assert row.dirty_since == now


def test_delivery_and_mark_share_the_callers_transaction(store):
    with pytest.raises(RuntimeError), store.begin() as conn:
        ingest(conn, parsed(), OwnPull(), utcnow())
        raise RuntimeError("the request failed after ingesting")
    with store.begin() as conn:
        assert deliveries.get(conn, "github", "d-1") is None
        assert dirty.get(conn, KEY) is None


def test_same_delivery_id_from_another_forge_is_not_a_duplicate(store):
    with store.begin() as conn:
        assert ingest(conn, parsed(), OwnPull(), utcnow()).new
        assert ingest(conn, parsed(provider="gitlab"), OwnPull(), utcnow()).new


def test_a_duplicate_is_not_routed_and_a_new_delivery_says_what_it_caused(store):
    routing = OwnPull(bot_name="unset")
    with store.begin() as conn:
        first = ingest(conn, parsed(), routing, utcnow())
        routing.bot_name = "unset"
        second = ingest(conn, parsed(), routing, utcnow())
    assert first.routed == do(MarkPulls("acme/app", (7,)))
    assert second.routed is None and routing.bot_name == "unset"


def test_the_bot_name_is_read_only_when_the_routing_asks(store):
    with store.begin() as conn:
        apps.remember(conn, "github", 5, "gatebot", utcnow())
        ingest(conn, parsed(), asked := OwnPull(account=5), utcnow())
        ingest(conn, parsed(delivery_id="d-2"), unasked := OwnPull(), utcnow())
    assert (asked.bot_name, unasked.bot_name) == ("gatebot", None)


def test_the_announced_head_is_noted_with_its_pusher(store):
    now = utcnow()
    with store.begin() as conn:
        ingest(
            conn,
            parsed(head_sha="abc1234", head_pushed=True, pusher="bob"),
            OwnPull(),
            now,
        )
        seen = heads.get(conn, "github", "acme/app", "abc1234")
    assert seen is not None and seen.pusher == "bob"
