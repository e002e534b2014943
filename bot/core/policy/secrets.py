"""Recognising URLs and secrets that must never sit in a repository's policy file.

A policy file is readable by everyone who can read the repository and editable
by PR authors; the bot must never call an address it names nor hold a secret
it carries. Operators declare addresses and secrets server-side instead.
"""

from __future__ import annotations

import re

_URL_RE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]{1,15}://|^\s*//[^/]|^\s*www\.", re.ASCII)

# Well-known token shapes (GitHub, GitLab, Slack, AWS, private keys, JWTs).
_SECRET_RES = (
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
)

# Keys that would carry a destination or a credential; the schema has none of
# them, so when one appears the user gets the reason rather than "unknown key".
URL_KEYS = frozenset({"url", "urls", "uri", "endpoint", "webhook", "webhook_url", "host", "hook"})
SECRET_KEYS = frozenset(
    {"token", "secret", "password", "passwd", "api_key", "apikey", "auth", "authorization",
     "headers", "credentials", "private_key", "key"}
)


def looks_like_url(value: str) -> bool:
    """Whether `value` is (or starts like) a network address."""
    return bool(_URL_RE.match(value))


def looks_like_secret(value: str) -> bool:
    """Whether `value` contains a well-known credential shape."""
    return any(pattern.search(value) for pattern in _SECRET_RES)
