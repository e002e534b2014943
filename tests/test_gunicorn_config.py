"""The Procfile's `web`: gunicorn with several workers, one scrape counting them all."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support.e2e import free_port
from support.processes import ROOT, clean_env, wait_until

pytestmark = pytest.mark.slow


def procfile_web(port: int) -> list[str]:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    command = line.removeprefix("web:").replace("${PORT:-8000}", str(port))
    command = command.replace("${WEB_CONCURRENCY:-2}", "2")
    args = shlex.split(command)
    assert args[0] == "gunicorn"
    return [str(Path(sys.executable).parent / "gunicorn"), *args[1:]]


def delivered(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gatebot_deliveries_total{")
    )


def test_every_gunicorn_worker_answers_with_the_sum_of_all(tmp_path):
    port = free_port()
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
    with open(tmp_path / "gunicorn.log", "wb") as log:
        proc = subprocess.Popen(procfile_web(port), env=env, cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base), timeout=20,
                   message=(tmp_path / "gunicorn.log").read_text())
        for _ in range(12):  # setup mode: each answered 503, and counted
            assert requests.post(f"{base}/webhooks/github", timeout=5).status_code == 503
        # Connections land on either worker; each scrape must say 12.
        assert {delivered(base) for _ in range(8)} == {12}
        # The metrics directory beside the default store; kill a worker that counted.
        files = list((tmp_path / "data" / "gatebot" / "gatebot-metrics").glob("counter_*.db"))
        assert files
        worker = int(files[0].stem.rsplit("_", 1)[1])
        assert worker != proc.pid
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: _up(base) and delivered(base) == 12, timeout=20,
                   message="a worker's counts were lost with it")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
