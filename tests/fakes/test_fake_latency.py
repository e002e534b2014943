"""The fakes' latency and the request times their logs keep: concurrent requests wait
their latency out together, and `round_trips` counts the waits in a row."""

from __future__ import annotations

import threading

import pytest
import requests
from fakegithub import FakeGitHub
from fakegitlab import FakeGitLab
from support.fakes.recording import round_trips


def get(url: str) -> None:
    requests.get(url, timeout=10)


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_latency_delays_every_answer_and_concurrent_requests_overlap(
    forge, fake_github: FakeGitHub, fake_gitlab: FakeGitLab
):
    fake = fake_github if forge == "github" else fake_gitlab
    fake.set_latency(0.2)
    url = f"{fake.url}/nowhere"
    together = [threading.Thread(target=get, args=(url,)) for _ in range(3)]
    for thread in together:
        thread.start()
    for thread in together:
        thread.join()
    get(url)  # after the three
    first, second, third, last = sorted(fake.requests, key=lambda r: r.started)
    for record in (first, second, third, last):
        assert record.ended - record.started >= 0.2
    assert max(r.started for r in (first, second, third)) < min(
        r.ended for r in (first, second, third)
    )
    assert last.started >= max(r.ended for r in (first, second, third))
    assert round_trips((r.started, r.ended) for r in fake.requests) == 2

    fake.set_latency(0)
    get(url)
    assert fake.requests[-1].status == 404


def test_round_trips_is_the_longest_chain_of_requests_that_do_not_overlap():
    assert round_trips([]) == 0
    assert round_trips([(0, 1)]) == 1
    # Three reads sent together, then a write once they are answered.
    assert round_trips([(0, 1), (0.1, 1.1), (0.2, 0.9), (1.2, 2)]) == 2
    # One long request beside a chain of three short ones: the chain counts.
    assert round_trips([(0, 3), (0, 1), (1, 2), (2, 3)]) == 3
    # Order of the log does not matter.
    assert round_trips([(2, 3), (0, 1), (1, 2)]) == 3
