"""The one-click GitHub App, end to end, in headless Chromium.

A fresh `gatebot serve` (no forge configured) prints a setup code; a browser
opens its setup page, gives the code and the organisation, is sent to the
fake GitHub's new-App page with the manifest, presses "Create", comes back to
the callback, and gatebot — without a restart — is the App: a signed webhook
is accepted and the PR gets its first verdict. Without the setup code, or a
second time, nothing is exchanged.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fakegithub import FakeGitHub
from fakegithub.auth import generated_private_key_pem
from support.browser import browser_page, fill_one_click_setup
from support.e2e import GateService, free_port, service_env
from support.policies import ONE_APPROVAL
from support.processes import GatebotProcess, wait_until

from bot.store import Store
from bot.web import github_app_permissions as app

pytestmark = pytest.mark.slow

SETUP_CODE = re.compile(r"setup code for the one-click GitHub App: ([0-9a-f]{4}(?:-[0-9a-f]{4}){3})")


class SetupService:
    """A `gatebot serve` started with no forge at all, beside a fake GitHub."""

    def __init__(self, workdir: Path) -> None:
        # A GitHub Enterprise Server: the API under /api/v3 of the address typed in.
        self.fake = FakeGitHub(private_key_pem=generated_private_key_pem(), enterprise=True)
        self.fake.start()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env_file = workdir / "etc" / "gatebot.env"
        full = service_env(self.fake, workdir, self.port)
        # Nothing of the App, and no public URL: the page's own address is used.
        env = {
            k: v for k, v in full.items()
            if not k.startswith("GITHUB_") and k != "GATEBOT_PUBLIC_URL"
        }
        env["GATEBOT_ENV_FILE"] = str(self.env_file)
        self.env = env
        self.proc = GatebotProcess(
            ["serve", "--port", str(self.port)], env, cwd=workdir, log_path=workdir / "serve.log"
        )
        self.proc.wait_http(f"{self.base}/healthz")
        wait_until(lambda: SETUP_CODE.search(self.proc.output()), timeout=10,
                   message=self.proc.output())
        self.code = SETUP_CODE.search(self.proc.output()).group(1)

    def conversions(self) -> list:
        return [
            r for r in self.fake.log.snapshot() if r.operation_id == "apps/create-from-manifest"
        ]

    def stop(self) -> None:
        self.proc.stop()
        self.fake.stop()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[SetupService]:
    service = SetupService(tmp_path)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def browser():
    with browser_page() as page:
        yield page


def test_one_click_app_then_a_first_verdict(setup, browser):
    page = browser
    fill_one_click_setup(page, setup.base, setup.code, setup.fake.url)
    # The fake GitHub's new-App page, reached through the auto-posted manifest.
    page.wait_for_selector("#create")
    assert page.url.startswith(f"{setup.fake.url}/organizations/acme/settings/apps/new?state=")
    assert page.inner_text("#app-name") == "gatebot-acme"
    page.click("#create")
    page.wait_for_selector("#install")
    assert page.url.startswith(f"{setup.base}/setup/github/callback?code=")
    assert "gatebot is connected to GitHub" in page.content()
    install = page.get_attribute("#install", "href")
    assert install is not None and install.endswith("/installations/new")

    # Exactly the README's permissions and events, the webhook pointing here.
    (manifest,) = setup.fake.manifests
    assert manifest["owner"] == "acme"
    assert manifest["hook_attributes"] == {
        "url": f"{setup.base}/webhooks/github", "active": True,
    }
    assert manifest["redirect_url"] == f"{setup.base}/setup/github/callback"
    assert manifest["default_permissions"] == {
        p.key: ("write" if "write" in p.access else "read")
        for p in (*app.REPOSITORY_PERMISSIONS, *app.ORGANIZATION_PERMISSIONS)
    }
    assert manifest["default_events"] == [e.key for e in app.EVENTS]
    assert len(setup.conversions()) == 1

    # Kept in the credentials file, readable by its owner only.
    text = setup.env_file.read_text()
    assert f"GITHUB_APP_ID={setup.fake.app_id}\n" in text
    assert f"GITHUB_API_URL={setup.fake.api_url}\n" in text
    assert f"GATEBOT_PUBLIC_URL={setup.base}\n" in text
    key_path = Path(re.search(r"GITHUB_PRIVATE_KEY_PATH=(.+)", text).group(1))
    assert key_path.read_text() == setup.fake.private_key_pem
    for path in (setup.env_file, key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert setup.fake.webhook_secret not in setup.proc.output()

    # Full mode, same process: a signed webhook is accepted and judged.
    wait_until(
        lambda: requests.get(f"{setup.base}/readyz", timeout=2).status_code == 200,
        timeout=20, message=setup.proc.output(),
    )
    db = setup.env["GATEBOT_DATABASE_URL"]
    gate = GateService(setup.fake, setup.proc, setup.base, Store(db), setup.env)
    try:
        repo = "acme/first"
        setup.fake.add_repo(repo, files={".github/gatebot.yml": ONE_APPROVAL, "a.py": "1\n"})
        pr = setup.fake.open_pr(repo, 1, author="alice", contents={"a.py": "2\n"})
        gate.deliver("pull_request", "opened", repo, 1)
        status = gate.gate_status(repo, pr.head_sha)
        assert status is not None and status.state == "pending"
        assert status.creator == setup.fake.bot_login
        # A forged delivery is still refused.
        forged = gate.post(*setup.fake.webhook("pull_request", "opened", repo, 1), secret="x")
        assert forged.status_code == 401
    finally:
        gate.store.close()

    # A second time: the flow is over; nothing is exchanged again.
    again = requests.get(
        f"{setup.base}/setup/github/callback", params={"code": "abc", "state": "x"}, timeout=5
    )
    assert again.status_code == 404
    assert requests.post(
        f"{setup.base}/setup/github", data={"setup_code": setup.code}, timeout=5
    ).status_code == 404
    assert len(setup.conversions()) == 1
    assert "setup mode is over" in setup.proc.output()


def test_without_the_setup_code_nothing_is_registered(setup, browser):
    page = browser
    fill_one_click_setup(page, setup.base, "0000-0000-0000-0000", setup.fake.url)
    page.wait_for_selector(".error")
    assert "not the setup code" in page.inner_text(".error")
    assert page.url == f"{setup.base}/setup/github"
    assert setup.fake.manifests == []
    assert setup.conversions() == []
    assert not setup.env_file.exists()
    # Still in setup mode: webhooks are not taken.
    assert requests.get(f"{setup.base}/readyz", timeout=2).status_code == 503
