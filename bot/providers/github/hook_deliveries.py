"""The App webhook's delivery log on GitHub, read and acted on with the App's JWT.

GitHub keeps every attempt to deliver an event to the App's webhook for
three days: `GET /app/hook/deliveries` lists them newest first, a page at a
time (`per_page` at most 100, the next page named by a `cursor` in the
`Link` header), and `POST /app/hook/deliveries/{id}/attempts` asks for one
attempt to be sent again (202; the redelivery carries the same payload and
`X-GitHub-Delivery` guid, so the webhook endpoint's de-duplication by guid
still holds). `AppHookLog` makes those two calls through PyGithub's
requester (`client.app_client`: no hidden retries, paced, counted); reads
are retried by `bot.retry`, a redelivery is not (it would ask again).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.providers.counting import RequestTally
from bot.providers.github.auth import AppCredentials
from bot.providers.github.client import PER_PAGE, ClientConfig, app_client
from bot.retry import RetryPolicies

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


@dataclass(frozen=True)
class LoggedDelivery:
    """One attempt in the log (GitHub's "Simple webhook delivery")."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool
    status_code: int
    event: str
    action: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass(frozen=True)
class LogPage:
    deliveries: tuple[LoggedDelivery, ...]
    next_cursor: str | None
    rate_remaining: int | None
    """`x-ratelimit-remaining` of the answer (None: not sent)."""


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _delivery(item: Mapping[str, Any]) -> LoggedDelivery:
    return LoggedDelivery(
        id=int(item["id"]),
        guid=str(item["guid"]),
        delivered_at=_time(str(item["delivered_at"])),
        redelivery=bool(item.get("redelivery")),
        status_code=int(item.get("status_code") or 0),
        event=str(item.get("event") or ""),
        action=item.get("action"),
    )


def next_cursor(link: str | None) -> str | None:
    """The `cursor` of the `rel="next"` link of a `Link` header (None: last page)."""
    found = _NEXT.search(link or "")
    if found is None:
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(found.group(1)).query)
    values = query.get("cursor")
    return values[0] if values else None


def _remaining(headers: Mapping[str, Any]) -> int | None:
    value = headers.get("x-ratelimit-remaining")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class AppHookLog:
    """The App webhook's delivery log, as the App (JWT) sees it."""

    def __init__(
        self, credentials: AppCredentials, config: ClientConfig, retries: RetryPolicies
    ) -> None:
        self.credentials = credentials
        self.config = config
        self.retries = retries

    def page(self, cursor: str | None, tally: RequestTally) -> LogPage:
        """One page of the log, newest first, from `cursor` (None: the newest)."""
        parameters: dict[str, Any] = {"per_page": PER_PAGE}
        if cursor is not None:
            parameters["cursor"] = cursor
        client = app_client(self.config, self.credentials.auth, tally)
        try:
            headers, data = self.retries.read.call(
                lambda: client.requester.requestJsonAndCheck(
                    "GET", "/app/hook/deliveries", parameters=parameters
                ),
                what="GET /app/hook/deliveries",
            )
        finally:
            client.close()
        items = data if isinstance(data, list) else []
        return LogPage(
            tuple(_delivery(item) for item in items),
            next_cursor(headers.get("link")),
            _remaining(headers),
        )

    def redeliver(self, delivery_id: int, tally: RequestTally) -> None:
        """Ask GitHub to send attempt `delivery_id` again (raises on any answer but 2xx)."""
        client = app_client(self.config, self.credentials.auth, tally)
        try:
            # Not retried after an answer: a repeat would ask for a second redelivery.
            self.retries.unsafe_write.call(
                lambda: client.requester.requestJsonAndCheck(
                    "POST", f"/app/hook/deliveries/{delivery_id}/attempts"
                ),
                what="POST /app/hook/deliveries/{id}/attempts",
            )
        finally:
            client.close()
