"""The bot's own GitLab webhooks: `gatebot gitlab connect` and `disconnect`.

`connect(target)` makes sure the project or group `target` (a full path or
a numeric id) has exactly one hook pointing at
`GATEBOT_PUBLIC_URL/webhooks/gitlab`, with the triggers the bot reads
(`TRIGGERS`, plus `GROUP_TRIGGERS` on a group) and a secret of its own:

- no such hook: one is created with a fresh random token (32 bytes), and
  the store keeps the token's SHA-256 (`bot.store.gitlab_hooks`);
- the hook exists and the store knows it: its triggers are corrected if
  they differ, else nothing is written (`unchanged`); the token is kept;
- the hook exists but the store does not know its token (a new database),
  or `rotate` is asked: a fresh token is set on it.

The token goes from the bot to GitLab only: it is never printed, logged or
returned (GitLab never returns it either). A path is resolved through the
API, so the store records the project's or group's id and its path as
GitLab says them, whatever the user typed. `disconnect` deletes the hook
and the stored row; from then on deliveries for that project are refused.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.providers.counting import RequestTally
from bot.providers.gitlab.client import ClientConfig, GitLabClient, GitLabError, encoded, token_of
from bot.retry import RetryPolicies
from bot.settings import ConfigurationError, Settings
from bot.store import Store, gitlab_hooks, utcnow

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/gitlab"

TRIGGERS: Mapping[str, bool] = {
    "push_events": True,
    "merge_requests_events": True,
    "note_events": True,
    "pipeline_events": True,
    "job_events": True,
    "emoji_events": True,
    "tag_push_events": False,
    "issues_events": False,
    "confidential_issues_events": False,
    "confidential_note_events": False,
    "wiki_page_events": False,
    "deployment_events": False,
    "releases_events": False,
    "enable_ssl_verification": True,
}
"""What a project hook is set to: the events the routing reads (`bot.events.gitlab`),
and none of those it ignores (internal notes are never answered: a reply is public)."""

GROUP_TRIGGERS: Mapping[str, bool] = {**TRIGGERS, "member_events": True, "subgroup_events": False}
"""A group hook also reports memberships, which the directory cache follows."""

Outcome = Literal["created", "updated", "rotated", "unchanged", "removed", "absent"]


@dataclass(frozen=True)
class Target:
    """A project or group as the API names it."""

    kind: str  # gitlab_hooks.PROJECT | gitlab_hooks.GROUP
    id: int
    path: str

    @property
    def api(self) -> str:
        return f"/{self.kind}s/{self.id}/hooks"

    @property
    def triggers(self) -> Mapping[str, bool]:
        return GROUP_TRIGGERS if self.kind == gitlab_hooks.GROUP else TRIGGERS

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


@dataclass(frozen=True)
class HookChange:
    target: Target
    outcome: Outcome
    hook_id: int | None
    url: str

    def sentence(self) -> str:
        """What was done, for people (never the secret)."""
        what = {
            "created": "created the webhook",
            "updated": "updated the webhook's triggers",
            "rotated": "set a new secret on the webhook",
            "unchanged": "the webhook is already as it should be",
            "removed": "removed the webhook",
            "absent": "there was no webhook to remove",
        }[self.outcome]
        hook = f" (hook {self.hook_id})" if self.hook_id is not None else ""
        return f"{self.target}: {what}{hook} -> {self.url}"


class HookManager:
    """Connects and disconnects projects and groups through one GitLab token."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        retries: RetryPolicies | None = None,
        clock: Callable[[], datetime] = utcnow,
        new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        if not settings.public_url:
            raise ConfigurationError(
                "GATEBOT_PUBLIC_URL is missing: the webhook must point at this service."
            )
        self.url = settings.public_url.rstrip("/") + WEBHOOK_PATH
        self.store = store
        self.clock = clock
        self.new_secret = new_secret
        self.retries = retries or RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
        self.tally = RequestTally()
        self.client = GitLabClient(ClientConfig.from_settings(settings), token_of(settings), self.tally)

    # -- reads ---------------------------------------------------------------

    def _get(self, path: str) -> Any:
        return self.retries.read.call(lambda: self.client.json("get", path), what=f"GET {path}")

    def resolve(self, name: str) -> Target:
        """The project, else the group, `name` (a full path or an id) is; LookupError if neither."""
        for kind in (gitlab_hooks.PROJECT, gitlab_hooks.GROUP):
            try:
                found = self._get(f"/{kind}s/{encoded(name.strip('/'))}")
            except GitLabError as exc:
                if exc.status == 404:
                    continue
                raise
            path = found.get("path_with_namespace") or found.get("full_path")
            return Target(kind, int(found["id"]), str(path))
        raise LookupError(f"{name}: no project or group of that path the token can see")

    def _ours(self, target: Target) -> dict[str, Any] | None:
        """The target's hook pointing at this service, if there is one."""
        listed = self.client.pages(target.api, self.retries.read, f"GET {target.kind} hooks")
        mine = [h for h in listed if str(h.get("url") or "").rstrip("/") == self.url]
        if len(mine) > 1:
            # Two hooks would deliver everything twice; keep the oldest.
            log.warning("%s has %d webhooks pointing at %s", target, len(mine), self.url)
        return min(mine, key=lambda h: int(h["id"])) if mine else None

    # -- writes --------------------------------------------------------------

    def connect(self, name: str, *, rotate: bool = False) -> HookChange:
        target = self.resolve(name)
        hook = self._ours(target)
        with self.store.begin() as conn:
            known = gitlab_hooks.find(conn, target.kind, target.id)
        wanted = dict(target.triggers)
        if hook is None:
            secret = self.new_secret()
            body = {"url": self.url, "token": secret, **wanted}
            created = self.retries.unsafe_write.call(
                lambda: self.client.json("post", target.api, body=body), what="POST hook"
            )
            return self._remember(target, int(created["id"]), secret, "created")
        hook_id = int(hook["id"])
        stale = {k: v for k, v in wanted.items() if hook.get(k) is not v}
        needs_secret = rotate or known is None or known.hook_id != hook_id
        if not stale and not needs_secret:
            if known is not None and known.path != target.path.lower():
                self._remember(target, hook_id, None, "unchanged")  # renamed: new path
            return HookChange(target, "unchanged", hook_id, self.url)
        secret = self.new_secret() if needs_secret else None
        body = {"url": self.url, **wanted, **({"token": secret} if secret else {})}
        self.retries.idempotent_write.call(
            lambda: self.client.json("put", f"{target.api}/{hook_id}", body=body), what="PUT hook"
        )
        return self._remember(target, hook_id, secret, "rotated" if secret else "updated")

    def _remember(
        self, target: Target, hook_id: int, secret: str | None, outcome: Outcome
    ) -> HookChange:
        with self.store.begin() as conn:
            gitlab_hooks.record(
                conn, target.kind, target.id, target.path, hook_id, secret=secret, now=self.clock()
            )
        return HookChange(target, outcome, hook_id, self.url)

    def disconnect(self, name: str) -> HookChange:
        target = self.resolve(name)
        hook = self._ours(target)
        hook_id = int(hook["id"]) if hook is not None else None
        if hook_id is not None:
            try:
                self.retries.idempotent_write.call(
                    lambda: self.client.request("delete", f"{target.api}/{hook_id}"),
                    what="DELETE hook",
                )
            except GitLabError as exc:
                if exc.status != 404:  # already gone is what was asked
                    raise
        with self.store.begin() as conn:
            forgot = gitlab_hooks.forget(conn, target.kind, target.id)
        outcome: Outcome = "removed" if hook_id is not None or forgot else "absent"
        return HookChange(target, outcome, hook_id, self.url)
