"""`bot.providers.parallel.gather`: calls run at once, results in order, errors in order."""

from __future__ import annotations

import contextvars
import threading

import pytest

from bot.providers.parallel import gather

WHO = contextvars.ContextVar("who", default="nobody")


def test_the_calls_run_at_the_same_time_and_come_back_in_order():
    # Each call waits for all three to have started: sequential calls would break the
    # barrier (its timeout) instead of passing it.
    barrier = threading.Barrier(3, timeout=10)

    def call(value: int):
        def run() -> int:
            barrier.wait()
            return value

        return run

    assert gather(call(1), call(2), call(3)) == (1, 2, 3)


def test_the_first_call_in_order_raises_whatever_failed_first_in_time():
    second_failed = threading.Event()

    def first() -> None:
        second_failed.wait(10)
        raise KeyError("first")

    def second() -> None:
        second_failed.set()
        raise ValueError("second")

    with pytest.raises(KeyError, match="first"):
        gather(first, second)


def test_every_call_ends_before_an_error_is_raised():
    finished = []

    def fails() -> None:
        raise RuntimeError("no")

    def slow() -> None:
        finished.append("slow")

    with pytest.raises(RuntimeError):
        gather(fails, slow)
    assert finished == ["slow"]


def test_each_call_sees_the_callers_context_variables():
    token = WHO.set("delivery-7")
    try:
        assert gather(WHO.get, WHO.get) == ("delivery-7", "delivery-7")
    finally:
        WHO.reset(token)


def test_no_calls_no_results():
    assert gather() == ()
