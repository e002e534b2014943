"""The forges gatebot knows, in one table (`FORGES`).

Each entry (`ForgeKind`) says what the rest of the bot needs to know of a
forge before it holds a client for it: the provider name its work keys carry
(`github`), how people name it, how to tell from the settings that it is
configured, the policy files a branch of its repositories may hold, where
people see its pull requests and files (link shapes), and the builder of its
worker pipeline (`module:function`, called with the settings,
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
    web_root: Callable[[Settings], str]
    """The forge's web address from the settings (`https://github.com`)."""
    pull_page: str
    """A pull request's page under `web_root`: `{repo}` and `{number}` filled in."""
    file_page: str
    """A file at a commit under `web_root`: `{repo}`, `{commit}` and `{path}` filled in."""

    def pull_url(self, settings: Settings, repo: str, number: int) -> str:
        """Where people open pull request `number` of `repo`."""
        return f"{self.web_root(settings)}/" + self.pull_page.format(repo=repo, number=number)

    def file_url(self, settings: Settings, repo: str, commit: str, path: str) -> str:
        """Where people read `path` of `repo` as it was at `commit`."""
        return f"{self.web_root(settings)}/" + self.file_page.format(
            repo=repo, commit=commit, path=path
        )


def github_web_root(api_url: str) -> str:
    """GitHub's web address for an API address (github.com or a GitHub Enterprise server)."""
    root = api_url.rstrip("/")
    if root.endswith("/api/v3"):
        return root[: -len("/api/v3")]
    return root.replace("://api.", "://", 1)


GITHUB = ForgeKind(
    provider="github",
    name="GitHub",
    configured=lambda settings: settings.github_app_id is not None,
    policy_paths=(".github/gatebot.yml", ".gatebot.yml"),
    codeowners_paths=(".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"),
    pipeline="bot.pipeline.github:github_pipeline",
    web_root=lambda settings: github_web_root(settings.github_api_url),
    pull_page="{repo}/pull/{number}",
    file_page="{repo}/blob/{commit}/{path}",
)

GITLAB = ForgeKind(
    provider="gitlab",
    name="GitLab",
    configured=lambda settings: settings.gitlab_token is not None,
    policy_paths=(".gitlab/gatebot.yml", ".gatebot.yml"),
    codeowners_paths=("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"),
    pipeline="bot.pipeline.gitlab:gitlab_pipeline",
    web_root=lambda settings: settings.gitlab_url.rstrip("/"),
    pull_page="{repo}/-/merge_requests/{number}",
    file_page="{repo}/-/blob/{commit}/{path}",
)

FORGES: tuple[ForgeKind, ...] = (GITHUB, GITLAB)


def forge_of(provider: str) -> ForgeKind | None:
    """The forge whose work keys carry `provider`, if gatebot knows it."""
    return next((kind for kind in FORGES if kind.provider == provider), None)
