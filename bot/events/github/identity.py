"""The App's own slug, learnt from any event that carries the App's id next to it.

The settings give the App's id (`GITHUB_APP_ID`), not its slug, and no
forge call is made while a webhook waits; yet statuses are recognised by
their writer, `<slug>[bot]`. Events that name the App do so with both:
`installation.app_id` + `installation.app_slug` (installation events),
`check_run.app` and `check_suite.app` (`id`, `slug`) — and the bot's own
check runs bring one with every evaluation. Whatever the event, the slug
seen next to the configured id is remembered (see `bot/store/apps.py`).
"""

from __future__ import annotations

from bot.events.effects import RememberAppSlug
from bot.events.github.delivery import Delivery
from bot.events.payload import get, text


def learnt_slug(d: Delivery) -> RememberAppSlug | None:
    """The configured App's slug as this delivery shows it, if it does."""
    if d.app_id is None:
        return None
    for app in (d.get("check_run", "app"), d.get("check_suite", "app")):
        slug = text(get(app, "slug"))
        if slug is not None and d.is_own_app(app):
            return RememberAppSlug(d.app_id, slug)
    inst = d.get("installation")
    slug = text(get(inst, "app_slug"))
    if slug is not None and get(inst, "app_id") == d.app_id:
        return RememberAppSlug(d.app_id, slug)
    return None
