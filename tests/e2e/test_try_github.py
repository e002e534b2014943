"""The README's walkthrough against the fake GitHub works as written: the
runner prints the command to start gatebot, and the PR it plays goes from
pending to success with a Details link that opens."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support.e2e import free_port
from support.processes import GatebotProcess, clean_env, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def exported(env_file: Path) -> dict[str, str]:
    lines = env_file.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines)


def test_the_walkthrough_reaches_a_verdict(tmp_path):
    port = free_port()
    log = tmp_path / "try.log"
    with open(log, "wb") as out:
        runner = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "try_github.py"),
             "--dir", str(tmp_path / "try-github"), "--public-url", f"http://127.0.0.1:{port}"],
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
