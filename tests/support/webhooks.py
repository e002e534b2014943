"""Real recorded webhook payloads, signed and sent the way GitHub sends them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import requests

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def github_payload(name: str) -> dict[str, Any]:
    """A payload from tests/fixtures/github/webhooks, e.g. "pull_request/opened.1"."""
    return json.loads((FIXTURES / "github" / "webhooks" / f"{name}.json").read_text())


def gitlab_payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "gitlab" / "webhooks" / f"{name}.json").read_text())


def with_pr_number(payload: dict[str, Any], number: int) -> dict[str, Any]:
    """A copy of a pull_request* payload retargeted at PR `number`."""
    out = copy.deepcopy(payload)
    out["pull_request"]["number"] = number
    if "number" in out:
        out["number"] = number
    return out


def signature(body: bytes, secret: str) -> str:
    # Computed here independently of bot.web, as GitHub's docs describe it.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(event: str, body: bytes, secret: str, delivery: str | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body, secret),
        "User-Agent": "GitHub-Hookshot/test",
    }


def send_github(
    base_url: str,
    event: str,
    payload: dict[str, Any] | bytes,
    secret: str,
    delivery: str | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    post = (session or requests).post
    return post(
        f"{base_url}/webhooks/github",
        data=body,
        headers=github_headers(event, body, secret, delivery),
        timeout=10,
    )
