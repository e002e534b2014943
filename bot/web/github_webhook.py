"""GitHub webhook verification and minimal parsing: pure functions, no I/O.

`verify_signature` checks `X-Hub-Signature-256` against the raw body;
`parse_delivery` pulls out the few facts the web tier records (event,
action, repository, installation, PR number, head SHA and pusher), and
`read_delivery` returns them with the decoded payload (a
`bot.events.parsed.ParsedDelivery`), which the routing (`bot/events/github`)
reads. All raise a documented exception instead
of returning a flag, so a caller cannot forget to look.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bot.events.parsed import DeliveryRecord, MalformedDelivery, ParsedDelivery
from bot.events.payload import decode
from bot.events.payload import get as _get
from bot.events.payload import positive_int as _int
from bot.events.payload import sha as _sha
from bot.events.payload import text as _str
from bot.forges import GITHUB

PROVIDER = GITHUB.provider
SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"

_ZERO_SHA = "0" * 40


class InvalidSignature(Exception):
    """The signature is missing, malformed, or does not match the body."""


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, signature: str | None, secret: str) -> None:
    """Return if `signature` is `sha256=<hex HMAC-SHA256 of body>`; else raise.

    Raises `InvalidSignature` when the header is absent, is not a `sha256=`
    value, or differs from the expected one (compared in constant time).
    An empty secret is refused too: the endpoint fails closed.
    """
    if not secret:
        raise InvalidSignature("no webhook secret is configured")
    if not signature:
        raise InvalidSignature(f"{SIGNATURE_HEADER} is missing")
    scheme, _, _ = signature.partition("=")
    if scheme != "sha256":
        raise InvalidSignature(f"{SIGNATURE_HEADER} is not a sha256= signature")
    if not hmac.compare_digest(signature.encode("ascii", "replace"), sign(body, secret).encode()):
        raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the body")


def parse_delivery(headers: Mapping[str, str], body: bytes) -> DeliveryRecord:
    """The facts of one delivery the store records (see `read_delivery`)."""
    return read_delivery(headers, body).record


def read_delivery(headers: Mapping[str, str], body: bytes) -> ParsedDelivery:
    """The facts of one delivery the store records, with its decoded payload.

    `headers` is looked up case-sensitively by the canonical names above (a
    WSGI request's headers are case-insensitive already). Raises
    `MalformedDelivery` when `X-GitHub-Event` or `X-GitHub-Delivery` is
    missing, or the body is not a JSON object.
    """
    event = (headers.get(EVENT_HEADER) or "").strip()
    delivery_id = (headers.get(DELIVERY_HEADER) or "").strip()
    if not event:
        raise MalformedDelivery(f"{EVENT_HEADER} is missing")
    if not delivery_id:
        raise MalformedDelivery(f"{DELIVERY_HEADER} is missing")
    if len(event) > 64 or len(delivery_id) > 128:
        raise MalformedDelivery("event or delivery header is too long")
    try:
        payload = decode(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedDelivery(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("the body is not a JSON object")

    head_sha, pushed, pusher = _head(event, payload)
    record = DeliveryRecord(
        provider=PROVIDER,
        delivery_id=delivery_id,
        event=event,
        action=_str(payload.get("action"), 64),
        repo=_str(_get(payload, "repository", "full_name"), 255),
        installation_id=_int(_get(payload, "installation", "id")),
        pr_number=_pr_number(event, payload),
        sender=_str(_get(payload, "sender", "login"), 255),
        head_sha=head_sha,
        head_pushed=pushed,
        pusher=pusher,
    )
    return ParsedDelivery(record, payload)


def _pr_number(event: str, payload: dict[str, Any]) -> int | None:
    if event in (
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
    ):
        return _int(_get(payload, "pull_request", "number")) or _int(payload.get("number"))
    if event == "issue_comment":
        issue = payload.get("issue")
        # Comments on plain issues arrive on the same event; only PRs carry this key.
        if isinstance(issue, dict) and isinstance(issue.get("pull_request"), dict):
            return _int(issue.get("number"))
    return None


def _head(event: str, payload: dict[str, Any]) -> tuple[str | None, bool, str | None]:
    """(head SHA, was it pushed by this event, who pushed it)."""
    if event == "push":
        after = _sha(payload.get("after"))
        ref = payload.get("ref")
        if (
            after is None
            or after == _ZERO_SHA
            or not (isinstance(ref, str) and ref.startswith("refs/heads/"))
        ):
            return None, False, None
        pusher = _str(_get(payload, "pusher", "name"), 255) or _str(
            _get(payload, "sender", "login"), 255
        )
        return after, True, pusher
    if event.startswith("pull_request"):
        sha = _sha(_get(payload, "pull_request", "head", "sha"))
        if sha is None:
            return None, False, None
        if event == "pull_request" and payload.get("action") == "synchronize":
            return sha, True, _str(_get(payload, "sender", "login"), 255)
        return sha, False, None
    return None, False, None
