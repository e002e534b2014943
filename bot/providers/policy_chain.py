"""The forge-neutral part of finding a PR's policy: first file found, the operator's
default, and `remote:` pointers followed one level deep.

Each forge knows where its files live (GitHub: `.github/gatebot.yml`, the
owner's `.github` repository; GitLab: `.gitlab/gatebot.yml`) and how a
`remote:` line names a repository and a path; this module only walks what it
is given, through a `FileReader` — the forge's cached file reads — so the
rules that follow are the same on every forge:

- the first of the repository's policy paths found at the base branch wins,
  read at `refs/heads/<base>` so a tag of the same name never answers for
  the branch;
- a file holding only `remote: ...` is followed once, and only to a
  repository under the same owner or one the operator allows
  (`bot.core.policy.remotes`); a refused or missing remote, or a remote that
  is itself a pointer, is an error the gate reports, never quoting the
  remote file;
- a file too large to be read (`FileTooLarge`) is an error naming it;
- with no file anywhere, the operator's default policy applies (itself
  allowed to be a pointer, to anywhere: the operator wrote it), else there
  is no repository policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from bot.core.policy.loader import load_policy_file
from bot.core.policy.remotes import climbing_message, refused_message, remote_allowed, stays_inside
from bot.core.policy.yamlsource import too_large
from bot.providers.base import FileTooLarge, PolicySources, PolicyText

RemoteParser = Callable[[str], tuple[str, str, str | None]]
"""A `remote:` value → (repository, path, ref or None: the default branch)."""


class FileReader(Protocol):
    """Reads one file of a repository at a ref (None: the default branch); None if missing."""

    def read(self, repo: str, path: str, ref: str | None) -> str | None: ...


def branch_ref(branch: str) -> str:
    """The fully qualified name of branch `branch`: bare names let a tag answer first."""
    return f"refs/heads/{branch}"


def first_file(files: FileReader, repo: str, paths: Iterable[str], ref: str) -> tuple[str, str] | None:
    """(path, text) of the first of `paths` present in `repo` at `ref`, if any."""
    for path in paths:
        text = files.read(repo, path, ref)
        if text is not None:
            return path, text
    return None


def repository_policy(
    files: FileReader, repo: str, paths: Iterable[str], base_ref: str
) -> PolicyText | None:
    """The repository's own policy file at the head of branch `base_ref`, if it has one."""
    found = first_file(files, repo, paths, branch_ref(base_ref))
    if found is None:
        return None
    path, text = found
    return PolicyText("repository", f"{repo}:{path}@{base_ref}", path, text)


def at_commit(sources: PolicySources, commit: str | None) -> PolicySources:
    """`sources` with the base branch's commit on the repository's own policy file."""
    policy = sources.policy
    if commit is None or policy is None or policy.origin != "repository":
        return sources
    return dataclasses.replace(sources, policy=dataclasses.replace(policy, commit=commit))


def operator_policy(operator_default: Path | None) -> PolicyText | None:
    """The operator's default policy file (`GATEBOT_DEFAULT_POLICY`), if set."""
    if operator_default is None:
        return None
    text = operator_default.read_text(encoding="utf-8")
    return PolicyText("operator", str(operator_default), operator_default.name, text)


def follow(
    files: FileReader,
    found: PolicyText,
    parse_remote: RemoteParser,
    repo: str,
    allow: Iterable[str] = (),
) -> PolicySources:
    """`found` itself, or the remote policy it points to (one level deep).

    `repo` is the repository whose PR is judged; `allow` the operator's
    allow-list of remote owners and repositories.
    """
    loaded = load_policy_file(found.text, found.filename)
    if loaded.remote is None:
        return PolicySources(policy=found)
    remote_repo, path, ref = parse_remote(loaded.remote.remote)
    location = f"{remote_repo}:{path}" + (f"@{ref}" if ref else "")
    if not stays_inside(remote_repo, path):
        return PolicySources(
            policy=None,
            pointer=found,
            error=climbing_message(location),
            error_file=found.filename,
        )
    if found.origin != "operator" and not remote_allowed(repo, remote_repo, allow):
        # Refused before any read: not even whether the file exists is told.
        return PolicySources(
            policy=None,
            pointer=found,
            error=refused_message(location, repo),
            error_file=found.filename,
        )
    try:
        text = files.read(remote_repo, path, ref)
    except FileTooLarge as exc:
        return PolicySources(
            policy=None,
            pointer=found,
            error=f"the remote policy {location} cannot be used: {too_large(exc.size)}",
            error_file=found.filename,
        )
    if text is None:
        return PolicySources(
            policy=None,
            pointer=found,
            error=f"the remote policy {location} named in {found.location} does not exist",
            error_file=found.filename,
        )
    remote = PolicyText("remote", location, f"{remote_repo}/{path}", text)
    if load_policy_file(text, remote.filename).remote is not None:
        return PolicySources(
            policy=None,
            pointer=found,
            error=(
                f"the remote policy {location} named in {found.location} is itself a "
                "`remote:` pointer; remote policies are followed one level deep"
            ),
            error_file=remote.filename,
        )
    return PolicySources(policy=remote, pointer=found)


def resolve(
    files: FileReader,
    candidates: Iterable[Callable[[], PolicyText | None]],
    parse_remote: RemoteParser,
    repo: str,
    allow: Iterable[str] = (),
) -> PolicySources:
    """The first candidate that yields a file, followed; no file at all: no policy.

    Candidates are called in order and only until one is found, so a warm
    repository file never costs a look at the fallbacks. `repo` and `allow`:
    see `follow`.
    """
    for candidate in candidates:
        try:
            found = candidate()
        except FileTooLarge as exc:
            return PolicySources(
                policy=None, error=too_large(exc.size), error_file=exc.path
            )
        if found is not None:
            return follow(files, found, parse_remote, repo, allow)
    return PolicySources(policy=None)
