"""Which `remote:` pointers may be followed, and how a remote file's problems are told.

A `remote: owner/repo[/path][@ref]` line is written by whoever can push to
the repository holding it, while the bot reads with the installation's (or
token's) access, which may reach other tenants' repositories. So a pointer
is followed only to a repository under the same owner — the GitHub user or
organisation, the GitLab top-level group — or to one the operator allows
(`GATEBOT_REMOTE_POLICY_ALLOW`: owners, groups or repositories). And since the
remote's content belongs to someone else, a problem in it is reported by
its code and position only, never by the loader's sentence, which may quote
the file (a value, a key, a did-you-mean).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.policy.problems import CODES, Problem


def owner_of(repo: str) -> str:
    """The first segment of `owner/repo` (GitLab: the top-level group), lower-case."""
    return repo.split("/", 1)[0].lower()


def remote_allowed(repo: str, remote: str, allow: Iterable[str]) -> bool:
    """Whether a pointer in `repo` may be followed to repository `remote`.

    `allow` entries name an owner or group (`acme`, `acme/platform`) — every
    repository under it — or one repository (`acme/policies`); compared
    without regard to case, as the forges compare names.
    """
    target = remote.strip("/").lower()
    if owner_of(target) == owner_of(repo):
        return True
    for entry in allow:
        entry = entry.strip().strip("/").lower()
        if entry and (target == entry or target.startswith(entry + "/")):
            return True
    return False


def refused_message(remote_location: str, repo: str) -> str:
    """The sentence for a pointer the bot will not follow."""
    return (
        f"remote policy {remote_location} refused: it is not under {owner_of(repo)}; only "
        "the same owner or the operator's GATEBOT_REMOTE_POLICY_ALLOW may be named"
    )


def without_content(problem: Problem, location: str) -> Problem:
    """`problem` of the remote policy at `location`, told by its code and position only."""
    meaning = CODES.get(problem.code, "the file cannot be used")
    message = (
        f"the remote policy {location} is invalid ({problem.code}: {meaning}); "
        "validate it in its own repository"
    )
    return Problem(
        problem.code, message, problem.file, problem.line, problem.column, problem.severity
    )
