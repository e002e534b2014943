"""Update merges on GitHub, recognised by what they contain.

A merge commit of a PR is an update merge when its first parent is an
earlier commit of the PR, its other parent is on the base branch — not among
the PR's commits: the PR lists every commit reachable from its head and not
from its base, so a parent outside the list is in the base's history — and
it has no change of its own — its tree is the merge of its parents:

1. every path that differs between the first parent and the merge has, in
   the merge, the content it has in the base parent (it brings in only
   what the base holds); and
2. every path where the merge differs from the base parent is one the PR
   itself changes (it leaves out none of the base's changes, as a merge
   with `-s ours` would, which merging the PR would then revert); and
3. none of those paths is one the base branch changed since the PR forked
   from it: a file both sides changed merges into something new (rule 1
   refuses it) or is resolved by hand — keeping the PR's side drops the
   base's change just as `-s ours` does, and a resolution is a change of
   the merge's own.

Four comparisons tell: `compare/{first}...{merge}` and
`compare/{base}...{merge}` list the paths the merge changes against each
parent (the three-dot form diffs from the merge base of the two, which is
the parent itself), `compare/{base}...{first}` the paths the PR changes
(from its merge base with the base parent) and `compare/{first}...{base}`
the paths the base changed since that merge base. No path may be in both
of the first two lists, and the second must lie within the third and
outside the fourth.

Fail closed: GitHub lists at most 300 files of a comparison, so a list that
long may be cut and the merge is not recognised; a comparison GitHub
refuses is not one either; and with a cut commit list nothing is an update
merge. Who made or committed the merge is never asked — anyone can write
`web-flow` as committer. A merge that is not recognised carries a note
saying why (`Commit.merge_note`), which the explanation quotes.

GitHub's `update-branch` call answers 202 without the commit it made, so
the bot's own update merges are recognised the same way, by content.

A commit never changes, so neither does its verdict: verdicts are kept per
merge SHA (`bot.store.merge_verdicts`) and each merge costs four requests
once. A PR without merge commits costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from github import Github, GithubException

from bot.core.snapshot import Commit
from bot.retry import RetryPolicy
from bot.store import Store, merge_verdicts
from bot.store.merge_verdicts import MergeVerdict

COMPARE_FILES_LIMIT = 300
_NAMED = 3  # paths named in a note

CUT = (
    f"its changes could not be read in full (GitHub lists at most {COMPARE_FILES_LIMIT} "
    "files of a comparison)"
)
REFUSED = "GitHub could not compare it with its parents"


def merges_of_base(commits: Sequence[Commit]) -> list[Commit]:
    """Merge commits whose first parent is a commit of the PR and whose other
    parent is on the base branch: the ones that may be update merges."""
    shas = {c.sha for c in commits}
    return [
        c
        for c in commits
        if len(c.parents) == 2 and c.parents[0] in shas and c.parents[1] not in shas
    ]


def paths_of(files: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Every path a comparison's file list touches, the old path of a rename too."""
    paths: set[str] = set()
    for entry in files:
        for key in ("filename", "previous_filename"):
            value = entry.get(key)
            if isinstance(value, str) and value:
                paths.add(value)
    return frozenset(paths)


def verdict_of(
    own: frozenset[str] | None,
    theirs: frozenset[str] | None,
    ours: frozenset[str] | None,
    based: frozenset[str] | None,
) -> MergeVerdict:
    """The verdict from the paths the merge changes against its first parent (`own`)
    and against its base parent (`theirs`), the paths the PR changes (`ours`) and
    the paths the base changed since the PR forked (`based`); None: that list may
    be cut."""
    if own is None or theirs is None or ours is None or based is None:
        return MergeVerdict(False, CUT)
    changed = sorted(own & theirs)
    if changed:
        return MergeVerdict(False, f"it changes {_some(changed)}")
    dropped = sorted((theirs - ours) | (theirs & based))
    if dropped:
        return MergeVerdict(False, f"it leaves out the base branch's changes to {_some(dropped)}")
    return MergeVerdict(True)


def _some(paths: Sequence[str]) -> str:
    more = len(paths) - _NAMED
    return ", ".join(paths[:_NAMED]) + (f" and {more} more" if more > 0 else "")


class UpdateMerges:
    """Marks the update merges among a PR's commits, reading only merges not judged before."""

    def __init__(
        self,
        client: Github,
        store: Store,
        provider: str,
        repo: str,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.store = store
        self.provider = provider
        self.repo = repo
        self.retry = retry
        self.clock = clock

    def mark(self, commits: tuple[Commit, ...], truncated: bool) -> tuple[Commit, ...]:
        """`commits` with `is_update_merge` and `merge_note` set by content."""
        if truncated:
            return commits
        candidates = merges_of_base(commits)
        if not candidates:
            return commits
        with self.store.begin() as conn:
            known = merge_verdicts.get_many(
                conn, self.provider, self.repo, (c.sha for c in candidates)
            )
        for commit in candidates:
            if commit.sha not in known:
                known[commit.sha] = self._judge(commit)
        return tuple(
            c.model_copy(
                update={"is_update_merge": known[c.sha].update_merge, "merge_note": known[c.sha].note}
            )
            if c.sha in known
            else c
            for c in commits
        )

    def _judge(self, commit: Commit) -> MergeVerdict:
        first, base = commit.parents
        try:
            verdict = verdict_of(
                self._changed(first, commit.sha),
                self._changed(base, commit.sha),
                self._changed(base, first),
                self._changed(first, base),
            )
        except GithubException as exc:
            if exc.status not in (404, 422):
                raise
            # Not kept: GitHub may answer differently later (a commit not yet indexed).
            return MergeVerdict(False, REFUSED)
        with self.store.begin() as conn:
            merge_verdicts.put(conn, self.provider, self.repo, commit.sha, verdict, self.clock())
        return verdict

    def _changed(self, base: str, head: str) -> frozenset[str] | None:
        """Paths that differ between the merge base of `base` and `head`, and `head`;
        None when GitHub may have cut the list. Without paging parameters GitHub sends
        the whole file list (at most 300)."""
        path = f"/repos/{self.repo}/compare/{quote(base, safe='')}...{quote(head, safe='')}"

        def fetch() -> Any:
            _, data = self.client.requester.requestJsonAndCheck("GET", path)
            return data

        data = self.retry.call(fetch, what="GET compare")
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list) or len(files) >= COMPARE_FILES_LIMIT:
            return None
        return paths_of([f for f in files if isinstance(f, dict)])
