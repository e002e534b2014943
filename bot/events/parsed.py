"""A verified, parsed webhook delivery, whatever the forge: the types the parsers return.

The web tier's parsers (`bot/web/github_webhook.py`, `bot/web/gitlab_webhook.py`)
turn headers and body into a `ParsedDelivery` — the `DeliveryRecord` the store
keeps, and the decoded payload the routing reads — or raise `MalformedDelivery`.
`bot.events.ingestion.ingest` takes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


class MalformedDelivery(Exception):
    """A correctly signed (or authenticated) delivery that is not a usable webhook."""


@dataclass(frozen=True)
class DeliveryRecord:
    """What the store keeps of one webhook delivery (provider-neutral)."""

    provider: str
    delivery_id: str
    event: str
    action: str | None = None
    repo: str | None = None
    installation_id: int | None = None
    pr_number: int | None = None
    sender: str | None = None
    head_sha: str | None = None
    head_pushed: bool = False
    pusher: str | None = None

    def log_fields(self) -> dict[str, Any]:
        """The fields every log line about this delivery carries (`bot.logs.context`)."""
        return {
            "delivery_id": self.delivery_id,
            "forge": self.provider,
            "repo": self.repo,
            "pr": self.pr_number,
            "head_sha": self.head_sha,
        }


@dataclass(frozen=True)
class ParsedDelivery:
    """A verified delivery: what the store records, and the payload it came from."""

    record: DeliveryRecord
    payload: dict[str, Any]


def record_to_json(record: DeliveryRecord) -> str:
    """`record` as the inbox keeps it (`bot.store.inbox`)."""
    # orjson writes a dataclass directly, many times faster than json over asdict():
    # this runs while a webhook waits for its answer.
    return orjson.dumps(record).decode()


def record_from_json(text: str) -> DeliveryRecord:
    """The record `record_to_json` wrote."""
    return DeliveryRecord(**orjson.loads(text))
