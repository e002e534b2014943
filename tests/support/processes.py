"""Real `gatebot` processes for tests: started with a clean environment,
output captured to a file, stopped (or killed) at the end of the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def gatebot_command() -> list[str]:
    script = Path(sys.executable).parent / "gatebot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def clean_env(**settings: str) -> dict[str, str]:
    """Only what a process needs plus `settings`: nothing leaks in from the test run."""
    env = {
        k: os.environ[k]
        for k in ("PATH", "HOME", "LANG", "TMPDIR", "XDG_DATA_HOME")
        if k in os.environ
    }
    # tests/ on the path so GATEBOT_PIPELINE can name tests/support/pipelines.py.
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


class GatebotProcess:
    """One `gatebot ...` process; its output goes to `log_path`."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.args = args
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*gatebot_command(), *args],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float = 20.0) -> None:
        """Wait until `url` answers at all; fail with the log if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"gatebot {' '.join(self.args)} exited {self.proc.returncode}:\n{self.output()}"
                )
            try:
                requests.get(url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"{url} did not answer within {timeout}s:\n{self.output()}")

    def stop(self, timeout: float = 60.0) -> int:
        # `gatebot serve` stops its consumer process gracefully first; that process
        # runs niced, so on a busy machine its stop can take a while.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._log.close()


def wait_until(
    predicate: Callable[[], object], timeout: float, interval: float = 0.05, message: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")
