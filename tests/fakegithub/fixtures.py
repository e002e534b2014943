"""pytest fixtures that start and stop fake GitHubs.

Import them into a test module or conftest.py
(`from fakegithub import fake_github, make_fake_github`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .fake import FakeGitHub


@pytest.fixture
def make_fake_github() -> Iterator[Callable[..., FakeGitHub]]:
    """A factory: `make_fake_github(app_id=..., private_key_pem=...)` returns a started
    FakeGitHub; every one it made is stopped at teardown."""
    started: list[FakeGitHub] = []

    def make(**options: Any) -> FakeGitHub:
        fake = FakeGitHub(**options).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def fake_github(make_fake_github: Callable[..., FakeGitHub]) -> FakeGitHub:
    """A started FakeGitHub with default settings (App id 4242, slug "gatebot")."""
    return make_fake_github()
