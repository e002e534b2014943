"""Forge files read through the store's file cache, the same way on every forge.

Policy files, their fallbacks and CODEOWNERS are read at a branch's head
many times between two pushes. `StoredFiles` keeps every answer — including
"no such file" — in `bot.store.forge_files` under the forge's provider name
until the branch is pushed to or the TTL passes, so a warm evaluation walks
the whole policy chain (`bot.providers.policy_chain`) without a request.

Each forge subclasses it with its provider name and the one request that
reads a file (`fetch`); everything else — the cache key, the expiry, the
retry around the read — is here.

A push whose delivery is lost must not leave an edited policy unread until
the TTL: before the files of a PR's base branch are read, the forge tells
`follow` the commit the branch is at now (GitLab from the merge request's
diff, GitHub from one conditional read of the branch), and files kept for
another commit go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import ClassVar, Generic, TypeVar

from bot.providers.policy_chain import first_file
from bot.retry import RetryPolicy
from bot.store import Store, forge_files

ClientT = TypeVar("ClientT")

BRANCH_HEAD = ":branch-head"
"""The row (a path no file is ever read under) recording the commit a branch's
files were kept for (`StoredFiles.follow`)."""


class StoredFiles(Generic[ClientT]):
    """Reads files from a forge through the store's file cache."""

    provider: ClassVar[str]
    request: ClassVar[str]
    """How the read is named to the retry policy, before the path (`GET file`)."""

    def __init__(
        self,
        client: ClientT,
        store: Store,
        read: RetryPolicy,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.store = store
        self.retry = read
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def fetch(self, repo: str, path: str, ref: str | None) -> str | None:
        """One request for `path` in `repo` at `ref`; None when there is no such file."""
        raise NotImplementedError

    def kept_head(self, repo: str, branch: str) -> str | None:
        """The commit `branch`'s kept files were read for (`follow`), while fresh."""
        with self.store.begin() as conn:
            kept = forge_files.get(conn, self.provider, repo, branch, BRANCH_HEAD,
                                   self.clock() - self.ttl)
        return kept.content if kept is not None else None

    def follow(self, repo: str, branch: str, sha: str) -> None:
        """The forge says `branch` is at `sha`: its kept files go unless they were kept
        for that commit. A push the bot never heard of (a lost delivery) would
        otherwise leave the old files — an edited policy unread — until the TTL."""
        if not sha:
            return
        now = self.clock()
        with self.store.begin() as conn:
            kept = forge_files.get(conn, self.provider, repo, branch, BRANCH_HEAD,
                                   now - self.ttl)
            if kept is not None and kept.content == sha:
                return
            forge_files.invalidate_ref(conn, self.provider, repo, branch)
            forge_files.put(conn, self.provider, repo, branch, BRANCH_HEAD, sha, now)

    def forget(self, repo: str, branch: str) -> None:
        """Drop every file kept for `branch`: where it is could not be told."""
        with self.store.begin() as conn:
            forge_files.invalidate_ref(conn, self.provider, repo, branch)

    def read(self, repo: str, path: str, ref: str | None) -> str | None:
        """The text of `path` in `repo` at `ref` (None: the default branch); None if missing."""
        key_ref = ref if ref is not None else forge_files.DEFAULT_BRANCH
        now = self.clock()
        with self.store.begin() as conn:
            cached = forge_files.get(conn, self.provider, repo, key_ref, path, now - self.ttl)
        if cached is not None:
            return cached.content
        text = self.retry.call(lambda: self.fetch(repo, path, ref), what=f"{self.request} {path}")
        with self.store.begin() as conn:
            forge_files.put(conn, self.provider, repo, key_ref, path, text, now)
        return text


def find_codeowners(
    files: StoredFiles[ClientT], repo: str, paths: Iterable[str], base_ref: str
) -> str | None:
    """CODEOWNERS of `base_ref`, from the first of `paths` (the forge's order) that has one."""
    found = first_file(files, repo, paths, base_ref)
    return found[1] if found is not None else None
