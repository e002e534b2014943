"""Readers of the GitHub payload shapes several handlers share.

Each returns None (or an empty tuple) for a shape it does not recognise:
a surprising payload is skipped with a reason, never an exception.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.events.effects import RememberPull
from bot.events.payload import get, positive_int, sha, text, utc_time

CLOSED = "closed"


def fold(login: str) -> str:
    """Logins compare case-insensitively on GitHub."""
    return login.casefold()


def forge_time(value: Any) -> datetime | None:
    """A GitHub ISO 8601 time (`2019-05-15T15:20:33Z`) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    return utc_time(value.replace("Z", "+00:00"))


def branch(ref: Any) -> str | None:
    """`refs/heads/main` or `main` → `main`; a tag or anything else → None."""
    name = text(ref)
    if name is None or name.startswith("refs/tags/"):
        return None
    name = name.removeprefix("refs/heads/")
    return None if name.startswith("refs/") else name


def pull(repo: str | None, obj: Any) -> RememberPull | None:
    """What a `pull_request` object says of its PR (None without the essentials)."""
    return RememberPull.of(
        repo,
        positive_int(get(obj, "number")),
        text(get(obj, "base", "ref")),
        sha(get(obj, "head", "sha")),
        closed=get(obj, "state") == CLOSED,
        updated_at=forge_time(get(obj, "updated_at")),
    )


def pull_numbers(payload: dict[str, Any], entries: Any) -> tuple[int, ...]:
    """Numbers of the PRs in a `pull_requests` list that belong to the event's repository.

    Check runs, suites and workflow runs list PRs by head; a PR whose base
    is another repository (a fork's run seen from the fork) is not ours.
    """
    if not isinstance(entries, list):
        return ()
    repo_id = get(payload, "repository", "id")
    found: set[int] = set()
    for entry in entries:
        number = positive_int(get(entry, "number"))
        base_repo_id = get(entry, "base", "repo", "id")
        if number is None:
            continue
        if isinstance(repo_id, int) and isinstance(base_repo_id, int) and base_repo_id != repo_id:
            continue
        found.add(number)
    return tuple(sorted(found))


def login(obj: Any) -> str | None:
    return text(get(obj, "login"))
