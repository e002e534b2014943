"""Defensive readers for webhook JSON: the body is untrusted until parsed.

Each returns None for anything that is not the expected shape, so the
webhook parsers never raise on a surprising payload.
"""

from __future__ import annotations

from typing import Any


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
    if (
        isinstance(value, str)
        and 7 <= len(value) <= 64
        and all(c in "0123456789abcdef" for c in value.lower())
    ):
        return value.lower()
    return None
