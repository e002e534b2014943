"""Settings: the three start-up modes, one-sentence refusals, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import (
    ConfigurationError,
    Mode,
    Settings,
    data_directory,
    env_names,
    load_settings,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def key_file(tmp_path: Path, app_private_key_pem: str) -> Path:
    path = tmp_path / "app.pem"
    path.write_text(app_private_key_pem)
    return path


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    # One sentence: a single line ending in a full stop.
    assert "\n" not in message and message.endswith(".")
    return message


def test_nothing_configured_is_setup_mode_with_documented_defaults(data_home):
    settings = load_settings()
    assert settings.mode is Mode.SETUP
    assert settings.database_url == f"sqlite:///{data_home}/gatebot/gatebot.sqlite3"
    assert settings.github_api_url == "https://api.github.com"
    assert settings.redis_url is None
    assert settings.port == 8000


def test_github_app_fully_configured_is_full_mode(clean_environment, key_file):
    clean_environment.setenv("GITHUB_APP_ID", "12345")
    clean_environment.setenv("GITHUB_PRIVATE_KEY_PATH", str(key_file))
    clean_environment.setenv("GITHUB_WEBHOOK_SECRET", "s3cr3t-value")
    clean_environment.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    settings = load_settings()
    assert settings.mode is Mode.FULL
    assert settings.github_app_id == 12345
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_private_key_pem().startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_secrets_never_appear_in_repr(clean_environment, app_private_key_pem):
    clean_environment.setenv("GITHUB_APP_ID", "1")
    clean_environment.setenv("GITHUB_PRIVATE_KEY", app_private_key_pem)
    clean_environment.setenv("GITHUB_WEBHOOK_SECRET", "s3cr3t-value")
    clean_environment.setenv("GITLAB_TOKEN", "glpat-tokenvalue")
    clean_environment.setenv("GITLAB_WEBHOOK_SECRET", "gl-hook-secret")
    clean_environment.setenv("GITLAB_PROJECT", "acme/api")
    clean_environment.setenv("GATEBOT_SECRET_KEY", "details-key")
    shown = repr(load_settings()) + str(load_settings())
    for secret in ("s3cr3t-value", "glpat-tokenvalue", "gl-hook-secret", "details-key", "PRIVATE"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        (
            {"GITHUB_APP_ID": "12"},
            "GITHUB_APP_ID is set but GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) and "
            "GITHUB_WEBHOOK_SECRET are missing.",
        ),
        (
            {"GITHUB_APP_ID": "12", "GITHUB_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----x"},
            "GITHUB_APP_ID and GITHUB_PRIVATE_KEY are set but GITHUB_WEBHOOK_SECRET is missing.",
        ),
        (
            {"GITHUB_WEBHOOK_SECRET": "x"},
            "GITHUB_WEBHOOK_SECRET is set but GITHUB_APP_ID and GITHUB_PRIVATE_KEY "
            "(or GITHUB_PRIVATE_KEY_PATH) are missing.",
        ),
        (
            {"GITLAB_URL": "https://gitlab.example.com"},
            "GITLAB_URL is set but GITLAB_TOKEN is missing.",
        ),
        (
            {"GITLAB_WEBHOOK_SIGNING_TOKEN": "whsec_a2V5"},
            "GITLAB_WEBHOOK_SIGNING_TOKEN is set but GITLAB_TOKEN is missing.",
        ),
        (
            {"GITLAB_TOKEN": "glpat-x", "GITLAB_WEBHOOK_SECRET": "shared"},
            "GITLAB_WEBHOOK_SECRET authenticates one project only: set GITLAB_PROJECT to it, "
            "or unset it and run gatebot gitlab connect.",
        ),
        (
            {"GITLAB_TOKEN": "glpat-x", "GITLAB_PROJECT": "acme/api"},
            "GITLAB_PROJECT is set but GITLAB_WEBHOOK_SECRET (or GITLAB_WEBHOOK_SIGNING_TOKEN) "
            "is missing.",
        ),
        (
            {"GITLAB_TOKEN": "glpat-x", "GITLAB_WEBHOOK_SIGNING_TOKEN": "a2V5",
             "GITLAB_PROJECT": "acme/api"},
            "GITLAB_WEBHOOK_SIGNING_TOKEN must be the signing token as GitLab shows it: "
            "whsec_ followed by base64.",
        ),
        (
            {"GITHUB_APP_ID": "twelve"},
            "GITHUB_APP_ID is not valid: input should be a valid integer, "
            "unable to parse string as an integer.",
        ),
        (
            {"GATEBOT_DATABASE_URL": "mysql://localhost/x"},
            "GATEBOT_DATABASE_URL must be a sqlite or postgresql URL.",
        ),
    ],
)
def test_partial_configuration_is_refused_with_one_sentence(clean_environment, env, sentence):
    assert refusal(clean_environment, **env) == sentence


def test_key_given_twice_is_refused(clean_environment, key_file, app_private_key_pem):
    message = refusal(
        clean_environment,
        GITHUB_APP_ID="1",
        GITHUB_WEBHOOK_SECRET="x",
        GITHUB_PRIVATE_KEY=app_private_key_pem,
        GITHUB_PRIVATE_KEY_PATH=str(key_file),
    )
    assert message == "GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_PATH are both set; set only one."


def test_unreadable_or_non_pem_key_file_is_refused(clean_environment, tmp_path):
    missing = tmp_path / "nope.pem"
    message = refusal(
        clean_environment,
        GITHUB_APP_ID="1",
        GITHUB_WEBHOOK_SECRET="x",
        GITHUB_PRIVATE_KEY_PATH=str(missing),
    )
    assert message == f"GITHUB_PRIVATE_KEY_PATH names {missing}, which cannot be read."
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("hello")
    clean_environment.setenv("GITHUB_PRIVATE_KEY_PATH", str(not_a_key))
    with pytest.raises(ConfigurationError, match="holds no PEM private key"):
        load_settings()


KEY_WITH_LITERAL_NEWLINES = (
    "GITHUB_PRIVATE_KEY is not a usable private key: it holds literal \\n sequences instead "
    "of line breaks; put the .pem file's text in it with its real line breaks, or use "
    "GITHUB_PRIVATE_KEY_PATH."
)


def test_a_key_pasted_with_literal_newlines_is_refused_by_name(
    clean_environment, app_private_key_pem
):
    one_line = app_private_key_pem.strip().replace("\n", "\\n")
    message = refusal(
        clean_environment, GITHUB_APP_ID="1", GITHUB_WEBHOOK_SECRET="x",
        GITHUB_PRIVATE_KEY=one_line,
    )
    assert message == KEY_WITH_LITERAL_NEWLINES
    assert one_line.splitlines()[0][40:60] not in message


def test_a_pem_shaped_key_that_cannot_sign_is_refused(clean_environment, tmp_path):
    broken = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----\n"
    message = refusal(
        clean_environment, GITHUB_APP_ID="1", GITHUB_WEBHOOK_SECRET="x",
        GITHUB_PRIVATE_KEY=broken,
    )
    assert message.startswith("GITHUB_PRIVATE_KEY is not a usable private key: it cannot sign")
    assert "not-a-key-at-all" not in message
    key_file = tmp_path / "app.pem"
    key_file.write_text(broken)
    clean_environment.delenv("GITHUB_PRIVATE_KEY")
    clean_environment.setenv("GITHUB_PRIVATE_KEY_PATH", str(key_file))
    message = refusal(clean_environment)
    assert message.startswith(
        f"GITHUB_PRIVATE_KEY_PATH names {key_file}, which is not a usable private key: "
    )
    assert "not-a-key-at-all" not in message


def test_missing_policy_file_is_refused(clean_environment, tmp_path):
    message = refusal(clean_environment, GATEBOT_DEFAULT_POLICY=str(tmp_path / "default.yml"))
    assert message == (
        f"GATEBOT_DEFAULT_POLICY names {tmp_path / 'default.yml'}, which is not a readable file."
    )


def test_empty_variables_count_as_unset(clean_environment):
    clean_environment.setenv("GITHUB_APP_ID", "")
    clean_environment.setenv("GATEBOT_REDIS_URL", "")
    settings = load_settings()
    assert settings.mode is Mode.SETUP
    assert settings.redis_url is None


def test_embedded_queue_file_sits_beside_the_sqlite_store(tmp_path):
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/data/bot.sqlite3"}
    )
    assert settings.sqlite_queue_path() == tmp_path / "data" / "bot-queue.sqlite3"
    on_postgres = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": "postgresql+psycopg://db/gatebot"}
    )
    assert on_postgres.sqlite_queue_path() == data_directory() / "gatebot-queue.sqlite3"


def test_the_default_store_is_in_the_data_directory_whatever_the_working_directory(
    clean_environment, tmp_path
):
    clean_environment.chdir(tmp_path)
    clean_environment.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert load_settings().database_url == f"sqlite:///{tmp_path}/data/gatebot/gatebot.sqlite3"
    # A relative XDG_DATA_HOME is ignored, as the XDG spec says: the home's is used.
    clean_environment.setenv("XDG_DATA_HOME", "relative/data")
    clean_environment.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().database_url == (
        f"sqlite:///{tmp_path}/home/.local/share/gatebot/gatebot.sqlite3"
    )
    clean_environment.delenv("XDG_DATA_HOME")
    assert data_directory() == tmp_path / "home" / ".local" / "share" / "gatebot"


def test_the_store_line_masks_a_database_password():
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": "postgresql+psycopg://gate:pa55word@db.internal/gatebot"}
    )
    assert settings.store_line() == "store: postgresql+psycopg://gate:***@db.internal/gatebot"


def test_every_setting_is_documented_in_the_configuration_page():
    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    missing = [name for name in env_names() if f"`{name}`" not in page]
    assert not missing, f"docs/configuration.md lacks {missing}"


def test_a_gitlab_token_alone_starts_with_connected_hooks_only(clean_environment):
    clean_environment.setenv("GITLAB_TOKEN", "glpat-x")
    settings = load_settings()
    assert settings.mode is Mode.FULL and settings.gitlab_single_project is None
    assert "gatebot gitlab connect" in settings.gitlab_webhook_mode()
    clean_environment.setenv("GITLAB_WEBHOOK_SECRET", "shared")
    clean_environment.setenv("GITLAB_PROJECT", "acme/api")
    single = load_settings()
    assert single.gitlab_single_project == "acme/api"
    assert single.gitlab_webhook_mode() == (
        "single-project mode: the global webhook secret is accepted for acme/api only; "
        "every other project is refused"
    )
