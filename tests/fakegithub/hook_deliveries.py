"""The App webhook's delivery log: every webhook the fake sends, as GitHub keeps it.

GitHub records each attempt to deliver an event to the App's webhook URL: an
`id` of its own, the event's `guid` (the `X-GitHub-Delivery` header, shared
by the attempt and its redeliveries), when it was sent, whether it was a
redelivery, and the answer (`status_code`; 502 "failed to connect" when the
receiver could not be reached). `GET /app/hook/deliveries` lists them newest
first with cursor pagination, and `POST /app/hook/deliveries/{id}/attempts`
sends the same payload under the same guid again, recorded as a new
delivery with `redelivery: true` (the handlers live in `handlers.py`).

Tests send webhooks with `HookLog.send` (through `FakeGitHub.send_webhook`),
make deliveries fail with `outage` (the receiver down, or answering 5xx),
and fill the log cheaply with `seed`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from .state import iso, utcnow
from .webhooks import request as signed_request

CONNECTION_FAILED = 502
# GitHub's cursors are opaque strings; the fake's name the delivery id a page starts below.
CURSOR_PREFIX = "v1_"


@dataclass
class HookDelivery:
    id: int
    guid: str
    delivered_at: dt.datetime
    redelivery: bool
    duration: float
    status: str
    status_code: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    body: bytes = field(repr=False, default=b"{}")
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    response_body: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def simple(self) -> dict[str, Any]:
        """The list's item ("Simple webhook delivery")."""
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }

    def full(self, url: str) -> dict[str, Any]:
        """`GET /app/hook/deliveries/{id}` ("Webhook delivery")."""
        try:
            payload = json.loads(self.body)
        except ValueError:
            payload = None
        return {
            **self.simple(),
            "url": url,
            "request": {"headers": dict(self.headers), "payload": payload},
            "response": {"headers": {}, "payload": self.response_body},
        }


class HookLog:
    """The deliveries, oldest first, and where webhooks go. Guarded by the world's lock."""

    def __init__(self, lock: threading.RLock, next_id: Callable[[], int]) -> None:
        self._lock = lock
        self._next_id = next_id
        self.deliveries: list[HookDelivery] = []
        self.url: str | None = None
        self.failure: int | None = None  # None: deliver; 502: unreachable; else the bot's 5xx
        self.redeliveries_asked: list[int] = []
        self._sending: list[threading.Thread] = []
        self._session = requests.Session()

    # -- sending ----------------------------------------------------------------

    def send(
        self,
        event: str,
        payload: Mapping[str, Any],
        secret: str,
        *,
        guid: str | None = None,
        redelivery: bool = False,
        url: str | None = None,
    ) -> tuple[HookDelivery, requests.Response | None]:
        """POST the signed webhook to the receiver and log the attempt (the answer, or None
        when it was not reached or an outage is arranged)."""
        body, headers = signed_request(event, payload, secret, guid or str(uuid.uuid4()))
        return self._attempt(event, payload, body, headers, redelivery, url)

    def _attempt(
        self,
        event: str,
        payload: Mapping[str, Any],
        body: bytes,
        headers: dict[str, str],
        redelivery: bool,
        url: str | None,
    ) -> tuple[HookDelivery, requests.Response | None]:
        target = url or self.url
        with self._lock:
            failure = self.failure
        started = time.monotonic()
        response: requests.Response | None = None
        if failure is not None:
            status_code, status, text = failure, _status_text(failure), ""
        elif target is None:
            status_code, status, text = CONNECTION_FAILED, "failed to connect", ""
        else:
            try:
                response = self._session.post(target, data=body, headers=headers, timeout=10)
                status_code, status, text = response.status_code, response.reason, response.text
            except requests.ConnectionError:
                status_code, status, text = CONNECTION_FAILED, "failed to connect", ""
        installation = payload.get("installation")
        repository = payload.get("repository")
        with self._lock:
            delivery = HookDelivery(
                id=self._next_id(),
                guid=headers["X-GitHub-Delivery"],
                delivered_at=utcnow(),
                redelivery=redelivery,
                duration=round(time.monotonic() - started, 3),
                status=status,
                status_code=status_code,
                event=event,
                action=payload.get("action") if isinstance(payload.get("action"), str) else None,
                installation_id=installation.get("id") if isinstance(installation, dict) else None,
                repository_id=repository.get("id") if isinstance(repository, dict) else None,
                body=body,
                headers=dict(headers),
                response_body=text[:1000],
            )
            self.deliveries.append(delivery)
        return delivery, response

    def redeliver(self, delivery_id: int) -> bool:
        """Send delivery `delivery_id` again in the background, as GitHub does after its 202;
        False when there is no such delivery."""
        with self._lock:
            original = self.find(delivery_id)
            if original is None:
                return False
            self.redeliveries_asked.append(delivery_id)
        payload = json.loads(original.body)
        thread = threading.Thread(
            target=self._attempt,
            args=(original.event, payload, original.body, dict(original.headers), True, None),
            name=f"fake-github-redeliver-{delivery_id}",
            daemon=True,
        )
        with self._lock:
            self._sending.append(thread)
        thread.start()
        return True

    def wait_sent(self, timeout: float = 20.0) -> None:
        """Wait until every redelivery asked so far has been attempted."""
        with self._lock:
            threads, self._sending = self._sending, []
        for thread in threads:
            thread.join(timeout)

    # -- arranging ----------------------------------------------------------------

    def seed(
        self,
        count: int,
        *,
        start: dt.datetime,
        step: dt.timedelta,
        status_code: Callable[[int], int] = lambda i: 202,
        event: str = "check_run",
        action: str | None = "completed",
    ) -> list[HookDelivery]:
        """`count` log entries, the i-th sent at `start + i*step` with `status_code(i)`,
        without sending anything (their payloads are empty objects)."""
        out = []
        start = start.replace(microsecond=0)  # GitHub's times are whole seconds
        with self._lock:
            for i in range(count):
                code = status_code(i)
                delivery = HookDelivery(
                    id=self._next_id(),
                    guid=str(uuid.uuid4()),
                    delivered_at=start + i * step,
                    redelivery=False,
                    duration=0.01,
                    status=_status_text(code),
                    status_code=code,
                    event=event,
                    action=action,
                    installation_id=None,
                    repository_id=None,
                    headers={"X-GitHub-Event": event},
                )
                delivery.headers["X-GitHub-Delivery"] = delivery.guid
                out.append(delivery)
            self.deliveries.extend(out)
            self.deliveries.sort(key=lambda d: (d.delivered_at, d.id))
        return out

    # -- reading (the handlers) -----------------------------------------------------

    def find(self, delivery_id: int) -> HookDelivery | None:
        return next((d for d in self.deliveries if d.id == delivery_id), None)

    def page(
        self, query: dict[str, list[str]], url: str
    ) -> tuple[list[HookDelivery], str | None]:
        """One page newest first from the `cursor`, and its Link header (None: no next page)."""

        def arg(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        per_page = max(1, min(int(arg("per_page") or 30), 100))
        cursor = arg("cursor")
        newest_first = sorted(self.deliveries, key=lambda d: (d.delivered_at, d.id), reverse=True)
        wanted = arg("status")
        if wanted == "success":
            newest_first = [d for d in newest_first if 200 <= d.status_code < 400]
        elif wanted == "failure":
            newest_first = [d for d in newest_first if 400 <= d.status_code < 600]
        start = 0
        if cursor:
            below = int(cursor.removeprefix(CURSOR_PREFIX))
            start = next(
                (i for i, d in enumerate(newest_first) if d.id == below), len(newest_first)
            ) + 1
        chosen = newest_first[start : start + per_page]
        if start + per_page >= len(newest_first) or not chosen:
            return chosen, None
        params = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs]
        params.append(("cursor", f"{CURSOR_PREFIX}{chosen[-1].id}"))
        return chosen, f'<{url}?{urllib.parse.urlencode(params)}>; rel="next"'


def _status_text(code: int) -> str:
    if code == CONNECTION_FAILED:
        return "failed to connect"
    if 200 <= code < 300:
        return "OK"
    return f"Invalid HTTP Response: {code}"
