"""The GitLab hooks the bot manages, each with its own secret (`gatebot gitlab connect`).

One row per connected project or group, keyed by GitLab's numeric id (a
rename or a transfer keeps the id; `connect` run again records the new
path). The hook's token itself is never stored: it is a 32-byte random
value, so its SHA-256 is as good as the token for recognising it and
useless to whoever reads the database.

`authenticates` is what the webhook endpoint asks: does this token belong
to the hook of the project a delivery names, or to the hook of a group
that contains that project (by the group's path as recorded from the API)?
Every candidate's hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, or_, select

from bot.store.dialect import insert
from bot.store.tables import gitlab_hooks as t

PROJECT = "project"
GROUP = "group"


@dataclass(frozen=True)
class ConnectedHook:
    kind: str
    target_id: int
    path: str
    hook_id: int
    secret_hash: str
    connected_at: datetime
    updated_at: datetime


def secret_hash(token: str) -> str:
    """The SHA-256 (hex) the store keeps of a hook's token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _row(row: object) -> ConnectedHook:
    return ConnectedHook(
        kind=row.kind,  # type: ignore[attr-defined]
        target_id=row.target_id,  # type: ignore[attr-defined]
        path=row.path,  # type: ignore[attr-defined]
        hook_id=row.hook_id,  # type: ignore[attr-defined]
        secret_hash=row.secret_hash,  # type: ignore[attr-defined]
        connected_at=row.connected_at,  # type: ignore[attr-defined]
        updated_at=row.updated_at,  # type: ignore[attr-defined]
    )


def find(conn: Connection, kind: str, target_id: int) -> ConnectedHook | None:
    row = conn.execute(
        select(t).where(and_(t.c.kind == kind, t.c.target_id == target_id))
    ).first()
    return None if row is None else _row(row)


def record(
    conn: Connection,
    kind: str,
    target_id: int,
    path: str,
    hook_id: int,
    *,
    secret: str | None,
    now: datetime,
) -> None:
    """Remember the hook of `kind` `target_id`; `secret` None keeps the stored one."""
    values: dict[str, object] = {
        "kind": kind,
        "target_id": target_id,
        "path": path.lower(),
        "hook_id": hook_id,
        "connected_at": now,
        "updated_at": now,
    }
    changes: dict[str, object] = {"path": path.lower(), "hook_id": hook_id, "updated_at": now}
    if secret is not None:
        values["secret_hash"] = changes["secret_hash"] = secret_hash(secret)
    elif find(conn, kind, target_id) is None:
        raise ValueError("a new hook is recorded with its secret")
    else:
        values["secret_hash"] = ""  # never inserted: the row exists
    stmt = insert(conn, t).values(values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[t.c.kind, t.c.target_id], set_=changes))


def forget(conn: Connection, kind: str, target_id: int) -> bool:
    """Drop the hook's row; whether there was one."""
    gone = conn.execute(delete(t).where(and_(t.c.kind == kind, t.c.target_id == target_id)))
    return bool(gone.rowcount)


def _ancestors(path: str) -> list[str]:
    """`a/b/c` → [`a/b`, `a`]: the groups that may hold a project at `path`."""
    parts = path.lower().split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def authenticates(
    conn: Connection,
    token: str,
    *,
    project_id: int | None,
    project_path: str | None,
    group_id: int | None = None,
) -> ConnectedHook | None:
    """The connected hook whose secret `token` is, among those that may speak for the
    project (`project_id` AND `project_path`) or the group (`group_id`) a delivery
    names; None if there is none.

    A project hook counts only when both its id and its recorded path are the
    delivery's (a renamed project is connected again to record its new path);
    a group hook counts for the projects under its recorded path, and for
    itself.
    """
    conditions = []
    if project_id is not None and project_path:
        conditions.append(
            and_(t.c.kind == PROJECT, t.c.target_id == project_id,
                 t.c.path == project_path.lower())
        )
    if project_path:
        conditions.append(and_(t.c.kind == GROUP, t.c.path.in_(_ancestors(project_path))))
    if group_id is not None:
        conditions.append(and_(t.c.kind == GROUP, t.c.target_id == group_id))
    if not conditions:
        return None
    offered = secret_hash(token).encode()
    candidates = [_row(r) for r in conn.execute(select(t).where(or_(*conditions)))]
    # Every candidate is compared, in constant time each.
    matches = [h for h in candidates if hmac.compare_digest(offered, h.secret_hash.encode())]
    return matches[0] if matches else None
