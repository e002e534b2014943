"""Shared fixtures: free ports, PostgreSQL and Redis (skipped outside CI when
absent), a GitHub App configuration, the fake GitHub, and real `gatebot`
processes."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakegithub import fake_github, make_fake_github  # noqa: F401 - fixtures for every module
from fakegithub.auth import generated_private_key_pem
from fakegitlab import fake_gitlab, make_fake_gitlab  # noqa: F401 - fixtures for every module
from sqlalchemy import create_engine, text
from support import services
from support.processes import GatebotProcess

from bot.store import Store


def find_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-data")


@pytest.fixture(autouse=True)
def _data_home_is_temporary(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store lives in $XDG_DATA_HOME/gatebot: never the real home's during tests
    (`clean_env` hands the variable on to `gatebot` processes)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))


@pytest.fixture
def free_port() -> int:
    return find_free_port()


@pytest.fixture(scope="session")
def app_private_key_pem() -> str:
    # The same key the fake GitHub verifies App JWTs with.
    return generated_private_key_pem()


@pytest.fixture
def webhook_secret() -> str:
    return "whsec-" + secrets.token_hex(12)


@pytest.fixture
def github_app_env(tmp_path: Path, app_private_key_pem: str, webhook_secret: str) -> dict[str, str]:
    """Environment variables of a fully configured GitHub App on a SQLite store."""
    key = tmp_path / "app.pem"
    key.write_text(app_private_key_pem)
    return {
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY_PATH": str(key),
        "GITHUB_WEBHOOK_SECRET": webhook_secret,
        "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gatebot.sqlite3'}",
        # Service-level tests exercise ingestion and the queue, not a forge:
        # the recorded no-op stands in for the GitHub pipeline.
        "GATEBOT_PIPELINE": "bot.worker:record_only_pipeline",
    }


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the whole run (SQLAlchemy URL)."""
    with services.fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store, once on SQLite and once on PostgreSQL: the store's SQL must
    mean the same on both (rowcounts, ON CONFLICT, times)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.sqlite3"
    else:
        url = request.getfixturevalue("postgres_url")
    found = Store(url)
    found.migrate()
    yield found
    found.close()


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A URL whose connections live in a schema of their own, dropped afterwards."""
    schema = f"t_{secrets.token_hex(5)}"
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield services.postgres_schema_url(postgres_database, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis_queue() -> Iterator[tuple[str, str]]:
    """(Redis URL, a queue name of this test's own); its keys are removed afterwards."""
    with services.redis_namespace() as found:
        yield found


@pytest.fixture
def gatebot(tmp_path: Path) -> Iterator[Callable[..., GatebotProcess]]:
    """Start `gatebot` processes: `gatebot(["serve", ...], env)`; all stopped at teardown."""
    started: list[GatebotProcess] = []

    def start(args: list[str], env: dict[str, str], name: str | None = None) -> GatebotProcess:
        log = tmp_path / f"{name or args[0]}-{len(started)}.log"
        proc = GatebotProcess(args, env, cwd=tmp_path, log_path=log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
