"""The inbox (`bot.store.inbox`): on a SQLite store a file beside it, on PostgreSQL a
table of the store. A delivery is kept once; a redelivery is refused whether or not
the first was ingested yet; what is taken comes back until the ingesting
transaction commits and `done` is said."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.events.parsed import DeliveryRecord
from bot.store import Store, deliveries, utcnow
from bot.store.inbox import Arrival, FileInbox, Inbox, TableInbox, inbox_path, open_inbox
from bot.store.tables import inbox as inbox_table


@pytest.fixture(params=["its own", "the table"])
def inbox(request: pytest.FixtureRequest, store: Store) -> Iterator[Inbox]:
    """The store's own inbox (a file beside SQLite's), and the table kind on either."""
    kept = open_inbox(store) if request.param == "its own" else TableInbox(store)
    yield kept
    kept.close()


def arrival(delivery_id: str, provider: str = "github") -> Arrival:
    return Arrival(provider, delivery_id, "push", "{}", b'{"a": 1}', utcnow())


def take(store: Store, inbox: Inbox, most: int = 10) -> list[str]:
    """Take, ingest nothing, commit and say done: the ids taken."""
    with store.begin() as conn:
        taken = inbox.take(conn, most)
    inbox.done(taken)
    return [a.delivery_id for a in taken.kept]


def test_a_sqlite_store_keeps_its_inbox_in_a_file_beside_it_and_postgresql_in_a_table(
    store: Store,
) -> None:
    inbox = open_inbox(store)
    try:
        if store.dialect == "sqlite":
            assert isinstance(inbox, FileInbox)
            assert inbox.path == inbox_path(store.engine.url.database or "")
            assert inbox.path.name == "store.inbox.sqlite3"
        else:
            assert isinstance(inbox, TableInbox)
    finally:
        inbox.close()


def test_a_delivery_is_kept_once(store: Store, inbox: Inbox) -> None:
    assert inbox.keep([arrival("d-1"), arrival("d-1"), arrival("d-1", provider="gitlab")]) == [
        True,
        False,
        True,  # ids are per forge
    ]
    assert inbox.keep([arrival("d-1")]) == [False]
    with store.begin() as conn:
        taken = inbox.take(conn, 10)
    assert [(a.provider, a.delivery_id, a.body) for a in taken.kept] == [
        ("github", "d-1", b'{"a": 1}'),
        ("gitlab", "d-1", b'{"a": 1}'),
    ]


def test_a_delivery_already_ingested_is_not_kept_again(store: Store, inbox: Inbox) -> None:
    with store.begin() as conn:
        deliveries.record(conn, DeliveryRecord("github", "d-2", "push"), utcnow())
    assert inbox.keep([arrival("d-2")]) == [False]
    assert not inbox.waiting()


def test_what_is_taken_comes_back_if_its_transaction_rolls_back(
    store: Store, inbox: Inbox
) -> None:
    inbox.keep([arrival(f"d-{n}") for n in range(5)])
    with store.begin() as conn:
        taken = inbox.take(conn, 3)
        assert [a.delivery_id for a in taken.kept] == ["d-0", "d-1", "d-2"]
        conn.rollback()
    assert take(store, inbox) == [f"d-{n}" for n in range(5)]
    assert not inbox.waiting()


def test_a_delivery_ingested_but_not_let_go_is_not_handed_out_again(
    store: Store, inbox: Inbox
) -> None:
    # A consumer stopped between its commit and `done` (the file inbox's rows stay):
    # the next take finds the deliveries recorded and drops them.
    inbox.keep([arrival("d-1"), arrival("d-2")])
    with store.begin() as conn:
        inbox.take(conn, 10)
        deliveries.record(conn, DeliveryRecord("github", "d-1", "push"), utcnow())
    assert take(store, inbox) == (["d-2"] if isinstance(inbox, FileInbox) else [])
    assert not inbox.waiting()


def test_keeping_waits_for_no_transaction_of_a_sqlite_store(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path}/gatebot.sqlite3")
    store.migrate()
    inbox = open_inbox(store)
    try:
        with store.begin():  # a consumer's write transaction, held
            assert inbox.keep([arrival("d-1")]) == [True]
        assert inbox.waiting()
    finally:
        inbox.close()
        store.close()


def test_a_redelivery_arriving_while_the_first_is_ingested_is_a_duplicate(
    store: Store, inbox: Inbox
) -> None:
    # The two sendings of one delivery reach two web processes while a consumer
    # ingests the first: the second must not slip into the gap between the row's
    # going and the record's coming (on PostgreSQL it once did: 202 twice).
    inbox.keep([arrival("d-1")])
    answers: list[list[bool]] = []
    with store.begin() as conn:
        taken = inbox.take(conn, 10)
        again = threading.Thread(target=lambda: answers.append(inbox.keep([arrival("d-1")])))
        again.start()
        again.join(0.5)  # it may wait for this transaction
        deliveries.record(conn, DeliveryRecord("github", "d-1", "push"), utcnow())
    again.join(10)
    inbox.done(taken)
    assert answers == [[False]]
    assert not inbox.waiting()


def test_rows_taken_long_ago_are_forgotten(store: Store) -> None:
    inbox = TableInbox(store)
    inbox.keep([arrival("d-1")])
    with store.begin() as conn:
        taken = inbox.take(conn, 10)
    inbox.done(taken)
    assert inbox.keep([arrival("d-1")]) == [False]  # taken, kept a while: still a duplicate
    inbox.KEPT_TAKEN = timedelta(0)
    inbox._next_prune = 0.0
    inbox.done(taken)
    with store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(inbox_table)).scalar_one() == 0
