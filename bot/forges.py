"""The forges gatebot knows, in one table (`FORGES`).

Each entry (`ForgeKind`) says what the rest of the bot needs to know of a
forge before it holds a client for it: the provider name its work keys carry
(`github`), how people name it, how to tell from the settings that it is
configured, the policy files a branch of its repositories may hold, and the
builder of its worker pipeline (`module:function`, called with the settings,
the store and the operator's files; it builds the forge, which is shared by
every evaluation). The settings (`Settings.configured_forges`), the worker's
pipeline of every configured forge (`bot.pipeline.forges`) and the adapters'
policy readers read it; a third forge is one more entry here, a package under
`bot/providers/` that passes the forge contract suite, and its pipeline.

This module imports nothing of the bot: the settings read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass(frozen=True)
class ForgeKind:
    """One forge the bot can serve."""

    provider: str
    """The provider its work keys and records carry (`PullKey.provider`)."""
    name: str
    """As people name it (`GitHub`)."""
    configured: Callable[[Settings], bool]
    """Whether the settings configure it (its credentials are there)."""
    policy_paths: tuple[str, ...]
    """The policy files a branch may hold, in the order they are looked for."""
    codeowners_paths: tuple[str, ...]
    """Where the forge looks for a branch's CODEOWNERS file, in its order."""
    pipeline: str
    """`module:function` building its forge and its worker pipeline."""


GITHUB = ForgeKind(
    provider="github",
    name="GitHub",
    configured=lambda settings: settings.github_app_id is not None,
    policy_paths=(".github/gatebot.yml", ".gatebot.yml"),
    codeowners_paths=(".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"),
    pipeline="bot.pipeline.github:github_pipeline",
)

GITLAB = ForgeKind(
    provider="gitlab",
    name="GitLab",
    configured=lambda settings: settings.gitlab_token is not None,
    policy_paths=(".gitlab/gatebot.yml", ".gatebot.yml"),
    codeowners_paths=("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"),
    pipeline="bot.pipeline.gitlab:gitlab_pipeline",
)

FORGES: tuple[ForgeKind, ...] = (GITHUB, GITLAB)
