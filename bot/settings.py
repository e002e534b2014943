"""Service settings, read once from the environment and passed down.

`load_settings()` builds a `Settings` from environment variables (pydantic-
settings) and decides the start-up mode:

- nothing forge-related configured: `Mode.SETUP` (a page explaining how to
  connect a forge, webhooks answered 503);
- a forge partly configured, or a setting that cannot be used: it raises
  `ConfigurationError` whose message is ONE sentence naming what is wrong;
- otherwise `Mode.FULL`.

Secrets are `SecretStr`, so a `repr()` or a log line of the settings never
shows them. Nothing here is a module global: the CLI and `create_app` build
one `Settings` and hand it to whoever needs it.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.forges import FORGES, GITHUB, GITLAB, ForgeKind
from bot.standard_webhooks import signing_key

FORGES_PIPELINE = "bot.pipeline.forges:forge_pipeline"
RECORD_ONLY_PIPELINE = "bot.worker:record_only_pipeline"


def data_directory() -> Path:
    """Where gatebot keeps its files unless told otherwise: `$XDG_DATA_HOME/gatebot`,
    else `~/.local/share/gatebot` — an absolute path, the same from any working directory."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec ignores a relative XDG_DATA_HOME; so do we.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return (root / "gatebot").absolute()


def env_file_path() -> Path:
    """`GATEBOT_ENV_FILE`, else `gatebot.env` in `data_directory`: the file the one-click
    GitHub App setup writes (bot/env_file.py), read by every command (whether or not it
    exists yet; the environment wins over it)."""
    given = os.environ.get("GATEBOT_ENV_FILE", "").strip()
    return Path(given).absolute() if given else data_directory() / "gatebot.env"


def default_database_url() -> str:
    """The store when `GATEBOT_DATABASE_URL` is unset: `gatebot.sqlite3` in `data_directory`,
    so `gatebot audit` run anywhere reads the store `gatebot serve` wrote."""
    return f"sqlite:///{data_directory() / 'gatebot.sqlite3'}"


class Mode(enum.Enum):
    SETUP = "setup"
    FULL = "full"


class LogFormat(enum.StrEnum):
    TEXT = "text"  # one line a record, the record's context appended in brackets
    JSON = "json"  # one JSON object a line


class ConfigurationError(Exception):
    """The environment cannot start the service; the message is one sentence."""


class Settings(BaseSettings):
    """Every setting of the service, by its environment variable name."""

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, extra="ignore", populate_by_name=False
    )

    github_app_id: int | None = Field(None, validation_alias="GITHUB_APP_ID")
    github_private_key: SecretStr | None = Field(None, validation_alias="GITHUB_PRIVATE_KEY")
    github_private_key_path: Path | None = Field(None, validation_alias="GITHUB_PRIVATE_KEY_PATH")
    github_webhook_secret: SecretStr | None = Field(None, validation_alias="GITHUB_WEBHOOK_SECRET")
    github_api_url: str = Field("https://api.github.com", validation_alias="GITHUB_API_URL")
    env_file: Path = Field(default_factory=env_file_path, validation_alias="GATEBOT_ENV_FILE")
    """Where the one-click GitHub App setup keeps the App; read (under the environment) by
    `load_settings` from `env_file_path()`, which this default repeats."""

    gitlab_url: str = Field("https://gitlab.com", validation_alias="GITLAB_URL")
    gitlab_token: SecretStr | None = Field(None, validation_alias="GITLAB_TOKEN")
    gitlab_webhook_secret: SecretStr | None = Field(None, validation_alias="GITLAB_WEBHOOK_SECRET")
    gitlab_webhook_signing_token: SecretStr | None = Field(
        None, validation_alias="GITLAB_WEBHOOK_SIGNING_TOKEN"
    )
    gitlab_project: str | None = Field(None, validation_alias="GITLAB_PROJECT")
    """The one project a global GITLAB_WEBHOOK_SECRET (or signing token) may speak for."""

    database_url: str = Field(
        default_factory=default_database_url, validation_alias="GATEBOT_DATABASE_URL"
    )
    redis_url: str | None = Field(None, validation_alias="GATEBOT_REDIS_URL")
    queue_name: str = Field("gatebot", validation_alias="GATEBOT_QUEUE_NAME")
    public_url: str | None = Field(None, validation_alias="GATEBOT_PUBLIC_URL")
    secret_key: SecretStr | None = Field(None, validation_alias="GATEBOT_SECRET_KEY")
    default_policy: Path | None = Field(None, validation_alias="GATEBOT_DEFAULT_POLICY")
    required_policy: Path | None = Field(None, validation_alias="GATEBOT_REQUIRED_POLICY")
    deploy_targets: Path | None = Field(None, validation_alias="GATEBOT_DEPLOY_TARGETS")
    remote_policy_allow: str = Field("", validation_alias="GATEBOT_REMOTE_POLICY_ALLOW")
    """Owners, groups or repositories (comma-separated) a `remote:` pointer may name
    beyond its own owner; see `remote_policy_allowlist`."""
    port: int = Field(8000, ge=0, le=65535, validation_alias="PORT")

    worker_threads: int = Field(2, ge=1, le=64, validation_alias="GATEBOT_WORKER_THREADS")
    web_threads: int = Field(16, ge=1, le=256, validation_alias="GATEBOT_WEB_THREADS")
    """`gatebot serve`: threads answering requests (requests beyond wait their turn).
    A webhook's thread mostly waits for the commit it shares with the others
    arriving with it (`bot.events.group_commit`): more threads, larger shared commits."""
    web_connection_limit: int = Field(
        100, ge=1, le=10000, validation_alias="GATEBOT_WEB_CONNECTION_LIMIT"
    )
    """`gatebot serve`: open connections at most; more wait in the listen backlog."""
    web_timeout_seconds: int = Field(
        30, ge=1, le=3600, validation_alias="GATEBOT_WEB_TIMEOUT_SECONDS"
    )
    """`gatebot serve`: a connection idle this long (a client that stalls mid-request) is closed."""
    debounce_seconds: float = Field(1.0, ge=0, le=300, validation_alias="GATEBOT_DEBOUNCE_SECONDS")
    lease_seconds: float = Field(120.0, gt=0, le=86400, validation_alias="GATEBOT_LEASE_SECONDS")
    sweep_seconds: float = Field(30.0, gt=0, le=86400, validation_alias="GATEBOT_SWEEP_SECONDS")
    catchup_seconds: float = Field(
        300.0, gt=0, le=86400, validation_alias="GATEBOT_CATCHUP_SECONDS"
    )
    """How often a catch-up round looks for events that were lost (`bot/catchup`)."""
    catchup_requests: int = Field(
        100, ge=1, le=100000, validation_alias="GATEBOT_CATCHUP_REQUESTS"
    )
    """The requests one catch-up round may send to each forge."""
    deploy_timeout_minutes: float = Field(
        60.0, gt=0, le=7 * 24 * 60, validation_alias="GATEBOT_DEPLOY_TIMEOUT_MINUTES"
    )
    """A started deployment that reports no end this long after it started is marked
    `timed out` (`bot.pipeline.deploy_follow`)."""
    deploy_follow_seconds: float = Field(
        5.0, gt=0, le=3600, validation_alias="GATEBOT_DEPLOY_FOLLOW_SECONDS"
    )
    """How often the deploy follower looks for deployments due to be asked about; each
    deployment is asked with its own backoff (15 s doubling to 5 min)."""
    failure_backoff_seconds: float = Field(
        60.0, gt=0, le=86400, validation_alias="GATEBOT_FAILURE_BACKOFF_SECONDS"
    )
    failure_backoff_max_seconds: float = Field(
        3600.0, gt=0, le=7 * 86400, validation_alias="GATEBOT_FAILURE_BACKOFF_MAX_SECONDS"
    )
    pipeline: str | None = Field(None, validation_alias="GATEBOT_PIPELINE")
    """Unset: see `pipeline_factory`."""

    # PyGithub's own pacing between requests (its defaults); tests set both to 0.
    github_seconds_between_requests: float = Field(
        0.25, ge=0, le=60, validation_alias="GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS"
    )
    github_seconds_between_writes: float = Field(
        1.0, ge=0, le=60, validation_alias="GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES"
    )
    directory_cache_seconds: float = Field(
        900.0, ge=0, le=7 * 86400, validation_alias="GATEBOT_DIRECTORY_CACHE_SECONDS"
    )
    forge_cache_seconds: float = Field(
        3600.0, ge=0, le=7 * 86400, validation_alias="GATEBOT_FORGE_CACHE_SECONDS"
    )
    retry_max_wait_seconds: float = Field(
        60.0, ge=0, le=3600, validation_alias="GATEBOT_RETRY_MAX_WAIT_SECONDS"
    )
    # One catch-up round's bounds on GitHub's App webhook delivery log (`bot.catchup.redeliver`).
    redeliver_pages_per_round: int = Field(
        10, ge=1, le=1000, validation_alias="GATEBOT_REDELIVER_PAGES_PER_ROUND"
    )
    redeliver_asks_per_round: int = Field(
        50, ge=0, le=1000, validation_alias="GATEBOT_REDELIVER_ASKS_PER_ROUND"
    )
    metrics_token: SecretStr | None = Field(None, validation_alias="GATEBOT_METRICS_TOKEN")
    """When set, `/metrics` answers only requests bearing it (`Authorization: Bearer`)."""
    log_format: LogFormat = Field(LogFormat.TEXT, validation_alias="GATEBOT_LOG_FORMAT")

    # -- derived facts -------------------------------------------------------

    @property
    def configured_forges(self) -> tuple[ForgeKind, ...]:
        """The forges (`bot.forges.FORGES`) these settings configure, in the table's order."""
        return tuple(kind for kind in FORGES if kind.configured(self))

    @property
    def github_configured(self) -> bool:
        return GITHUB.configured(self)

    @property
    def gitlab_configured(self) -> bool:
        return GITLAB.configured(self)

    @property
    def gitlab_single_project(self) -> str | None:
        """The project of the single-secret mode (a global webhook secret), else None:
        then only the hooks `gatebot gitlab connect` made authenticate deliveries."""
        if self.gitlab_webhook_secret is None and self.gitlab_webhook_signing_token is None:
            return None
        return self.gitlab_project

    def gitlab_webhook_mode(self) -> str:
        """Which GitLab deliveries are accepted, in one sentence for the start-up log."""
        if self.gitlab_single_project is not None:
            return (
                f"single-project mode: the global webhook secret is accepted for "
                f"{self.gitlab_single_project} only; every other project is refused"
            )
        return "deliveries are accepted with the secret of hooks made by gatebot gitlab connect"

    @property
    def mode(self) -> Mode:
        if self.configured_forges:
            return Mode.FULL
        return Mode.SETUP

    @property
    def pipeline_factory(self) -> str:
        """`GATEBOT_PIPELINE`, else the forges' pipeline when GitHub or GitLab is
        configured, else the pipeline that only records that a PR was looked at."""
        if self.pipeline is not None:
            return self.pipeline
        if self.configured_forges:
            return FORGES_PIPELINE
        return RECORD_ONLY_PIPELINE

    @property
    def remote_policy_allowlist(self) -> tuple[str, ...]:
        """`GATEBOT_REMOTE_POLICY_ALLOW` as a list: `acme-shared, acme/policies`."""
        return tuple(
            entry.strip().strip("/")
            for entry in self.remote_policy_allow.replace(",", " ").split()
            if entry.strip().strip("/")
        )

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    def _sqlite_file(self) -> Path | None:
        """The store's SQLite file, or None for another database (or one in memory)."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :].split("?", 1)[0])
        return None

    def sqlite_queue_path(self) -> Path:
        """Where the embedded queue lives: beside the SQLite store, else in `data_directory`."""
        db = self._sqlite_file()
        if db is not None:
            return db.with_name(db.stem + "-queue" + (db.suffix or ".sqlite3"))
        return data_directory() / "gatebot-queue.sqlite3"

    def metrics_directory(self) -> Path:
        """Where the processes of this deployment on one host write their metrics when
        `PROMETHEUS_MULTIPROC_DIR` is unset: beside the SQLite store, else in
        `data_directory`."""
        db = self._sqlite_file()
        if db is not None:
            return db.with_name(db.stem + "-metrics")
        return data_directory() / "metrics"

    def store_line(self) -> str:
        """`store: <URL>` for the start of every command that opens the store, so the
        operator sees which one; a PostgreSQL password is masked."""
        from sqlalchemy.engine import make_url

        return f"store: {make_url(self.database_url).render_as_string(hide_password=True)}"

    def github_private_key_pem(self) -> str:
        """The App's private key, from the setting or the file it names."""
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is None:
            raise ConfigurationError("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is missing.")
        return self.github_private_key_path.read_text(encoding="utf-8")

    # -- checks --------------------------------------------------------------

    def check(self) -> None:
        """Raise `ConfigurationError` (one sentence) if the service cannot start."""
        explicit = self.model_fields_set
        problem = (
            _github_problem(self, explicit)
            or _gitlab_problem(self, explicit)
            or _file_problem(self)
            or _url_problem(self)
        )
        if problem:
            raise ConfigurationError(problem)


def _missing_sentence(present: list[str], missing: list[str]) -> str:
    have = _join(present)
    lack = _join(missing)
    verb_have = "is" if len(present) == 1 else "are"
    verb_lack = "is" if len(missing) == 1 else "are"
    return f"{have} {verb_have} set but {lack} {verb_lack} missing."


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


_KEY_EITHER = "GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)"


def _github_problem(s: Settings, explicit: set[str]) -> str | None:
    present = []
    if s.github_app_id is not None:
        present.append("GITHUB_APP_ID")
    if s.github_private_key is not None:
        present.append("GITHUB_PRIVATE_KEY")
    if s.github_private_key_path is not None:
        present.append("GITHUB_PRIVATE_KEY_PATH")
    if s.github_webhook_secret is not None:
        present.append("GITHUB_WEBHOOK_SECRET")
    if "github_api_url" in explicit:
        present.append("GITHUB_API_URL")
    if not present:
        return None
    if s.github_private_key is not None and s.github_private_key_path is not None:
        return "GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_PATH are both set; set only one."
    missing = []
    if s.github_app_id is None:
        missing.append("GITHUB_APP_ID")
    if s.github_private_key is None and s.github_private_key_path is None:
        missing.append(_KEY_EITHER)
    if s.github_webhook_secret is None:
        missing.append("GITHUB_WEBHOOK_SECRET")
    if missing:
        return _missing_sentence(present, missing)
    if s.github_private_key_path is not None:
        try:
            pem = s.github_private_key_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return (
                f"GITHUB_PRIVATE_KEY_PATH names {s.github_private_key_path}, which cannot be read."
            )
        if not _looks_like_pem(pem):
            return f"GITHUB_PRIVATE_KEY_PATH names {s.github_private_key_path}, which holds no PEM private key."
        reason = _unusable_key(s.github_app_id, pem)
        if reason:
            return (
                f"GITHUB_PRIVATE_KEY_PATH names {s.github_private_key_path}, which is not a "
                f"usable private key: {reason}; download a new key from the App's settings page."
            )
    elif s.github_private_key is not None:
        pem = s.github_private_key.get_secret_value()
        if not _looks_like_pem(pem):
            return "GITHUB_PRIVATE_KEY is not a PEM private key (it must start with -----BEGIN)."
        reason = _unusable_key(s.github_app_id, pem)
        if reason:
            return (
                f"GITHUB_PRIVATE_KEY is not a usable private key: {reason}; put the .pem file's "
                "text in it with its real line breaks, or use GITHUB_PRIVATE_KEY_PATH."
            )
    return None


def _looks_like_pem(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("-----BEGIN") and "PRIVATE KEY-----" in stripped


def _unusable_key(app_id: int, pem: str) -> str | None:
    """Why a PEM-looking key cannot sign the App's tokens, or None if it can: the
    same signing `gatebot serve` does later, so a key that passes here works there.

    The reason never quotes the key, nor the signer's message (which might)."""
    from bot.providers.github.auth import AppCredentials, AppKeyError

    try:
        AppCredentials(app_id, pem)
    except AppKeyError:
        # `.env` files often hold a key on one line with `\n` for each line break.
        if "\\n" in pem and "\n" not in pem.strip():
            return "it holds literal \\n sequences instead of line breaks"
        return "it cannot sign a token (an unencrypted RSA key in PEM form is needed)"
    return None


def _gitlab_problem(s: Settings, explicit: set[str]) -> str | None:
    present = []
    if "gitlab_url" in explicit:
        present.append("GITLAB_URL")
    global_secrets = [
        name
        for name, value in (
            ("GITLAB_WEBHOOK_SECRET", s.gitlab_webhook_secret),
            ("GITLAB_WEBHOOK_SIGNING_TOKEN", s.gitlab_webhook_signing_token),
        )
        if value is not None
    ]
    for name, value in (
        ("GITLAB_TOKEN", s.gitlab_token),
        ("GITLAB_WEBHOOK_SECRET", s.gitlab_webhook_secret),
        ("GITLAB_WEBHOOK_SIGNING_TOKEN", s.gitlab_webhook_signing_token),
        ("GITLAB_PROJECT", s.gitlab_project),
    ):
        if value is not None:
            present.append(name)
    if not present:
        return None
    if s.gitlab_token is None:
        return _missing_sentence(present, ["GITLAB_TOKEN"])
    # One secret shared by several projects' hooks lets any of their maintainers
    # speak for all of them: a global secret serves exactly one named project.
    if global_secrets and s.gitlab_project is None:
        return (
            f"{_join(global_secrets)} authenticate{'s' if len(global_secrets) == 1 else ''} "
            "one project only: set GITLAB_PROJECT to it, or unset "
            f"{'it' if len(global_secrets) == 1 else 'them'} and run gatebot gitlab connect."
        )
    if s.gitlab_project is not None and not global_secrets:
        return (
            "GITLAB_PROJECT is set but GITLAB_WEBHOOK_SECRET (or GITLAB_WEBHOOK_SIGNING_TOKEN) "
            "is missing."
        )
    if s.gitlab_webhook_signing_token is not None:
        try:
            signing_key(s.gitlab_webhook_signing_token.get_secret_value())
        except ValueError:
            return (
                "GITLAB_WEBHOOK_SIGNING_TOKEN must be the signing token as GitLab shows it: "
                "whsec_ followed by base64."
            )
    return None


def _file_problem(s: Settings) -> str | None:
    for name, path in (
        ("GATEBOT_DEFAULT_POLICY", s.default_policy),
        ("GATEBOT_REQUIRED_POLICY", s.required_policy),
        ("GATEBOT_DEPLOY_TARGETS", s.deploy_targets),
    ):
        if path is not None and not path.is_file():
            return f"{name} names {path}, which is not a readable file."
    return None


def _url_problem(s: Settings) -> str | None:
    for name, url, schemes in (
        ("GATEBOT_DATABASE_URL", s.database_url, ("sqlite", "postgresql")),
        ("GATEBOT_REDIS_URL", s.redis_url, ("redis", "rediss", "unix")),
    ):
        if url is None:
            continue
        scheme = url.split(":", 1)[0].split("+", 1)[0]
        if "://" not in url or scheme not in schemes:
            return f"{name} must be a {' or '.join(schemes)} URL."
    if s.pipeline is not None and s.pipeline.count(":") != 1:
        return "GATEBOT_PIPELINE must name a factory as module:function."
    return None


_FIELD_ENV = {name: str(field.validation_alias) for name, field in Settings.model_fields.items()}


def env_names() -> list[str]:
    """Every environment variable the service reads, in declaration order."""
    return list(_FIELD_ENV.values())


def load_settings() -> Settings:
    """Read and check the settings; raise `ConfigurationError` with one sentence."""
    try:
        # The one-click GitHub App setup's file (bot/env_file.py); the environment wins.
        settings = Settings(_env_file=env_file_path())  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"][0] if first["loc"] else "?"
        name = _FIELD_ENV.get(str(loc), str(loc))
        raise ConfigurationError(
            f"{name} is not valid: {first['msg'][0].lower()}{first['msg'][1:]}."
        ) from None
    settings.check()
    return settings
