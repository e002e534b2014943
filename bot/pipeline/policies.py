"""Which policies judge a PR, and whether the PR's own edit of its policy file is valid.

Pure functions over what the forge adapter read (`PolicySources`, the
snapshot's changed files, the text of a file at the PR head): no I/O.

- `governing(...)` turns the base branch's policy text into a `Governing`:
  the repository's policy (or the loader's problems, which make the gate an
  `error` naming file and line — for a remote file, by code and position
  only, since its text belongs to another repository), and the operator's
  floor. Deploy targets
  are checked against the operator's names and allow-lists here, since the
  adapter's fallback walk does not know them.
- `changed_policy_paths(...)` names the policy files a PR edits that would
  govern once it is merged: the file that was loaded (or the pointer that
  led to it), or a repository policy file the PR creates that takes
  precedence over what governs now.
- `changed_policy_problems(...)` validates the PR head's version of such a
  file the way it would be loaded after the merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.gate import PolicyFile
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.problems import Problem
from bot.core.policy.remotes import without_content
from bot.core.policy.yamlsource import YamlProblem, parse_yaml, too_large
from bot.core.snapshot import ChangedFile
from bot.providers.base import PolicySources, PolicyText


@dataclass(frozen=True)
class Governing:
    """The policies a PR is judged by."""

    policy: Policy | None
    """The repository's policy (from the base branch, or a fallback), if usable."""
    problems: tuple[Problem, ...]
    """Why the repository's policy cannot be used (then `policy` is None)."""
    floor: Policy | None
    """The operator's required policy."""
    source: PolicyText | None
    """Where the repository's policy came from."""

    @property
    def silent(self) -> bool:
        """No policy of any kind applies: the bot posts nothing."""
        return self.policy is None and not self.problems and self.floor is None


def policy_file(repo: str, source: PolicyText | None) -> PolicyFile | None:
    """The repository's own policy file at the base commit it was read at, if it governs."""
    if source is None or source.origin != "repository" or source.commit is None:
        return None
    return PolicyFile(repo, source.filename, source.commit)


def governing(
    sources: PolicySources,
    floor: Policy | None,
    *,
    repo: str,
    deploy_targets: Mapping[str, Sequence[str]],
) -> Governing:
    """The repository's policy as loaded from `sources`, beside the operator's floor."""
    if sources.error is not None:
        problem = _source_problem(sources)
        return Governing(None, (problem,), floor, sources.policy or sources.pointer)
    if sources.policy is None:
        return Governing(None, (), floor, None)
    text = sources.policy
    loaded = load_policy_file(
        text.text, text.filename, deploy_targets=deploy_targets, repo=repo
    )
    if loaded.policy is None and text.origin == "remote":
        problems = tuple(without_content(p, text.location) for p in loaded.errors) or (
            Problem(
                "invalid-value",
                "a `remote:` pointer may not lead to another pointer",
                text.filename,
                1,
                1,
            ),
        )
        return Governing(None, problems, floor, text)
    if loaded.policy is None:
        problems = loaded.errors or (
            Problem(
                "invalid-value",
                "a `remote:` pointer may not lead to another pointer",
                text.filename,
                1,
                1,
            ),
        )
        return Governing(None, problems, floor, text)
    return Governing(loaded.policy, (), floor, text)


def _source_problem(sources: PolicySources) -> Problem:
    """The adapter's sentence about an unreadable remote, at the pointer's `remote:` line."""
    pointer = sources.pointer
    filename = pointer.filename if pointer is not None else (sources.error_file or "policy")
    line, column = _remote_line(pointer.text) if pointer is not None else (1, 1)
    return Problem("invalid-value", sources.error or "", filename, line, column)


def _remote_line(text: str) -> tuple[int, int]:
    try:
        mark = parse_yaml(text).value_mark(("remote",))
    except YamlProblem:
        # The adapter parsed the pointer already; should it not parse now, the
        # top of the file is as precise as anything.
        return 1, 1
    return mark.line, mark.column


def changed_policy_paths(
    files: Sequence[ChangedFile], source: PolicyText | None, pointer: PolicyText | None,
    repository_paths: Sequence[str], *, truncated: bool = False,
) -> tuple[str, ...]:
    """The policy files this PR adds or modifies that would govern after the merge.

    `repository_paths` are the forge's repository policy locations in the
    order they are looked up (`.github/gatebot.yml`, `.gatebot.yml`).
    Removing a policy file is not validated: the fallbacks then apply. When
    the forge cut the file list (`truncated`), every such location is
    checked at the PR head: a file that did not change validates as it
    does on the base branch.
    """
    loaded_from_repo = next(
        (t.filename for t in (pointer, source) if t is not None and t.origin == "repository"),
        None,
    )
    if loaded_from_repo is not None and loaded_from_repo in repository_paths:
        # Files looked up after the one that governs are shadowed by it.
        relevant = repository_paths[: repository_paths.index(loaded_from_repo) + 1]
    else:
        relevant = tuple(repository_paths)
    if truncated:
        return tuple(relevant)
    changed = {f.path for f in files if f.status != "removed"}
    return tuple(path for path in relevant if path in changed)


def too_large_problem(path: str, size: int) -> tuple[Problem, ...]:
    """The error of a changed policy file too large to be read at all."""
    return (Problem("yaml-too-large", too_large(size), path, 1, 1),)


def changed_policy_problems(
    text: str | None,
    path: str,
    *,
    repo: str,
    deploy_targets: Mapping[str, Sequence[str]],
) -> tuple[Problem, ...]:
    """The errors of the PR head's version of policy file `path` (none when it is valid).

    A file missing at the head although the PR lists it (a race with a push)
    is not judged here: the next evaluation sees the new head.
    """
    if text is None:
        return ()
    loaded = load_policy_file(text, path, deploy_targets=deploy_targets, repo=repo)
    return loaded.errors
