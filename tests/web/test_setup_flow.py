"""The one-click GitHub App setup's guards, and what it writes: the setup code, the
state bound to the browser, once only; the manifest; the credentials file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fakegithub import FakeGitHub

from bot.env_file import AppCredentials, EnvFileError, already_configured, write_github_app
from bot.settings import Settings
from bot.web import app_manifest, create_app
from bot.web.setup_flow import COOKIE, MAX_WRONG_CODES, SetupFlow, SetupRefused

CODE = "1a2b-3c4d-5e6f-7a8b"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _flow(clock: Clock | None = None) -> tuple[SetupFlow, list[str]]:
    switched: list[str] = []
    return SetupFlow(CODE, lambda: switched.append("full"), clock or Clock()), switched


def test_a_wrong_setup_code_opens_nothing_and_enough_of_them_close_the_flow():
    flow, _ = _flow()
    for _ in range(MAX_WRONG_CODES):
        with pytest.raises(SetupRefused, match="not the setup code"):
            flow.start("0000-0000-0000-0000", "https://github.com", "https://api.github.com", "")
    with pytest.raises(SetupRefused, match="Too many wrong setup codes"):
        flow.start(CODE, "https://github.com", "https://api.github.com", "")


def test_the_state_must_come_back_with_the_browser_that_started_it_and_only_once():
    clock = Clock()
    flow, switched = _flow(clock)
    pending = flow.start(CODE, "https://github.com", "https://api.github.com", "http://x")
    with pytest.raises(SetupRefused, match="no setup started in this browser"):
        flow.take(pending.state, None)
    with pytest.raises(SetupRefused, match="no setup started in this browser"):
        flow.take(pending.state, "another-browser's-state")
    assert flow.take(pending.state, pending.state) == pending
    with pytest.raises(SetupRefused, match="no setup started in this browser"):
        flow.take(pending.state, pending.state)
    flow.finished()
    assert switched == ["full"] and flow.is_finished
    with pytest.raises(SetupRefused, match="works once"):
        flow.start(CODE, "https://github.com", "https://api.github.com", "http://x")


def test_a_state_older_than_an_hour_is_refused():
    clock = Clock()
    flow, _ = _flow(clock)
    pending = flow.start(CODE, "https://github.com", "https://api.github.com", "http://x")
    clock.now += 3601
    with pytest.raises(SetupRefused, match="over an hour ago"):
        flow.take(pending.state, pending.state)


def test_addresses_owners_and_names_are_checked():
    assert app_manifest.github_address("") == "https://github.com"
    assert app_manifest.github_address("https://ghe.acme.test/") == "https://ghe.acme.test"
    assert app_manifest.api_address("https://github.com") == "https://api.github.com"
    assert app_manifest.api_address("https://ghe.acme.test") == "https://ghe.acme.test/api/v3"
    for bad in ("ftp://ghe", "https://ghe.acme.test/login", "ghe.acme.test"):
        with pytest.raises(app_manifest.ManifestInputError):
            app_manifest.github_address(bad)
    with pytest.raises(app_manifest.ManifestInputError):
        app_manifest.organisation("acme/../evil")
    assert app_manifest.new_app_url("https://github.com", "acme", "s t") == (
        "https://github.com/organizations/acme/settings/apps/new?state=s%20t"
    )
    assert app_manifest.new_app_url("https://github.com", None, "s") == (
        "https://github.com/settings/apps/new?state=s"
    )


def test_the_credentials_file_is_private_and_never_overwritten(tmp_path: Path):
    path = tmp_path / "conf" / "gatebot.env"
    creds = AppCredentials(app_id=77, private_key_pem="-----PEM-----\n", webhook_secret="abc123")
    assert "abc123" not in repr(creds) and "PEM" not in repr(creds)
    key = write_github_app(path, creds, api_url=None, public_url="https://gate.acme.test")
    assert path.read_text().splitlines()[1:] == [
        "GITHUB_APP_ID=77",
        f"GITHUB_PRIVATE_KEY_PATH={key}",
        "GITHUB_WEBHOOK_SECRET='abc123'",
        "GATEBOT_PUBLIC_URL=https://gate.acme.test",
    ]
    assert key.read_text() == "-----PEM-----\n"
    assert {stat.S_IMODE(p.stat().st_mode) for p in (path, key)} == {0o600}
    assert already_configured(path)
    with pytest.raises(EnvFileError, match="names a GitHub App already"):
        write_github_app(path, creds, api_url=None, public_url=None)


def test_the_file_configures_every_command_and_the_environment_wins(tmp_path, monkeypatch):
    from bot.settings import load_settings

    path = tmp_path / "gatebot.env"
    creds = AppCredentials(app_id=77, private_key_pem=_pem(), webhook_secret="abc123")
    write_github_app(path, creds, api_url="https://ghe.acme.test/api/v3", public_url=None)
    monkeypatch.setenv("GATEBOT_ENV_FILE", str(path))
    for name in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH",
                 "GITHUB_WEBHOOK_SECRET", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.github_app_id == 77 and settings.github_configured
    assert settings.github_api_url == "https://ghe.acme.test/api/v3"
    monkeypatch.setenv("GITHUB_API_URL", "https://other.acme.test/api/v3")
    assert load_settings().github_api_url == "https://other.acme.test/api/v3"


def _pem() -> str:
    from fakegithub.auth import generated_private_key_pem

    return generated_private_key_pem()


@pytest.fixture
def github():
    fake = FakeGitHub(enterprise=True)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def test_a_callback_without_the_browser_s_cookie_exchanges_nothing(github, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEBOT_ENV_FILE", str(tmp_path / "gatebot.env"))
    flow, switched = _flow()
    app = create_app(Settings.model_validate({}), setup_flow=flow)
    client = app.test_client()
    started = client.post("/setup/github", data={
        "setup_code": CODE, "account": "personal", "app_name": "gatebot",
        "github_url": github.url,
    })
    assert started.status_code == 200
    cookie = client.get_cookie(COOKIE, path="/setup/github")
    assert cookie is not None
    github.add_manifest_code("the-code")
    stranger = create_app(Settings.model_validate({}), setup_flow=flow).test_client()
    answer = stranger.get(f"/setup/github/callback?code=the-code&state={cookie.value}")
    assert answer.status_code == 403
    assert not [r for r in github.log.snapshot() if r.operation_id == "apps/create-from-manifest"]
    assert switched == [] and not (tmp_path / "gatebot.env").exists()
    # The browser that started it finishes it, once.
    done = client.get(f"/setup/github/callback?code=the-code&state={cookie.value}")
    assert done.status_code == 200 and switched == ["full"]
    assert b"/installations/new" in done.data
    again = client.get(f"/setup/github/callback?code=the-code&state={cookie.value}")
    assert again.status_code == 403
    conversions = [
        r for r in github.log.snapshot() if r.operation_id == "apps/create-from-manifest"
    ]
    assert len(conversions) == 1
