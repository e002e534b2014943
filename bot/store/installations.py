"""The App's installations, as `installation` and `installation_repositories` webhooks say.

One row per installation: the account it is on, the App it belongs to,
whether it is suspended or deleted, and the repositories the events listed
(`repositories`, a JSON list of `owner/name`; None when no event listed
them — an installation on "all" repositories names only some). Nothing
here is evaluated; the row answers "is this installation still live?"
(`get`, `live`), and `drop_work` forgets the dirty marks of an installation that
was deleted or suspended, since no token can be had for it any more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, or_, select

from bot.store.dialect import insert
from bot.store.key_columns import providers_of
from bot.store.tables import dirty_pulls
from bot.store.tables import installations as t


@dataclass(frozen=True)
class Installation:
    provider: str
    installation_id: int
    account: str | None
    app_id: int | None
    repository_selection: str | None
    repositories: tuple[str, ...] | None
    suspended: bool
    deleted: bool
    updated_at: datetime

    @property
    def live(self) -> bool:
        return not (self.suspended or self.deleted)


def get(conn: Connection, provider: str, installation_id: int) -> Installation | None:
    row = conn.execute(
        select(t).where(and_(t.c.provider == provider, t.c.installation_id == installation_id))
    ).first()
    if row is None:
        return None
    repos = json.loads(row.repositories) if row.repositories is not None else None
    return Installation(
        provider=row.provider,
        installation_id=row.installation_id,
        account=row.account,
        app_id=row.app_id,
        repository_selection=row.repository_selection,
        repositories=tuple(repos) if repos is not None else None,
        suspended=bool(row.suspended),
        deleted=bool(row.deleted),
        updated_at=row.updated_at,
    )


def live(conn: Connection, provider: str) -> list[Installation]:
    """Every installation of `provider` that is neither suspended nor deleted."""
    rows = conn.execute(
        select(t.c.installation_id).where(
            and_(t.c.provider == provider, t.c.suspended.is_(False), t.c.deleted.is_(False))
        )
    )
    found = [get(conn, provider, int(r.installation_id)) for r in rows]
    return [i for i in found if i is not None]


def record(conn: Connection, found: Installation) -> None:
    """Keep `found` as the installation's current description."""
    values = {
        "provider": found.provider,
        "installation_id": found.installation_id,
        "account": found.account,
        "app_id": found.app_id,
        "repository_selection": found.repository_selection,
        "repositories": (
            json.dumps(sorted(found.repositories)) if found.repositories is not None else None
        ),
        "suspended": found.suspended,
        "deleted": found.deleted,
        "updated_at": found.updated_at,
    }
    stmt = insert(conn, t).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.installation_id],
            set_={
                name: stmt.excluded[name]
                for name in values
                if name not in ("provider", "installation_id")
            },
        )
    )


def drop_work(
    conn: Connection,
    provider: str,
    *,
    installation_id: int | None = None,
    repos: Iterable[str] = (),
) -> int:
    """Forget the dirty marks of an installation and/or of `repos`; return how many.

    The marks of `provider`'s PRs and of its merge groups go. A mark recorded
    without an installation id is matched by its repository.
    """
    names = sorted(set(repos))
    matches = []
    if installation_id is not None:
        matches.append(dirty_pulls.c.installation_id == installation_id)
    if names:
        matches.append(dirty_pulls.c.repo.in_(names))
    if not matches:
        return 0
    return conn.execute(
        delete(dirty_pulls).where(
            and_(dirty_pulls.c.provider.in_(providers_of(provider)), or_(*matches))
        )
    ).rowcount
