"""A background pass (`bot.periodic.Periodic`): run every interval; after a failed
pass, not again for a second, so a pass run every few milliseconds (the inbox's)
does not write a warning as often while the store is down."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError

from bot.periodic import Periodic


def passes_in(seconds: float, run, **kwargs) -> int:
    calls: list[float] = []

    def counted() -> None:
        calls.append(time.monotonic())
        run()

    periodic = Periodic("probe", 0.01, counted, **kwargs)
    periodic.start()
    time.sleep(seconds)
    periodic.stop()
    return len(calls)


def store_down() -> None:
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def a_named_error() -> None:
    raise LookupError("the forge answered nonsense")


def test_a_pass_runs_every_interval() -> None:
    assert passes_in(0.5, lambda: None) >= 5


@pytest.mark.parametrize("fails", [store_down, a_named_error])
def test_after_a_failed_pass_the_next_waits_a_second(
    fails, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(Periodic, "RETRY_SECONDS", 0.2)
    assert passes_in(0.5, fails, skips=(LookupError,)) <= 4  # not 50
    assert 1 <= sum("probe pass" in r.message for r in caplog.records) <= 4
