"""pytest fixtures that start and stop fake GitLabs.

Import them into a test module or conftest.py
(`from fakegitlab import fake_gitlab, make_fake_gitlab`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.fakes.forge import started_fakes

from .fake import FakeGitLab


@pytest.fixture
def make_fake_gitlab() -> Iterator[Callable[..., FakeGitLab]]:
    """A factory: `make_fake_gitlab(bot_username=..., webhook_secret=...)` returns a
    started FakeGitLab; every one it made is stopped at teardown."""
    yield from started_fakes(FakeGitLab)


@pytest.fixture
def fake_gitlab(make_fake_gitlab: Callable[..., FakeGitLab]) -> FakeGitLab:
    """A started FakeGitLab with default settings (bot user "gatebot-bot")."""
    return make_fake_gitlab()
