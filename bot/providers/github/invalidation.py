"""What the webhook routing drops from the caches when GitHub says something changed.

Each function names the event it is for and takes the store and the event's
facts; none talks to GitHub. The routing calls them in the same request that
records the delivery, so the evaluation the event wakes up reads fresh data.

| event                                   | function              | drops                        |
|-----------------------------------------|-----------------------|------------------------------|
| `push`                                  | `on_push`             | policy files and CODEOWNERS  |
|                                         |                       | cached for the pushed branch |
| `member`                                | `on_member`           | the person's permission      |
| `membership`                            | `on_membership`       | team membership, permissions |
| `team`                                  | `on_team`             | the team, org permissions    |
| `organization` (member_added/removed)   | `on_organization`     | the person's facts in the org|
| `pull_request_review`, `issue_comment`, | `on_pull_changed`     | the PR's stored parts        |
| `pull_request` (edited, labeled, ...)   |                       |                              |
| `status` under the bot's context by     | `on_foreign_status`   | the record of what was posted|
| another account                         |                       |                              |
"""

from __future__ import annotations

from bot.providers.github import directory
from bot.providers.github.policy_source import invalidate_push
from bot.store import Store, evaluations, pull_parts

PROVIDER = "github"


def on_push(store: Store, repo: str, ref: str, default_branch: str | None = None) -> int:
    """A push to `ref` (`refs/heads/<branch>` or a branch name) of `repo`."""
    branch = ref.removeprefix("refs/heads/")
    return invalidate_push(store, repo, branch, default_branch=branch == default_branch)


def on_member(store: Store, repo: str, login: str) -> int:
    return directory.forget_collaborator(store, repo, login)


def on_membership(store: Store, org: str, team_slug: str, login: str) -> int:
    return directory.forget_team_member(store, f"{org}/{team_slug}", login)


def on_team(store: Store, org: str, team_slug: str) -> int:
    return directory.forget_team(store, f"{org}/{team_slug}")


def on_organization(store: Store, org: str, login: str) -> int:
    return directory.forget_org_member(store, org, login)


def on_pull_changed(store: Store, repo: str, number: int) -> int:
    with store.begin() as conn:
        return pull_parts.invalidate(conn, PROVIDER, repo, number)


def on_foreign_status(store: Store, repo: str, sha: str, context: str) -> int:
    with store.begin() as conn:
        return evaluations.forget(conn, PROVIDER, repo, sha, context)
