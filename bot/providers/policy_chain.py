"""The forge-neutral part of finding a PR's policy: first file found, the operator's
default, and `remote:` pointers followed one level deep.

Each forge knows where its files live (GitHub: `.github/gatebot.yml`, the
owner's `.github` repository; GitLab: `.gitlab/gatebot.yml`) and how a
`remote:` line names a repository and a path; this module only walks what it
is given, through a `FileReader` — the forge's cached file reads — so the
rules that follow are the same on every forge:

- the first of the repository's policy paths found at the base branch wins;
- a file holding only `remote: ...` is followed once; a missing remote, or a
  remote that is itself a pointer, is an error the gate reports;
- with no file anywhere, the operator's default policy applies (itself
  allowed to be a pointer), else there is no repository policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from bot.core.policy.loader import load_policy_file
from bot.providers.base import PolicySources, PolicyText

RemoteParser = Callable[[str], tuple[str, str, str | None]]
"""A `remote:` value → (repository, path, ref or None: the default branch)."""


class FileReader(Protocol):
    """Reads one file of a repository at a ref (None: the default branch); None if missing."""

    def read(self, repo: str, path: str, ref: str | None) -> str | None: ...


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
    """The repository's own policy file at the head of `base_ref`, if it has one."""
    found = first_file(files, repo, paths, base_ref)
    if found is None:
        return None
    path, text = found
    return PolicyText("repository", f"{repo}:{path}@{base_ref}", path, text)


def operator_policy(operator_default: Path | None) -> PolicyText | None:
    """The operator's default policy file (`GATEBOT_DEFAULT_POLICY`), if set."""
    if operator_default is None:
        return None
    text = operator_default.read_text(encoding="utf-8")
    return PolicyText("operator", str(operator_default), operator_default.name, text)


def follow(files: FileReader, found: PolicyText, parse_remote: RemoteParser) -> PolicySources:
    """`found` itself, or the remote policy it points to (one level deep)."""
    loaded = load_policy_file(found.text, found.filename)
    if loaded.remote is None:
        return PolicySources(policy=found)
    repo, path, ref = parse_remote(loaded.remote.remote)
    location = f"{repo}:{path}" + (f"@{ref}" if ref else "")
    text = files.read(repo, path, ref)
    if text is None:
        return PolicySources(
            policy=None,
            pointer=found,
            error=f"the remote policy {location} named in {found.location} does not exist",
            error_file=found.filename,
        )
    remote = PolicyText("remote", location, f"{repo}/{path}", text)
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
) -> PolicySources:
    """The first candidate that yields a file, followed; no file at all: no policy.

    Candidates are called in order and only until one is found, so a warm
    repository file never costs a look at the fallbacks.
    """
    for candidate in candidates:
        found = candidate()
        if found is not None:
            return follow(files, found, parse_remote)
    return PolicySources(policy=None)
