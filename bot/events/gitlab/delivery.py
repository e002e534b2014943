"""One verified GitLab delivery as the handlers see it.

GitLab has no App: the bot acts as the user whose token it holds. The GitLab
pipeline records that user's username in the store's `apps` table (provider
`gitlab`, id `bot.providers.gitlab.bot_account.BOT_ACCOUNT_ID`) when it first
runs; handlers registered `needs_slug` get it as `Delivery.bot_username`, and
leave everything to be someone else's while it is not known — a username is
never guessed.

`Service Hook` (integrations) and `System Hook` (instance-wide hooks) carry
several kinds of event under one header; `hook_name` reads the body's
`object_kind` to route them like the project hook of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from bot.events.payload import get, text
from bot.forges import GITLAB

PROVIDER = GITLAB.provider

HOOKS_BY_KIND = {
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "pipeline": "Pipeline Hook",
    "build": "Job Hook",
    "emoji": "Emoji Hook",
    "issue": "Issue Hook",
    "deployment": "Deployment Hook",
    "release": "Release Hook",
    "wiki_page": "Wiki Page Hook",
}
_SHARED_HEADERS = frozenset({"Service Hook", "System Hook"})


def hook_name(event: str, payload: dict[str, Any]) -> str:
    """The project hook `event` stands for: itself, or, under a shared header, the
    hook of the body's `object_kind` (the header itself when that kind is not known)."""
    if event not in _SHARED_HEADERS:
        return event
    kind = payload.get("object_kind")
    return HOOKS_BY_KIND.get(kind, event) if isinstance(kind, str) else event


def fold(username: str) -> str:
    """GitLab usernames are unique whatever their case."""
    return username.casefold()


@dataclass(frozen=True)
class Delivery:
    """One verified GitLab delivery, as the handlers see it."""

    provider: ClassVar[str] = PROVIDER

    event: str  # the `X-Gitlab-Event` hook, as `hook_name` reads it
    action: str | None  # `object_attributes.action`, where the hook has one
    payload: dict[str, Any]
    repo: str | None  # `project.path_with_namespace`
    sender: str | None  # `user.username` (`user_username` on pushes): who acted
    bot_username: str | None = None  # the bot's own, for events registered `needs_slug`

    def get(self, *path: str) -> Any:
        return get(self.payload, *path)

    def is_bot(self, user: Any) -> bool:
        """Whether a `user` object of the payload is the bot's own account.

        False while the bot's username is not known."""
        username = text(get(user, "username"))
        return (
            username is not None
            and self.bot_username is not None
            and fold(username) == fold(self.bot_username)
        )
