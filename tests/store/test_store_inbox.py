"""The inbox (`bot.store.inbox`), on SQLite and on PostgreSQL: a delivery is kept once,
a redelivery is refused whether or not the first was ingested yet, and taking rows
is undone by a rollback."""

from __future__ import annotations

from bot.events.parsed import DeliveryRecord
from bot.store import deliveries, inbox, utcnow


def keep(conn, delivery_id: str, provider: str = "github") -> bool:
    return inbox.keep(
        conn,
        provider=provider,
        delivery_id=delivery_id,
        event="push",
        facts="{}",
        body=b'{"a": 1}',
        now=utcnow(),
    )


def test_a_delivery_is_kept_once(store) -> None:
    with store.begin() as conn:
        assert keep(conn, "d-1")
        assert not keep(conn, "d-1")
        assert keep(conn, "d-1", provider="gitlab")  # ids are per forge
    with store.begin() as conn:
        taken = inbox.take(conn, 10)
    assert [(k.provider, k.delivery_id, k.body) for k in taken] == [
        ("github", "d-1", b'{"a": 1}'),
        ("gitlab", "d-1", b'{"a": 1}'),
    ]


def test_a_delivery_already_ingested_is_not_kept_again(store) -> None:
    with store.begin() as conn:
        deliveries.record(conn, DeliveryRecord("github", "d-2", "push"), utcnow())
    with store.begin() as conn:
        assert not keep(conn, "d-2")
        assert not inbox.waiting(conn)


def test_taking_is_undone_by_a_rollback(store) -> None:
    with store.begin() as conn:
        for n in range(5):
            keep(conn, f"d-{n}")
    with store.begin() as conn:
        assert [k.delivery_id for k in inbox.take(conn, 3)] == ["d-0", "d-1", "d-2"]
        conn.rollback()
    with store.begin() as conn:
        assert [k.delivery_id for k in inbox.take(conn, 10)] == [f"d-{n}" for n in range(5)]
        assert not inbox.waiting(conn)
