"""Draining the inbox (`bot.events.inbox_drain`), on SQLite and on PostgreSQL.

Every kept delivery is ingested exactly once, however many drainers run and
whether or not one was killed mid-batch; the PRs it marks are woken a
debounce after the delivery was received, not after it was drained; a
delivery whose routing raises is dropped alone, but the store failing drops
nothing; on PostgreSQL a transaction holds the marks of one delivery only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from test_ingestion import OwnPull, parsed

from bot.events.inbox_drain import InboxDrainer
from bot.events.parsed import ParsedDelivery, record_to_json
from bot.events.router import Routed
from bot.keys import PullKey
from bot.store import Store, deliveries, dirty, utcnow
from bot.store.engine import sqlite_file
from bot.store.inbox import Arrival, FileInbox, Inbox, open_inbox

DEBOUNCE = 5.0


class Killed(BaseException):
    """The drainer's process dying mid-batch."""


class RaisesFor(OwnPull):
    """Marks the delivery's own PR, but raises `error` for one delivery id."""

    def __init__(self, delivery_id: str, error: BaseException) -> None:
        super().__init__()
        self.delivery_id, self.error = delivery_id, error

    def route(self, parsed_: ParsedDelivery, bot_name: str | None) -> Routed:
        if parsed_.record.delivery_id == self.delivery_id:
            raise self.error
        return super().route(parsed_, bot_name)


class Wakes:
    """The wake-ups a drainer asked for, by key."""

    def __init__(self) -> None:
        self.delays: dict[PullKey, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: PullKey, delay: float) -> None:
        with self._lock:
            self.delays.setdefault(key, []).append(delay)


@pytest.fixture
def inbox(store: Store) -> Iterator[Inbox]:
    """The store's own inbox: on SQLite a file beside it, on PostgreSQL its table."""
    kept = open_inbox(store)
    yield kept
    kept.close()


def keep(inbox: Inbox, n: int, received_at=None) -> None:
    """Keep delivery `d-<n>`, about PR <n>, as the webhook endpoint would."""
    delivery = parsed(delivery_id=f"d-{n}", pr_number=n)
    arrival = Arrival(
        "github",
        f"d-{n}",
        "pull_request",
        record_to_json(delivery.record),
        json.dumps({"number": n}).encode(),
        received_at or utcnow(),
    )
    assert inbox.keep([arrival]) == [True]


def drainer(store, inbox, routing, wakes, clock=utcnow) -> InboxDrainer:
    return InboxDrainer(store, inbox, {"github": routing}, wakes, DEBOUNCE, clock)


def recorded(store, count: int) -> set[str]:
    with store.begin() as conn:
        return deliveries.recorded(conn, "github", [f"d-{n}" for n in range(1, count + 1)])


def test_a_kept_delivery_is_ingested_once_and_woken_a_debounce_after_it_came(store, inbox) -> None:
    received = utcnow() - timedelta(seconds=2)
    keep(inbox, 7, received)
    wakes = Wakes()
    assert (
        drainer(
            store, inbox, OwnPull(), wakes, clock=lambda: received + timedelta(seconds=2)
        ).drain()
        == 1
    )
    assert recorded(store, 7) == {"d-7"}
    assert wakes.delays == {PullKey("github", "acme/app", 7): [DEBOUNCE - 2]}
    with store.begin() as conn:
        assert dirty.get(conn, PullKey("github", "acme/app", 7)) is not None
    assert not inbox.waiting()
    assert drainer(store, inbox, OwnPull(), wakes).drain() == 0
    assert len(wakes.delays) == 1


def test_two_drainers_ingest_each_delivery_exactly_once(store, inbox) -> None:
    count = max(inbox.most_per_take, 20) * 2 + 5
    for n in range(1, count + 1):
        keep(inbox, n)
    wakes = Wakes()
    taken: list[int] = []
    start = threading.Barrier(2)

    def run() -> None:
        own = open_inbox(store)  # as each consumer process has
        start.wait()
        try:
            taken.append(drainer(store, own, OwnPull(), wakes).drain())
        finally:
            own.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A drainer stops at a short batch: what the other held then is the next poll's.
    taken.append(drainer(store, inbox, OwnPull(), wakes).drain())
    assert sum(taken) == count
    assert len(recorded(store, count)) == count
    assert sorted(key.number for key in wakes.delays) == list(range(1, count + 1))
    assert all(len(delays) == 1 for delays in wakes.delays.values())


def test_a_drainer_killed_mid_batch_loses_nothing(store, inbox) -> None:
    for n in range(1, 6):
        keep(inbox, n)
    wakes = Wakes()
    with pytest.raises(Killed):
        drainer(store, inbox, RaisesFor("d-3", Killed()), wakes).drain()
    # What committed before the kill stays: whole transactions of the inbox's size.
    committed = {"d-1", "d-2"} if inbox.most_per_take == 1 else set()
    assert recorded(store, 5) == committed
    assert len(wakes.delays) == len(committed)
    assert drainer(store, inbox, OwnPull(), wakes).drain() == 5 - len(committed)
    assert recorded(store, 5) == {f"d-{n}" for n in range(1, 6)}
    assert sorted(key.number for key in wakes.delays) == [1, 2, 3, 4, 5]
    assert all(len(delays) == 1 for delays in wakes.delays.values())


def test_the_store_failing_drops_no_delivery(store, inbox) -> None:
    """A deadlock (or a lost connection) mid-transaction is the store's failure, not
    the delivery's: the transaction is given up whole and everything stays kept."""
    for n in range(1, 4):
        keep(inbox, n)
    wakes = Wakes()
    deadlock = OperationalError("UPDATE dirty_pulls ...", {}, Exception("deadlock detected"))
    with pytest.raises(OperationalError):
        drainer(store, inbox, RaisesFor("d-2", deadlock), wakes).drain()
    assert inbox.waiting()
    before = recorded(store, 3)  # PostgreSQL: d-1, in a transaction of its own
    assert before == ({"d-1"} if inbox.most_per_take == 1 else set())
    assert drainer(store, inbox, OwnPull(), wakes).drain() == 3 - len(before)
    assert recorded(store, 3) == {"d-1", "d-2", "d-3"}
    assert sorted(key.number for key in wakes.delays) == [1, 2, 3]
    assert not inbox.waiting()


class ClaimsTheFirst(OwnPull):
    """While the second delivery is routed, looks from another connection at what the
    first one left: whether it is recorded and, on PostgreSQL, whether a worker can
    claim its PR without waiting."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.seen: set[str] | None = None
        self.claimed: bool | None = None

    def route(self, parsed_: ParsedDelivery, bot_name: str | None) -> Routed:
        if parsed_.record.delivery_id != "d-2":
            return super().route(parsed_, bot_name)
        if self.store.engine.dialect.name == "postgresql":
            with self.store.begin() as conn:
                self.seen = deliveries.recorded(conn, "github", ["d-1"])
                # Before, this waited for the whole batch: here, for ever.
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                key = PullKey("github", "acme/app", 1)
                self.claimed = dirty.claim(conn, key, "worker", utcnow(), 60) is not None
        else:
            # The store's transactions all take SQLite's write lock: read beside it.
            database = sqlite_file(self.store.engine.url)
            with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                self.seen = {row[0] for row in db.execute("SELECT delivery_id FROM deliveries")}
        return super().route(parsed_, bot_name)


def test_a_transaction_holds_the_marks_of_as_many_deliveries_as_the_inbox_takes(
    store, inbox
) -> None:
    for n in (1, 2):
        keep(inbox, n)
    routing = ClaimsTheFirst(store)
    assert drainer(store, inbox, routing, Wakes()).drain() == 2
    if inbox.most_per_take == 1:  # PostgreSQL: committed, and its PR free to claim
        assert (routing.seen, routing.claimed) == ({"d-1"}, True)
    else:  # SQLite's one writer: the batch commits whole
        assert (routing.seen, inbox.most_per_take) == (set(), FileInbox.most_per_take)


def test_a_delivery_whose_routing_raises_is_dropped_alone(store, inbox) -> None:
    labels = {"forge": "github", "event": "pull_request", "outcome": "failed"}
    failed_before = REGISTRY.get_sample_value("gatebot_deliveries_total", labels) or 0.0
    for n in range(1, 4):
        keep(inbox, n)
    wakes = Wakes()
    assert drainer(store, inbox, RaisesFor("d-2", LookupError("a bug")), wakes).drain() == 3
    assert recorded(store, 3) == {"d-1", "d-3"}
    assert sorted(key.number for key in wakes.delays) == [1, 3]
    assert REGISTRY.get_sample_value("gatebot_deliveries_total", labels) == failed_before + 1
    assert not inbox.waiting()


def test_a_delivery_ingested_already_is_ingested_no_more(store, inbox) -> None:
    labels = {"forge": "github", "event": "pull_request", "outcome": "duplicate"}
    before = REGISTRY.get_sample_value("gatebot_deliveries_total", labels) or 0.0
    keep(inbox, 4)
    # Ingested meanwhile by another way in (another consumer; or this one, stopped
    # after its commit and before the inbox let the row go).
    with store.begin() as conn:
        deliveries.record(conn, parsed(delivery_id="d-4").record, utcnow())
    wakes = Wakes()
    ingested = drainer(store, inbox, OwnPull(), wakes).drain()
    assert wakes.delays == {}
    assert not inbox.waiting()
    counted = (REGISTRY.get_sample_value("gatebot_deliveries_total", labels) or 0.0) - before
    if isinstance(inbox, FileInbox):
        assert (ingested, counted) == (0, 0)  # found recorded as it was taken: let go
    else:
        assert (ingested, counted) == (1, 1)  # `ingest` finds it a duplicate
