"""Deliveries arriving together share one commit (`bot.events.group_commit`), on
SQLite and on PostgreSQL.

While a commit is under way the deliveries that arrive wait; then they are
ingested together and committed once. Each caller still gets its own
answer, only after the commit that holds its delivery, and a delivery whose
ingestion fails is rolled back alone.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from support.processes import wait_until
from test_ingestion import KEY, OwnPull, parsed

from bot import logs
from bot.events.group_commit import GroupCommit
from bot.events.router import Routed
from bot.keys import PullKey
from bot.store import deliveries, dirty, utcnow


class Commits:
    """Counts the commits of the store's engine."""

    def __init__(self, store) -> None:
        self.count = 0
        event.listen(store.engine, "commit", self._one)

    def _one(self, _conn) -> None:
        self.count += 1


class FailsFor(OwnPull):
    """Marks the delivery's own PR, but raises for one delivery id."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__()
        self.delivery_id = delivery_id

    def route(self, parsed, bot_name) -> Routed:
        if parsed.record.delivery_id == self.delivery_id:
            raise LookupError("a bug in a handler")
        return super().route(parsed, bot_name)


def ingest_together(group: GroupCommit, deliveries_, routing) -> dict[str, object]:
    """Ingest `deliveries_` from one thread each while a commit is under way, then
    let it end; every caller's answer (an `Ingested` or the exception it saw)."""
    answers: dict[str, object] = {}

    def submit(delivery) -> None:
        try:
            answers[delivery.record.delivery_id + f"#{id(delivery)}"] = group.ingest(
                delivery, routing, utcnow()
            )
        except LookupError as exc:
            answers[delivery.record.delivery_id + f"#{id(delivery)}"] = exc

    threads = [threading.Thread(target=submit, args=(d,)) for d in deliveries_]
    with group._committing:  # a commit under way
        for thread in threads:
            thread.start()
        wait_until(lambda: len(group._waiting) == len(threads), timeout=10)
        assert answers == {}  # nobody is answered before its commit
    for thread in threads:
        thread.join(10)
    return answers


def test_deliveries_arriving_during_a_commit_share_the_next_one(store):
    group, commits = GroupCommit(store), Commits(store)
    batch = [parsed(delivery_id=f"d-{n}", pr_number=n) for n in range(1, 21)]
    answers = ingest_together(group, batch, OwnPull())
    assert commits.count == 1
    assert len(answers) == 20
    assert all(a.new and a.wake for a in answers.values())
    with store.begin() as conn:
        assert deliveries.count(conn) == 20
        for n in range(1, 21):
            assert dirty.get(conn, PullKey("github", "acme/app", n)).generation == 1


def test_a_repeated_delivery_in_one_commit_is_a_duplicate_and_a_burst_wakes_once(store):
    group = GroupCommit(store)
    same = [parsed(delivery_id="d-1") for _ in range(3)]
    burst = [parsed(delivery_id=f"b-{n}") for n in range(4)]
    answers = list(ingest_together(group, same + burst, OwnPull()).values())
    assert sum(a.new for a in answers) == 5  # d-1 once, and the four of the burst
    assert sum(a.wake for a in answers) == 1  # one wake-up for the one PR
    with store.begin() as conn:
        assert deliveries.count(conn) == 5
        assert dirty.get(conn, KEY).generation == 5


def test_a_failing_delivery_is_rolled_back_alone_and_its_request_sees_the_error(store):
    group = GroupCommit(store)
    batch = [parsed(delivery_id=f"d-{n}", pr_number=n) for n in range(1, 6)]
    answers = ingest_together(group, batch, FailsFor("d-3"))
    failed = [a for a in answers.values() if isinstance(a, LookupError)]
    assert len(failed) == 1
    with store.begin() as conn:
        assert deliveries.recorded(conn, "github", [f"d-{n}" for n in range(1, 6)]) == {
            "d-1", "d-2", "d-4", "d-5"
        }
        assert dirty.get(conn, PullKey("github", "acme/app", 3)) is None


def test_a_lone_delivery_is_committed_at_once(store):
    group, commits = GroupCommit(store), Commits(store)
    answer = group.ingest(parsed(), OwnPull(), utcnow())
    assert answer.new and answer.wake
    assert commits.count == 1
    # And a failing one raises in its caller, with nothing recorded.
    with pytest.raises(LookupError):
        group.ingest(parsed(delivery_id="d-9"), FailsFor("d-9"), utcnow())
    with store.begin() as conn:
        assert deliveries.recorded(conn, "github", ["d-9"]) == set()


class NotesItsLogContext(OwnPull):
    """Marks the delivery's own PR and notes the log context it was routed in."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, object] = {}

    def route(self, parsed, bot_name) -> Routed:
        self.seen[parsed.record.delivery_id] = logs.current().get("delivery_id")
        return super().route(parsed, bot_name)


def test_each_delivery_is_ingested_in_its_own_requests_log_context(store):
    group, routing = GroupCommit(store), NotesItsLogContext()
    batch = [parsed(delivery_id=f"d-{n}", pr_number=n) for n in range(1, 6)]
    answers: list[object] = []

    def submit(delivery) -> None:
        with logs.context(delivery_id=delivery.record.delivery_id):
            answers.append(group.ingest(delivery, routing, utcnow()))

    threads = [threading.Thread(target=submit, args=(d,)) for d in batch]
    with group._committing:
        for thread in threads:
            thread.start()
        wait_until(lambda: len(group._waiting) == len(threads), timeout=10)
    for thread in threads:
        thread.join(10)
    assert len(answers) == 5
    assert routing.seen == {f"d-{n}": f"d-{n}" for n in range(1, 6)}
