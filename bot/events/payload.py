"""Defensive readers for webhook JSON: the body is untrusted until parsed.

Each returns None for anything that is not the expected shape, so the
webhook parsers never raise on a surprising payload.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson

_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


def decode(body: bytes) -> Any:
    """The JSON value of `body`; raises ValueError (or UnicodeDecodeError) if it is none.

    orjson, which decodes a webhook body several times faster; what it refuses
    and the standard decoder takes (integers past 64 bits, NaN) is decoded by
    the latter, so the same bodies are accepted as before.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def get(payload: Any, *path: str) -> Any:
    """The value at `path` through nested objects, or None."""
    for part in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def text(value: Any, limit: int = 255) -> str | None:
    """A non-empty string cut to `limit` characters, or None."""
    return value[:limit] if isinstance(value, str) and value else None


def positive_int(value: Any) -> int | None:
    # bool is an int in Python; a JSON true is no PR number.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def sha(value: Any) -> str | None:
    """A lowercase hex commit SHA (7 to 64 characters), or None."""
    if isinstance(value, str) and _SHA.fullmatch(value):
        return value.lower()
    return None


def utc_time(stamp: str) -> datetime | None:
    """An ISO 8601 time with an offset (`2019-05-15T15:20:33+00:00`) as an aware UTC
    datetime; None for anything else (a time without an offset is ambiguous)."""
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def listed_paths(commits: list[Any]) -> frozenset[str] | None:
    """Every path a push hook's `commits` list as added, modified or removed; None when a
    commit lacks one of the lists (the push's paths are then not knowable)."""
    paths: set[str] = set()
    for commit in commits:
        for kind in ("added", "modified", "removed"):
            listed = get(commit, kind)
            if not isinstance(listed, list):
                return None
            paths.update(p for p in listed if isinstance(p, str))
    return frozenset(paths)
