"""The SQLite writer lock (`bot.store.writer_lock`): while a `Store` transaction is
open, no other process's transaction on the same file can start, and it is let
go however the transaction ends."""

from __future__ import annotations

import fcntl
import os

import pytest

from bot.store import Store


def taken_elsewhere(path: str) -> bool:
    """Whether another process holds the lock: tried on a description of our own."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.fixture
def sqlite_store(tmp_path):
    found = Store(f"sqlite:///{tmp_path}/store.sqlite3")
    found.migrate()
    yield found, f"{tmp_path}/store.sqlite3-writers.lock"
    found.close()


def test_a_transaction_holds_the_hosts_writer_lock_until_it_ends(sqlite_store):
    store, lock = sqlite_store
    with store.begin():
        assert taken_elsewhere(lock)
    assert not taken_elsewhere(lock)


def test_a_closed_store_opens_the_lock_again(sqlite_store):
    store, lock = sqlite_store
    store.close()
    with store.begin():
        assert taken_elsewhere(lock)
    assert not taken_elsewhere(lock)


def test_a_failed_transaction_lets_the_lock_go(sqlite_store):
    store, lock = sqlite_store
    with pytest.raises(ZeroDivisionError), store.begin():
        1 / 0  # noqa: B018
    assert not taken_elsewhere(lock)
