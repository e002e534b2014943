"""End-to-end harness for GitLab: a fake GitLab, and a real `gatebot serve` pointed at it.

`GitLabGate.start(workdir)` starts a fake GitLab and a `gatebot serve`
process configured with the fake's URL and token (no GitHub App at all),
after `gatebot gitlab connect acme` made the bot's hook on the group `acme`
(the bot is its owner): every project under `acme/` is connected, with the
hook's own secret. `gitlab(...)` runs another `gatebot gitlab ...` command
as a user would. Tests arrange the fake's state, `deliver(...)` a webhook
built from that state (with the `X-Gitlab-Token` of the hook that would
send it), which waits until the service has drained the MR's work, and then
read what the bot wrote at the fake. A module gets its fixtures from
`gitlab_fixtures(...)`.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from fakegitlab import FakeGitLab

from bot.keys import PullKey
from bot.store import Store
from support.e2e import free_port, module_fixtures, pull_settled
from support.processes import GatebotProcess, clean_env, gatebot_command, wait_until

GROUP = "acme"
"""The group connected at start: projects under it need no hook of their own."""


@dataclass
class GitLabGate:
    fake: FakeGitLab
    proc: GatebotProcess
    base: str
    store: Store
    env: dict[str, str]
    workdir: Path
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, workdir: Path, **extra: str) -> GitLabGate:
        workdir.mkdir(parents=True, exist_ok=True)
        fake = FakeGitLab().start()
        fake.add_group(GROUP, members={fake.bot_username: 50})
        port = free_port()
        env = clean_env(
            GITLAB_URL=fake.url,
            GITLAB_TOKEN=fake.token,
            GATEBOT_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'gatebot.sqlite3'}",
            GATEBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            GATEBOT_SECRET_KEY="sk-" + secrets.token_hex(16),
            GATEBOT_DEBOUNCE_SECONDS="0.2",
            GATEBOT_WORKER_THREADS="4",
            GATEBOT_RETRY_MAX_WAIT_SECONDS="1",
            **extra,
        )
        (workdir / "var").mkdir(exist_ok=True)
        if "GITLAB_PROJECT" not in extra:
            connected = run_gitlab(env, workdir, "connect", GROUP)
            assert connected.returncode == 0, connected.stderr
        proc = GatebotProcess(
            ["serve", "--port", str(port)], env, cwd=workdir, log_path=workdir / "serve.log"
        )
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(f"{base}/healthz")
        return cls(fake, proc, base, Store(env["GATEBOT_DATABASE_URL"]), env, workdir)

    def gitlab(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`gatebot gitlab <args>` as a user runs it, with the service's settings."""
        return run_gitlab(self.env, self.workdir, *args)

    def stop(self) -> int:
        self.session.close()
        self.store.close()
        code = self.proc.stop()
        self.fake.stop()
        return code

    def post(
        self, event: str, payload: dict[str, Any], secret: str | None = None
    ) -> requests.Response:
        """POST a delivery with `secret`, by default the token of the hook that would send it."""
        body, headers = self.fake.webhook_request(event, payload, secret)
        return self.session.post(
            f"{self.base}/webhooks/gitlab", data=body, headers=headers, timeout=10
        )

    def deliver(self, kind: str, project: str, number: int | None = None, **details: Any) -> None:
        """Send a webhook built from the fake's state and wait until the MR's work is done."""
        event, payload = self.fake.webhook(kind, project, number, **details)
        response = self.post(event, payload)
        assert response.status_code == 202, response.text
        if number is not None:
            self.settle(project, number)

    def settle(self, project: str, number: int, timeout: float = 20.0) -> None:
        key = PullKey("gitlab", project, number)
        wait_until(
            lambda: pull_settled(self.store, key),
            timeout=timeout,
            interval=0.02,
            message=f"{key} was not evaluated within {timeout}s:\n{self.proc.output()[-4000:]}",
        )

    def gate_status(self, project: str, sha: str, name: str = "gatebot: main") -> Any:
        """The bot's latest commit status called `name` on `sha`, or None."""
        found = [s for s in self.fake.statuses(project, sha) if s.name == name]
        return found[-1] if found else None


def run_gitlab(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*gatebot_command(), "gitlab", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )


def gitlab_fixtures(
    workdir: str, names: tuple[str, str] = ("gate", "fake"), **env: str
) -> tuple[Any, Any]:
    """`gate, fake = gitlab_fixtures("e2e-x")`: a `GitLabGate` (with `env` added to its
    settings) for the module, and its fake GitLab per test, checked clean when the
    test ends."""
    return module_fixtures(
        lambda d: GitLabGate.start(d, **env), workdir, FakeGitLab.assert_clean, names
    )
