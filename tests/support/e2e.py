"""End-to-end harness: a fake GitHub, and a real `gatebot serve` pointed at it.

`GateService.start(workdir)` starts a fake GitHub and a `gatebot serve`
process configured as the App the fake knows (its id, private key and
webhook secret), with PyGithub's pauses at zero and a short debounce.
Tests arrange the fake's state, `deliver(...)` a webhook built from that
state (signed as GitHub signs it, and sent by the fake, so it is in the
fake's App webhook delivery log), which waits until the service has
drained the PR's work, and then read what the bot wrote at the fake.
A module gets its `gate` and `fake` fixtures from `github_fixtures(...)`.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import requests
from fakegithub import FakeGitHub
from fakegithub.auth import generated_private_key_pem
from fakegithub.state import CheckRun, Status

from bot.keys import PullKey, WorkKey
from bot.store import Store, dirty, merge_groups, runs
from bot.store.inbox import open_inbox
from support.processes import GatebotProcess, clean_env, wait_until

ORG = "acme"
MAIN = "gatebot: main"


class Service(Protocol):
    """What `module_fixtures` needs of a running service: its fake forge, and a stop."""

    @property
    def fake(self) -> Any: ...

    def stop(self) -> int: ...


S = TypeVar("S", bound=Service)


def module_fixtures(
    start: Callable[[Path], S],
    workdir: str,
    after_test: Callable[[Any], None],
    names: tuple[str, str] = ("gate", "fake"),
) -> tuple[Any, Any]:
    """The two fixtures of an end-to-end module, as `gate, fake = module_fixtures(...)`.

    `gate` (module scope): one service started by `start` in a fresh directory
    named after `workdir`, shared by the module's tests (each works in a
    repository of its own) and stopped after the last. `fake` (one test): the
    service's fake forge, handed to `after_test` when the test ends. `names`
    renames the pair, for a module that runs services of both forges.
    """
    gate_name, fake_name = names

    @pytest.fixture(scope="module", name=gate_name)
    def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S]:
        service = start(tmp_path_factory.mktemp(workdir))
        try:
            yield service
        finally:
            service.stop()

    @pytest.fixture(name=fake_name)
    def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
        service: S = request.getfixturevalue(gate_name)
        yield service.fake
        after_test(service.fake)

    return gate, fake


def _github_after_test(fake: FakeGitHub) -> None:
    # A fault a test left armed must not fail the next test's requests.
    fake.clear_faults()
    fake.assert_all_valid()


def github_fixtures(workdir: str, **env: str) -> tuple[Any, Any]:
    """`gate, fake = github_fixtures("e2e-x")`: a `GateService` (with `env` added to its
    settings) for the module, and its fake GitHub per test, every request it received
    checked against what GitHub accepts when the test ends."""
    return module_fixtures(lambda d: GateService.start(d, **env), workdir, _github_after_test)


def pull_settled(store: Store, key: WorkKey) -> bool:
    """No delivery waiting to be ingested, no mark left on the PR and no run of it
    still going."""
    kept = open_inbox(store)
    try:
        if kept.waiting():
            return False
    finally:
        kept.close()
    with store.begin() as conn:
        return dirty.get(conn, key) is None and all(
            r.finished_at is not None for r in runs.for_pull(conn, key)
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(fake: FakeGitHub, workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `gatebot serve` that is the fake's App."""
    key = workdir / "app.pem"
    key.write_text(fake.private_key_pem)
    settings = dict(
        GITHUB_APP_ID=str(fake.app_id),
        GITHUB_PRIVATE_KEY_PATH=str(key),
        GITHUB_WEBHOOK_SECRET=fake.webhook_secret,
        GITHUB_API_URL=fake.url,
        GATEBOT_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'gatebot.sqlite3'}",
        GATEBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        GATEBOT_SECRET_KEY="sk-" + secrets.token_hex(16),
        GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS="0",
        GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES="0",
        GATEBOT_DEBOUNCE_SECONDS="0.2",
        GATEBOT_WORKER_THREADS="4",
        GATEBOT_RETRY_MAX_WAIT_SECONDS="1",
    )
    settings.update(extra)
    return clean_env(**settings)


@dataclass
class GateService:
    fake: FakeGitHub
    proc: GatebotProcess
    base: str
    store: Store
    env: dict[str, str]
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, workdir: Path, fake: FakeGitHub | None = None, **extra: str) -> GateService:
        workdir.mkdir(parents=True, exist_ok=True)
        if fake is None:
            fake = FakeGitHub(private_key_pem=generated_private_key_pem()).start()
        port = free_port()
        env = service_env(fake, workdir, port, **extra)
        proc = GatebotProcess(
            ["serve", "--port", str(port)], env, cwd=workdir, log_path=workdir / "serve.log"
        )
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(f"{base}/healthz")
        wait_until(lambda: _ready(base), timeout=20, message=proc.output())
        fake.set_webhook_url(f"{base}/webhooks/github")
        return cls(fake, proc, base, Store(env["GATEBOT_DATABASE_URL"]), env)

    def stop(self) -> int:
        self.session.close()
        self.store.close()
        code = self.proc.stop()
        self.fake.stop()
        return code

    # -- webhooks ---------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        return f"{self.base}/webhooks/github"

    def post(self, event: str, payload: dict[str, Any], *, secret: str | None = None):
        """Deliver through the fake, so the delivery is in its App webhook's log; the
        service's answer (None when the fake was told to fail deliveries)."""
        _delivery, response = self.fake.send_webhook(
            event, payload, secret=secret, url=self.webhook_url
        )
        return response

    def send(
        self,
        event: str,
        action: str | None,
        repo: str,
        number: int | None = None,
        *,
        sender: str | None = None,
        **details: Any,
    ) -> requests.Response:
        """A webhook built from the fake's current state, signed and POSTed."""
        event, payload = self.fake.webhook(event, action, repo, number, sender=sender, **details)
        return self.post(event, payload)

    def deliver(
        self,
        event: str,
        action: str | None,
        repo: str,
        number: int,
        *,
        sender: str | None = None,
        **details: Any,
    ) -> None:
        """Send a webhook about PR `number` and wait until its work is done."""
        response = self.send(event, action, repo, number, sender=sender, **details)
        assert response.status_code == 202, response.text
        self.settle(repo, number)

    def settle(self, repo: str, number: int, timeout: float = 20.0) -> None:
        """Wait until the PR is no longer marked and no run for it is going."""
        key = PullKey("github", repo, number)
        wait_until(
            lambda: self.settled(key),
            timeout=timeout,
            interval=0.02,
            message=f"{key} was not evaluated within {timeout}s:\n{self.proc.output()[-4000:]}",
        )

    def settle_group(self, repo: str, head_sha: str, timeout: float = 20.0) -> None:
        """Wait until the merge group at `head_sha` was recorded and judged."""

        def judged() -> bool:
            with self.store.begin() as conn:
                group = merge_groups.find(conn, "github", repo, head_sha)
            return group is not None and self.settled(group.key) and bool(
                self.runs_of(group.key)
            )

        wait_until(
            judged,
            timeout=timeout,
            interval=0.02,
            message=f"the group {head_sha[:7]} was not judged:\n{self.proc.output()[-4000:]}",
        )

    def settled(self, key: WorkKey) -> bool:
        return pull_settled(self.store, key)

    def runs(self, repo: str, number: int):
        return self.runs_of(PullKey("github", repo, number))

    def runs_of(self, key: WorkKey):
        with self.store.begin() as conn:
            return runs.for_pull(conn, key)

    # -- what the bot wrote -------------------------------------------------------

    def gate_statuses(self, repo: str, sha: str, context: str = MAIN) -> list[Status]:
        return [s for s in self.fake.statuses(repo, sha) if s.context == context]

    def gate_status(self, repo: str, sha: str, context: str = MAIN) -> Status | None:
        """The latest status under `context` on `sha` (GitHub shows the latest)."""
        found = self.gate_statuses(repo, sha, context)
        return found[-1] if found else None

    def gate_run(self, repo: str, sha: str, context: str = MAIN) -> CheckRun | None:
        """The bot's latest check run named `context` on `sha`."""
        found = [
            r
            for r in self.fake.check_runs(repo, sha)
            if r.name == context and r.app_slug == self.fake.app_slug
        ]
        return found[-1] if found else None


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def next_second() -> None:
    """Sleep into the next whole second: GitHub's timestamps have whole seconds, and a
    comment counts only if written strictly after the head was pushed."""
    time.sleep(1.05 - (time.time() % 1.0))
