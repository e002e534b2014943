"""`push`: a base branch whose policy file or CODEOWNERS changed.

Pushes to PR head branches need nothing here: `pull_request.synchronize`
marks the PR, and the delivery itself records the pushed head's push time
and pusher. A push to a branch matters when its commits touch a policy file
(`.github/gatebot.yml`, `.gatebot.yml`) or CODEOWNERS (`.github/`, root,
`docs/`): the files cached for that branch are dropped and every open PR
into it is marked. The commits' `added` / `modified` / `removed` lists say
which paths changed; when they cannot be trusted to be complete — no list,
a list at GitHub's cap, a forced push (rewound commits are not listed), or
an update listing no commit — the push is assumed to touch them.

The owner's `.github` repository holds the fallback policy (`gatebot.yml`)
of every repository of that owner that has none of its own: a push to its
default branch touching it drops the cached fallback and marks the owner's
open PRs whose base branch is not known (from the file cache) to hold a
policy of its own.

A policy file pointing elsewhere (`remote: owner/repo/path@ref`) is read
through the same cache under the remote repository's name: a push there
touching the default path drops it too; a custom remote path is refreshed by
the cache's TTL.
"""

from __future__ import annotations

from typing import Any

from bot.events.effects import DropBranchFiles, Effect, MarkBase, MarkOwner
from bot.events.github.delivery import Delivery
from bot.events.payload import listed_paths, sha, text
from bot.events.router import Routed, Router, do, ignore
from bot.forges import GITHUB
from bot.providers.github.policy_source import OWNER_POLICY_PATH, OWNER_REPOSITORY

router = Router()

_ZERO_SHA = "0" * 40
# GitHub lists at most this many commits in a push webhook.
MAX_LISTED_COMMITS = 2048
BRANCH_FILES = frozenset(GITHUB.policy_paths + GITHUB.codeowners_paths)


def changed_paths(payload: dict[str, Any]) -> frozenset[str] | None:
    """Every path the push's commits added, modified or removed; None if not knowable."""
    commits = payload.get("commits")
    if not isinstance(commits, list) or payload.get("forced") is True:
        return None
    if not commits or len(commits) >= MAX_LISTED_COMMITS:
        return None
    return listed_paths(commits)


def _touches(paths: frozenset[str] | None, wanted: frozenset[str]) -> bool:
    return paths is None or not paths.isdisjoint(wanted)


@router.register("push")
def push(d: Delivery) -> Routed:
    ref = text(d.get("ref")) or ""
    if d.repo is None or not ref.startswith("refs/heads/"):
        return ignore("a tag push: PRs are judged against branches")
    name = ref.removeprefix("refs/heads/")
    after = sha(d.get("after"))
    if d.get("deleted") is True or after is None or after == _ZERO_SHA:
        return ignore("a deleted branch: GitHub closes its PRs, which pull_request.closed reports")
    default = text(d.get("repository", "default_branch"))
    paths = changed_paths(d.payload)
    owner, _, repo_name = d.repo.partition("/")
    effects: list[Effect] = []
    notes: list[str] = []
    owner_fallback = repo_name.lower() == OWNER_REPOSITORY and name == default
    if owner_fallback and _touches(paths, frozenset({OWNER_POLICY_PATH})):
        effects.append(MarkOwner(owner, without_own_policy=True))
        notes.append(f"{owner}'s fallback policy may have changed")
    if _touches(paths, BRANCH_FILES):
        effects.append(MarkBase(d.repo, name))
        notes.append(f"the policy or CODEOWNERS of {name} may have changed")
    if not effects:
        return ignore("the push changes no policy file or CODEOWNERS of a base branch")
    return do(DropBranchFiles(d.repo, name, default), *effects, note="; ".join(notes))
