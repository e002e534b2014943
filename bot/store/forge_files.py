"""Files read from a forge at a ref — policy files, their fallbacks, CODEOWNERS — and their absence.

A missing file is remembered too (`found` false), so a warm cache walks the
whole fallback chain (`.github/gatebot.yml`, `.gatebot.yml`, the owner's
`.github` repository...) without a request. Entries are dropped when the
ref is pushed to (`invalidate_ref`, called by the webhook routing for a
`push`) and ignored once older than the caller's TTL, which covers
repositories whose pushes the App never hears about. Repository names are
kept lower-case: the forges compare them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select

from bot.store.dialect import insert
from bot.store.tables import forge_files as t

DEFAULT_BRANCH = ""
"""The `ref` of a file read without one: the repository's default branch."""


@dataclass(frozen=True)
class CachedFile:
    found: bool
    content: str | None
    fetched_at: datetime


def get(
    conn: Connection, provider: str, repo: str, ref: str, path: str, fresh_after: datetime
) -> CachedFile | None:
    """The cached answer for `path` at `ref`, unless fetched at or before `fresh_after`."""
    row = conn.execute(
        select(t.c.found, t.c.content, t.c.fetched_at).where(
            and_(
                t.c.provider == provider,
                t.c.repo == repo.lower(),
                t.c.ref == ref,
                t.c.path == path,
                t.c.fetched_at > fresh_after,
            )
        )
    ).first()
    if row is None:
        return None
    return CachedFile(bool(row.found), row.content, row.fetched_at)


def put(
    conn: Connection,
    provider: str,
    repo: str,
    ref: str,
    path: str,
    content: str | None,
    now: datetime,
) -> None:
    """Remember `content` of `path` at `ref` (None: the file does not exist there)."""
    values = {
        "provider": provider,
        "repo": repo.lower(),
        "ref": ref,
        "path": path,
        "found": content is not None,
        "content": content,
        "fetched_at": now,
    }
    stmt = insert(conn, t).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.repo, t.c.ref, t.c.path],
            set_={
                "found": stmt.excluded.found,
                "content": stmt.excluded.content,
                "fetched_at": stmt.excluded.fetched_at,
            },
        )
    )


def invalidate_ref(
    conn: Connection, provider: str, repo: str, ref: str, *, default_branch: bool = False
) -> int:
    """Forget every file of `repo` at branch `ref` (a push moved it); return how many.

    `ref` may be given as `refs/heads/<branch>`, as a push event names it;
    files read under either name go. With `default_branch`, the files read
    without a ref go too.
    """
    branch = ref.removeprefix("refs/heads/")
    refs = [branch, f"refs/heads/{branch}"] + ([DEFAULT_BRANCH] if default_branch else [])
    return conn.execute(
        delete(t).where(and_(t.c.provider == provider, t.c.repo == repo.lower(), t.c.ref.in_(refs)))
    ).rowcount


def invalidate_repo(conn: Connection, provider: str, repo: str) -> int:
    """Forget every file of `repo`, whatever the ref."""
    return conn.execute(
        delete(t).where(and_(t.c.provider == provider, t.c.repo == repo.lower()))
    ).rowcount
