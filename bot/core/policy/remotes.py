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

The owner check reads the pointer's first segment, but the forge client
builds a URL from the repository AND the path, and HTTP clients resolve
`.` and `..` segments before sending: `acme/app/../../../globex/x/contents/f`
would be read as `/repos/globex/x/contents/f`. So a pointer whose repository
or path holds such a segment, an empty one, a backslash or a percent sign
(an encoded one) is refused whoever wrote it.
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


_UNSAFE_CHARACTERS = ("\\", "%", "?", "#")


def stays_inside(remote: str, path: str) -> bool:
    """Whether repository `remote` and file `path` name only themselves: no `.`, `..`
    or empty segment, no backslash, percent sign, `?` or `#` that a client or a
    server could resolve into another repository's URL."""
    for part in (remote, path):
        if any(c in part for c in _UNSAFE_CHARACTERS):
            return False
    segments = [*remote.split("/"), *path.split("/")]
    return all(s not in ("", ".", "..") for s in segments)


def climbing_message(remote_location: str) -> str:
    """The sentence for a pointer whose repository or path could name another one."""
    return (
        f"remote policy {remote_location} refused: a repository or path with `.`, `..` or "
        "empty segments, `\\`, `%`, `?` or `#` may not be named"
    )


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
