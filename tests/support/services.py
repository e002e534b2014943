"""PostgreSQL and Redis for tests: found on the usual local ports, or skipped.

Outside CI a missing service skips the test with a reason; with `CI=true` it
fails it, because CI promises both services. Addresses can be overridden with
GATEBOT_TEST_POSTGRES_URL (a SQLAlchemy URL to an existing database the test
user may create databases from) and GATEBOT_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

POSTGRES_URL = os.environ.get(
    "GATEBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("GATEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, why: object) -> None:
    """Skip (outside CI) or fail (in CI) because `what` cannot be reached."""
    message = f"{what} is not reachable ({why})"
    if in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test run; dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"gatebot_test_{secrets.token_hex(5)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()}", exc.orig)
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_schema_url(database_url: str, schema: str) -> str:
    """`database_url` with every connection's search_path set to `schema`."""
    url = make_url(database_url)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def redis_namespace() -> Iterator[tuple[str, str]]:
    """(redis URL, unique queue name); the queue's keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        unavailable(f"Redis at {REDIS_URL}", exc)
    name = f"gatebottest{secrets.token_hex(5)}"
    try:
        yield REDIS_URL, name
    finally:
        keys = list(client.scan_iter(match=f"huey.*{name}*"))
        if keys:
            client.delete(*keys)
        client.close()
