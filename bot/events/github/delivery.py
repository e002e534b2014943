"""One verified GitHub delivery, as the handlers see it.

Built from a parsed delivery by `bot.events.github.delivery_of`; the App's
slug is filled in only for events whose handlers are registered
`needs_slug` (the ingestion looks it up in the store).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.events.payload import get


@dataclass(frozen=True)
class Delivery:
    """One verified GitHub delivery, as the handlers see it."""

    event: str
    action: str | None
    payload: dict[str, Any]
    repo: str | None  # `repository.full_name`
    installation_id: int | None
    sender: str | None  # `sender.login`: who acted
    app_id: int | None  # the configured GITHUB_APP_ID
    app_slug: str | None = None  # the App's slug, for events registered `needs_slug`

    def get(self, *path: str) -> Any:
        return get(self.payload, *path)

    @property
    def bot_login(self) -> str | None:
        """The account the App writes as, if its slug is known."""
        return f"{self.app_slug}[bot]" if self.app_slug else None

    def is_own_app(self, app: Any) -> bool:
        """Whether an `app` object of the payload is the configured App."""
        app_id = get(app, "id")
        return self.app_id is not None and isinstance(app_id, int) and app_id == self.app_id
