"""Headless Chromium for tests: Debian's browser, driven by Playwright (never a
downloaded one), and the one-click GitHub App setup as a person fills it in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def chromium_path() -> str:
    """The browser's path; fails under CI=true without it, else skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@contextmanager
def browser_page() -> Iterator[Any]:
    """A fresh page in a headless Chromium, closed afterwards."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium.new_page()
        finally:
            chromium.close()


def fill_one_click_setup(
    page: Any, gatebot: str, code: str, github: str, organisation: str = "acme",
    app_name: str = "gatebot-acme",
) -> None:
    """Open gatebot's setup page and ask for the App, as its form says."""
    page.goto(gatebot.rstrip("/") + "/")
    page.fill("#setup_code", code)
    page.check("input[name=account][value=organisation]")
    page.fill("#organisation", organisation)
    page.fill("#app_name", app_name)
    page.fill("#github_url", github)
    page.click("#create-app")
