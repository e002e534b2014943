"""End-to-end harness for GitLab: a fake GitLab, and a real `gatebot serve` pointed at it.

`GitLabGate.start(workdir)` starts a fake GitLab and a `gatebot serve`
process configured with the fake's URL, token and webhook secret (no GitHub
App at all). Tests arrange the fake's state, `deliver(...)` a webhook built
from that state (with the `X-Gitlab-Token` GitLab sends), which waits until
the service has drained the MR's work, and then read what the bot wrote at
the fake.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from fakegitlab import FakeGitLab

from bot.store import Store
from bot.store.dirty import PullKey
from support.e2e import free_port, pull_settled
from support.processes import GatebotProcess, clean_env, wait_until


@dataclass
class GitLabGate:
    fake: FakeGitLab
    proc: GatebotProcess
    base: str
    store: Store
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, workdir: Path, **extra: str) -> GitLabGate:
        workdir.mkdir(parents=True, exist_ok=True)
        fake = FakeGitLab().start()
        port = free_port()
        env = clean_env(
            GITLAB_URL=fake.url,
            GITLAB_TOKEN=fake.token,
            GITLAB_WEBHOOK_SECRET=fake.webhook_secret,
            GATEBOT_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'gatebot.sqlite3'}",
            GATEBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            GATEBOT_SECRET_KEY="sk-" + secrets.token_hex(16),
            GATEBOT_DEBOUNCE_SECONDS="0.2",
            GATEBOT_WORKER_THREADS="4",
            GATEBOT_RETRY_MAX_WAIT_SECONDS="1",
            **extra,
        )
        proc = GatebotProcess(
            ["serve", "--port", str(port)], env, cwd=workdir, log_path=workdir / "serve.log"
        )
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(f"{base}/healthz")
        return cls(fake, proc, base, Store(env["GATEBOT_DATABASE_URL"]))

    def stop(self) -> int:
        self.session.close()
        self.store.close()
        code = self.proc.stop()
        self.fake.stop()
        return code

    def post(self, event: str, payload: dict[str, Any]) -> requests.Response:
        body, headers = self.fake.webhook_request(event, payload)
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
