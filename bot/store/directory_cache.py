"""Directory facts with an expiry: repository permissions, team and organisation memberships.

One row per (kind, scope, login): a `permission` in a repository (the
GitHub role name, e.g. `maintain`), a `team` membership (`member` or
`none`, scope `org/team`) or an `org` membership (scope `org`). Rows live
until `expires_at`; the webhook routing drops them early when the forge
says something changed:

- `member` (a collaborator added, removed or edited) → `drop_collaborator`
- `membership` (someone added to or removed from a team) → `drop_team_member`
- `team` (a team edited, deleted, or given access to a repository) → `drop_team`
- `organization` (member added or removed) → `drop_org_member`

Team and organisation changes can change repository permissions (a team's
access to a repository, an organisation's base permission), so those drop
the affected people's permissions in that organisation's repositories too.
Logins and scopes are kept lower-case: the forges compare them so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, delete, or_, select

from bot.store.dialect import insert
from bot.store.tables import directory_facts as t

PERMISSION = "permission"
TEAM = "team"
ORG = "org"


def lookup(
    conn: Connection, provider: str, kind: str, scope: str, logins: Iterable[str], now: datetime
) -> dict[str, str]:
    """Unexpired facts of `kind` in `scope` for `logins`: lower-case login → value."""
    wanted = sorted({login.lower() for login in logins})
    if not wanted:
        return {}
    rows = conn.execute(
        select(t.c.login, t.c.value).where(
            and_(
                t.c.provider == provider,
                t.c.kind == kind,
                t.c.scope == scope.lower(),
                t.c.login.in_(wanted),
                t.c.expires_at > now,
            )
        )
    )
    return {row.login: row.value for row in rows}


def remember(
    conn: Connection,
    provider: str,
    kind: str,
    scope: str,
    login: str,
    value: str,
    now: datetime,
    ttl_seconds: float,
) -> None:
    values = {
        "provider": provider,
        "kind": kind,
        "scope": scope.lower(),
        "login": login.lower(),
        "value": value,
        "fetched_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
    }
    stmt = insert(conn, t).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.provider, t.c.kind, t.c.scope, t.c.login],
            set_={
                "value": stmt.excluded.value,
                "fetched_at": stmt.excluded.fetched_at,
                "expires_at": stmt.excluded.expires_at,
            },
        )
    )


def _org_repos(org: str) -> ColumnElement[bool]:
    # Repositories are stored as `owner/name`; an organisation's are `org/...`.
    return t.c.scope.like(f"{_escape_like(org.lower())}/%", escape="\\")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def drop_collaborator(conn: Connection, provider: str, repo: str, login: str | None = None) -> int:
    """`member` webhook: forget `login`'s permission in `repo` (everyone's when None)."""
    where = and_(t.c.provider == provider, t.c.kind == PERMISSION, t.c.scope == repo.lower())
    if login is not None:
        where = and_(where, t.c.login == login.lower())
    return conn.execute(delete(t).where(where)).rowcount


def drop_team_member(conn: Connection, provider: str, team: str, login: str) -> int:
    """`membership` webhook: forget whether `login` is in `team` (`org/slug`), and their
    permissions in the organisation's repositories (team access grants permissions)."""
    org = team.split("/", 1)[0]
    return conn.execute(
        delete(t).where(
            and_(
                t.c.provider == provider,
                t.c.login == login.lower(),
                or_(
                    and_(t.c.kind == TEAM, t.c.scope == team.lower()),
                    and_(t.c.kind == PERMISSION, _org_repos(org)),
                ),
            )
        )
    ).rowcount


def drop_team(conn: Connection, provider: str, team: str) -> int:
    """`team` webhook: forget the team's memberships and every permission in its
    organisation's repositories (its access may have changed)."""
    org = team.split("/", 1)[0]
    return conn.execute(
        delete(t).where(
            and_(
                t.c.provider == provider,
                or_(
                    and_(t.c.kind == TEAM, t.c.scope == team.lower()),
                    and_(t.c.kind == PERMISSION, _org_repos(org)),
                ),
            )
        )
    ).rowcount


def drop_person(conn: Connection, provider: str, login: str) -> int:
    """Forget every fact about `login` on `provider`: permissions and memberships alike."""
    return conn.execute(
        delete(t).where(and_(t.c.provider == provider, t.c.login == login.lower()))
    ).rowcount


def drop_org_member(conn: Connection, provider: str, org: str, login: str) -> int:
    """`organization` webhook (member added / removed): forget everything about `login`
    in `org` — membership, its teams, its repository permissions."""
    return conn.execute(
        delete(t).where(
            and_(
                t.c.provider == provider,
                t.c.login == login.lower(),
                or_(
                    and_(t.c.kind == ORG, t.c.scope == org.lower()),
                    and_(t.c.kind.in_([TEAM, PERMISSION]), _org_repos(org)),
                ),
            )
        )
    ).rowcount
