"""The README's walkthroughs against the fake GitHub work as written: the
runner prints the command to start gatebot (and, for the one-click App, what
to type on its setup page), and the PR it plays goes from pending to success
with a Details link that opens."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support.browser import browser_page, fill_one_click_setup
from support.e2e import free_port
from support.processes import GatebotProcess, clean_env, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def exported(env_file: Path) -> dict[str, str]:
    lines = env_file.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines)


def _walk_through(tmp_path: Path, *, one_click: bool) -> None:
    port = free_port()
    log = tmp_path / "try.log"
    with open(log, "wb") as out:
        runner = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "try_github.py"),
             "--dir", str(tmp_path / "try-github"), "--public-url", f"http://127.0.0.1:{port}",
             *(["--one-click"] if one_click else [])],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
        )
    serve = None
    try:
        wait_until(lambda: "Waiting for gatebot" in log.read_text(), timeout=20,
                   message=log.read_text() if log.exists() else "no output")
        command = re.search(r"^    \. (\S+) && \.venv/bin/gatebot (serve.*)$", log.read_text(), re.M)
        assert command is not None, log.read_text()
        assert command.group(2).split() == ["serve", "--port", str(port)]
        env = clean_env(**exported(Path(command.group(1))))
        serve = GatebotProcess(command.group(2).split(), env, cwd=tmp_path,
                               log_path=tmp_path / "serve.log")
        if one_click:
            # What the runner says to type, typed into the page as a person would.
            wait_until(lambda: "setup code for the one-click" in serve.output(), timeout=20,
                       message=serve.output())
            code = re.search(r"one-click GitHub App: (\S+)", serve.output()).group(1)
            github = re.search(r"GitHub address: +(\S+)", log.read_text()).group(1)
            with browser_page() as page:
                fill_one_click_setup(page, f"http://127.0.0.1:{port}", code, github)
                page.get_by_role("button", name="Create GitHub App for acme").click()
                page.wait_for_selector("#install")
        wait_until(lambda: "Ctrl-C stops" in log.read_text(), timeout=60,
                   message=log.read_text() + serve.output())
        text = log.read_text()
        verdicts = re.findall(r"gatebot: main: (\w+) — (.*)", text)
        assert [state for state, _ in verdicts] == ["pending", "pending", "success"], text
        assert "needs 2 more approvals" in verdicts[0][1]
        links = re.findall(r"Details: (http://\S+)", text)
        assert len(links) == 3 and requests.get(links[-1], timeout=10).status_code == 200
    finally:
        if serve is not None:
            serve.stop()
        runner.terminate()
        runner.wait(10)


def test_the_walkthrough_reaches_a_verdict(tmp_path):
    _walk_through(tmp_path, one_click=False)


def test_the_one_click_walkthrough_reaches_a_verdict(tmp_path):
    """A new user's path: gatebot serve with nothing configured, the App created from
    its setup page, then the pull request judged."""
    _walk_through(tmp_path, one_click=True)
