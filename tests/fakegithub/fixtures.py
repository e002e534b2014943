"""pytest fixtures that start and stop fake GitHubs.

Import them into a test module or conftest.py
(`from fakegithub import fake_github, make_fake_github`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.fakes.forge import started_fakes

from .fake import FakeGitHub


@pytest.fixture
def make_fake_github() -> Iterator[Callable[..., FakeGitHub]]:
    """A factory: `make_fake_github(app_id=..., private_key_pem=...)` returns a started
    FakeGitHub; every one it made is stopped at teardown."""
    yield from started_fakes(FakeGitHub)


@pytest.fixture
def fake_github(make_fake_github: Callable[..., FakeGitHub]) -> FakeGitHub:
    """A started FakeGitHub with default settings (App id 4242, slug "gatebot")."""
    return make_fake_github()
