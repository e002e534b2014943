"""What the webhook routing drops from the caches when GitHub says something changed.

Each function names the event it is for and takes the caller's open
`Connection` and the event's facts; none talks to GitHub and none opens a
transaction, so everything one delivery causes — the delivery record, the
dirty marks, these drops — commits or rolls back together, and the
evaluation the event wakes up reads fresh data.

| event                                   | function              | drops                        |
|-----------------------------------------|-----------------------|------------------------------|
| `push`                                  | `on_push`             | policy files and CODEOWNERS  |
|                                         |                       | cached for the pushed branch |
| `member`                                | `on_member`           | the person's permission      |
| `membership`                            | `on_membership`       | team membership, permissions |
| `team`                                  | `on_team`             | the team, org permissions    |
| `organization` (member_added/removed)   | `on_organization`     | the person's facts in the org|
| `status` under the bot's context by     | `on_foreign_status`   | the record of what was posted|
| another account                         |                       |                              |

Each returns how many cached answers it dropped.
"""

from __future__ import annotations

from sqlalchemy import Connection

from bot.store import directory_cache, evaluations, forge_files

PROVIDER = "github"


def on_push(conn: Connection, repo: str, ref: str, default_branch: str | None = None) -> int:
    """A push to `ref` (`refs/heads/<branch>` or a branch name) of `repo`.

    When the branch is `default_branch`, the files read without a ref (the
    owner's `.github` fallback, remote policies) go too.
    """
    branch = ref.removeprefix("refs/heads/")
    return forge_files.invalidate_ref(
        conn, PROVIDER, repo, branch, default_branch=branch == default_branch
    )


def on_member(conn: Connection, repo: str, login: str) -> int:
    return directory_cache.drop_collaborator(conn, PROVIDER, repo, login)


def on_membership(conn: Connection, org: str, team_slug: str, login: str) -> int:
    return directory_cache.drop_team_member(conn, PROVIDER, f"{org}/{team_slug}", login)


def on_team(conn: Connection, org: str, team_slug: str) -> int:
    return directory_cache.drop_team(conn, PROVIDER, f"{org}/{team_slug}")


def on_organization(conn: Connection, org: str, login: str) -> int:
    return directory_cache.drop_org_member(conn, PROVIDER, org, login)


def on_foreign_status(conn: Connection, repo: str, sha: str, context: str) -> int:
    return evaluations.forget(conn, PROVIDER, repo, sha, context)
