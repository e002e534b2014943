"""GitLab webhook verification and minimal parsing: pure functions, no I/O.

GitLab sends the configured secret itself in `X-Gitlab-Token` (not a
signature), so `verify_token` is a constant-time comparison. Newer servers
can also sign each delivery with a *signing token* (`whsec_<base64 key>`),
following the Standard Webhooks specification: `webhook-signature` holds
space-separated `v1,<base64 HMAC-SHA256>` values over
`<webhook-id>.<webhook-timestamp>.<body>`; `verify_signature` accepts the
delivery when one of them matches and its timestamp is within
`SIGNATURE_TOLERANCE_SECONDS` of now (a captured delivery cannot be replayed
later). When both are configured, both must hold. The delivery id
is `Idempotency-Key` (the same across retries, GitLab 17.4+), else
`webhook-id`, else `X-Gitlab-Event-UUID` on older servers.

`parse_delivery` pulls out the facts the store records; `read_delivery`
returns them with the decoded payload (a `bot.events.parsed.ParsedDelivery`),
which the routing (`bot/events/gitlab`) reads. `named_scope` says which project (or
group) a delivery speaks for: the token must be that project's or group's
own (`bot.store.gitlab_hooks.authenticates`), never another's.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.events.parsed import DeliveryRecord, MalformedDelivery, ParsedDelivery
from bot.events.payload import decode
from bot.events.payload import get as _get
from bot.events.payload import positive_int as _int
from bot.events.payload import sha as _sha
from bot.events.payload import text as _str
from bot.forges import GITLAB
from bot.standard_webhooks import sign

PROVIDER = GITLAB.provider
TOKEN_HEADER = "X-Gitlab-Token"
EVENT_HEADER = "X-Gitlab-Event"
DELIVERY_HEADERS = ("Idempotency-Key", "webhook-id", "X-Gitlab-Event-UUID")

_ZERO_SHA = "0" * 40


SIGNATURE_HEADER = "webhook-signature"
SIGNATURE_ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_TOLERANCE_SECONDS = 300
"""Standard Webhooks' advice: older (or future-dated) signed deliveries are refused."""


class InvalidToken(Exception):
    """`X-Gitlab-Token` or `webhook-signature` is missing or does not hold."""


def verify_signature(headers: Mapping[str, str], body: bytes, key: bytes, now: float) -> None:
    """Return if one `webhook-signature` value signs this delivery, recently; else raise."""
    webhook_id = (headers.get(SIGNATURE_ID_HEADER) or "").strip()
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    offered = (headers.get(SIGNATURE_HEADER) or "").split()
    if not offered or not webhook_id or not timestamp:
        raise InvalidToken(
            f"{SIGNATURE_HEADER}, {SIGNATURE_ID_HEADER} and {TIMESTAMP_HEADER} are required"
        )
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidToken(f"{TIMESTAMP_HEADER} is not within 5 minutes of now")
    expected = sign(key, webhook_id, timestamp, body).encode()
    # Every offered value is compared, in constant time each.
    matches = [hmac.compare_digest(expected, value.encode()) for value in offered]
    if not any(matches):
        raise InvalidToken(f"{SIGNATURE_HEADER} does not match")


def verify_token(received: str | None, secret: str) -> None:
    """Return if `received` equals `secret` (constant time); else raise `InvalidToken`.

    An empty configured secret is refused: the endpoint fails closed.
    """
    if not secret:
        raise InvalidToken("no webhook secret is configured")
    if not received:
        raise InvalidToken(f"{TOKEN_HEADER} is missing")
    if not hmac.compare_digest(received.encode("utf-8"), secret.encode("utf-8")):
        raise InvalidToken(f"{TOKEN_HEADER} does not match")


@dataclass(frozen=True)
class Scope:
    """The project, or the group, a delivery says it is about."""

    project_id: int | None
    project_path: str | None
    group_id: int | None

    @property
    def empty(self) -> bool:
        return self.project_id is None and self.project_path is None and self.group_id is None

    def names_project(self, path: str) -> bool:
        return self.project_path is not None and self.project_path.lower() == path.lower()


def named_scope(payload: Mapping[str, Any]) -> Scope:
    """Which project (`project.id` / `project_id`, `project.path_with_namespace` /
    `project_path_with_namespace`) or group (`group_id`, member events) `payload` names.

    Raises `MalformedDelivery` when it names two different projects."""
    ids = {_int(_get(payload, "project", "id")), _int(payload.get("project_id"))} - {None}
    paths = {
        p.lower()
        for p in (
            _str(_get(payload, "project", "path_with_namespace")),
            _str(payload.get("project_path_with_namespace")),
        )
        if p is not None
    }
    if len(ids) > 1 or len(paths) > 1:
        # The token is checked for one project; every handler must read that one.
        raise MalformedDelivery("the payload names two different projects")
    project_id = next(iter(ids), None)
    project_path = _str(_get(payload, "project", "path_with_namespace")) or _str(
        payload.get("project_path_with_namespace")
    )
    group_id = None if project_id or project_path else _int(payload.get("group_id"))
    return Scope(project_id, project_path, group_id)


def parse_delivery(headers: Mapping[str, str], body: bytes) -> DeliveryRecord:
    """The facts of one delivery the store records (see `read_delivery`)."""
    return read_delivery(headers, body).record


def read_delivery(headers: Mapping[str, str], body: bytes) -> ParsedDelivery:
    """The facts of one delivery the store records, with its decoded payload.

    Raises `MalformedDelivery` when `X-Gitlab-Event` or every delivery id
    header is missing, or the body is not a JSON object.
    """
    event = (headers.get(EVENT_HEADER) or "").strip()
    if not event:
        raise MalformedDelivery(f"{EVENT_HEADER} is missing")
    delivery_id = next(
        (v.strip() for h in DELIVERY_HEADERS if (v := headers.get(h)) and v.strip()), ""
    )
    if not delivery_id:
        raise MalformedDelivery(f"none of {', '.join(DELIVERY_HEADERS)} is present")
    if len(event) > 64 or len(delivery_id) > 128:
        raise MalformedDelivery("event or delivery header is too long")
    try:
        payload = decode(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedDelivery(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("the body is not a JSON object")

    kind = payload.get("object_kind")
    attrs = (
        payload.get("object_attributes")
        if isinstance(payload.get("object_attributes"), dict)
        else {}
    )
    number, head_sha, pushed, pusher = None, None, False, None
    if kind == "merge_request":
        number = _int(attrs.get("iid"))
        head_sha = _sha(_get(attrs, "last_commit", "id"))
        # `oldrev` is present exactly when the update brought new commits.
        if attrs.get("action") == "update" and attrs.get("oldrev"):
            pushed, pusher = True, _str(_get(payload, "user", "username"))
    elif kind in ("note", "pipeline", "emoji"):
        number = _int(_get(payload, "merge_request", "iid"))
    elif kind == "push":
        after = _sha(payload.get("after"))
        ref = payload.get("ref")
        if after and after != _ZERO_SHA and isinstance(ref, str) and ref.startswith("refs/heads/"):
            head_sha, pushed, pusher = after, True, _str(payload.get("user_username"))

    record = DeliveryRecord(
        provider=PROVIDER,
        delivery_id=delivery_id,
        event=event,
        action=_str(attrs.get("action"), 64),
        repo=_str(_get(payload, "project", "path_with_namespace")),
        installation_id=None,
        pr_number=number,
        sender=_str(_get(payload, "user", "username")) or _str(payload.get("user_username")),
        head_sha=head_sha,
        head_pushed=pushed,
        pusher=pusher,
    )
    return ParsedDelivery(record, payload)
