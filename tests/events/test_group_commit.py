"""Deliveries arriving together share one commit (`bot.events.group_commit`), here of
the store's own inbox (`Inbox.keep`: a file beside SQLite's, a table on PostgreSQL).

While a commit is under way the deliveries that arrive wait; then they are kept
together and committed once. Each caller still gets its own answer, only after
the commit that holds its delivery; a commit that fails fails its own callers
only, and the next caller still leads a commit of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
from support.processes import wait_until

from bot.events.group_commit import GroupCommit
from bot.store import Store, utcnow
from bot.store.inbox import Arrival, Inbox, open_inbox


@pytest.fixture
def inbox(store: Store) -> Iterator[Inbox]:
    kept = open_inbox(store)
    yield kept
    kept.close()


def arrival(delivery_id: str) -> Arrival:
    return Arrival("github", delivery_id, "push", "{}", b"{}", utcnow())


class Commits:
    """`inbox.keep`, counted, held back while `hold` is set, failing for `fails_for`."""

    def __init__(self, inbox: Inbox, fails_for: str | None = None) -> None:
        self.inbox, self.fails_for = inbox, fails_for
        self.batches: list[list[str]] = []
        self.hold = threading.Event()  # set: the next commit waits for `release`
        self.release = threading.Event()
        self.holding = threading.Event()  # a commit is held

    def __call__(self, arrivals: Sequence[Arrival]) -> list[bool]:
        ids = [a.delivery_id for a in arrivals]
        self.batches.append(ids)
        if self.hold.is_set():
            self.hold.clear()
            self.holding.set()
            assert self.release.wait(10)
        if self.fails_for in ids:
            raise LookupError("the disk is full")
        return self.inbox.keep(arrivals)


def submit_together(group: GroupCommit, commits: Commits, ids: list[str]) -> dict[str, object]:
    """One delivery (`first`) leads a commit that is held; `ids` arrive meanwhile, one
    thread each; then the commit ends. Every caller's answer (or the error it saw)."""
    answers: dict[str, object] = {}
    lock = threading.Lock()

    def submit(delivery_id: str, key: str) -> None:
        try:
            answer: object = group.submit(arrival(delivery_id))
        except LookupError as exc:
            answer = exc
        with lock:
            answers[key] = answer

    commits.hold.set()
    first = threading.Thread(target=submit, args=("first", "first"))
    first.start()
    assert commits.holding.wait(10)
    threads = [
        threading.Thread(target=submit, args=(d, f"{d}#{n}")) for n, d in enumerate(ids)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(group._waiting) == len(threads), timeout=10)
    assert answers == {}  # nobody is answered before its commit
    commits.release.set()
    for thread in [first, *threads]:
        thread.join(10)
    return answers


def test_deliveries_arriving_during_a_commit_share_the_next_one(store, inbox) -> None:
    commits = Commits(inbox)
    group = GroupCommit(commits)
    ids = [f"d-{n}" for n in range(1, 21)]
    answers = submit_together(group, commits, ids)
    assert commits.batches == [["first"], ids]  # two commits for 21 deliveries
    assert len(answers) == 21 and all(a is True for a in answers.values())
    with store.begin() as conn:
        assert len(inbox.take(conn, 100).kept) == 21


def test_a_repeated_delivery_in_one_commit_is_a_duplicate(store, inbox) -> None:
    commits = Commits(inbox)
    answers = submit_together(GroupCommit(commits), commits, ["d-1"] * 3 + ["b-1", "b-2"])
    assert [answers[k] for k in ("first", "b-1#3", "b-2#4")] == [True, True, True]
    assert sorted(answers[f"d-1#{n}"] for n in range(3)) == [False, False, True]


def test_a_failed_commit_fails_its_own_callers_and_the_next_caller_leads(store, inbox) -> None:
    commits = Commits(inbox, fails_for="d-3")
    group = GroupCommit(commits)
    answers = submit_together(group, commits, [f"d-{n}" for n in range(1, 6)])
    # The held commit went through; the batch after it held d-3 and failed whole.
    assert answers["first"] is True
    assert all(isinstance(answers[f"d-{n}#{n - 1}"], LookupError) for n in range(1, 6))
    assert not group._led  # the lead was given back
    assert group.submit(arrival("d-9")) is True  # and the next one commits
    with store.begin() as conn:
        assert [a.delivery_id for a in inbox.take(conn, 100).kept] == ["first", "d-9"]


def test_a_lone_delivery_is_committed_at_once(inbox) -> None:
    commits = Commits(inbox)
    group = GroupCommit(commits)
    assert group.submit(arrival("d-1")) is True
    assert group.submit(arrival("d-1")) is False
    assert commits.batches == [["d-1"], ["d-1"]]
