"""Conditional GETs as both forges answer them: an `ETag` on every successful GET, and
304 Not Modified with no body to a GET whose `If-None-Match` names it.

The ETag is weak and derived from the body (`W/"<sha256>"`), like GitHub's and
GitLab's, unless the handler set one itself (GitHub's `sha` media type uses the
commit SHA). `If-None-Match` is compared weakly, as RFC 9110 asks for it: a
list of tags, `W/` ignored, `*` matching any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` value names `etag` (weak comparison)."""
    wanted = {_opaque(tag) for tag in if_none_match.split(",") if tag.strip()}
    return "*" in wanted or _opaque(etag) in wanted


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def answer(
    method: str,
    request_headers: Mapping[str, str],
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, bytes, dict[str, str]]:
    """The answer to send for a handler's `status`, `body` and `headers`: a 200 to a GET
    gains its ETag, and becomes 304 (no body, same ETag) when the client holds it."""
    if method != "GET" or status != 200:
        return status, body, headers
    etag = _header(headers, "ETag")
    if etag is None:
        etag = etag_of(body)
        headers = {**headers, "ETag": etag}
    held = _header(request_headers, "If-None-Match")
    if held is not None and matches(held, etag):
        kept = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return 304, b"", kept
    return status, body, headers
