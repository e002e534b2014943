"""`installation` and `installation_repositories`: where the App is installed.

Recorded (see `bot/store/installations.py`); they queue no PR work. A
deleted or suspended installation can no longer get a token, so its dirty
marks are dropped; so are those of repositories removed from it.
"""

from __future__ import annotations

from typing import Any

from bot.events.effects import ChangeInstallationRepos, DropWork, RecordInstallation
from bot.events.github import readers
from bot.events.github.delivery import Delivery
from bot.events.payload import get, positive_int, text
from bot.events.router import Routed, Router, do, ignore

router = Router()

NO_INSTALLATION = "the payload names no installation"


def _repos(entries: Any) -> tuple[str, ...] | None:
    if not isinstance(entries, list):
        return None
    names = (text(get(entry, "full_name")) for entry in entries)
    return tuple(sorted({name for name in names if name is not None}))


@router.register(
    "installation", "created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"
)
def installation(d: Delivery) -> Routed:
    inst = d.get("installation")
    installation_id = positive_int(get(inst, "id"))
    if installation_id is None:
        return ignore(NO_INSTALLATION)
    suspended = d.action == "suspend" or (
        d.action != "unsuspend" and get(inst, "suspended_at") is not None
    )
    deleted = d.action == "deleted"
    repos = _repos(d.get("repositories"))
    record = RecordInstallation(
        installation_id=installation_id,
        account=readers.login(get(inst, "account")),
        app_id=positive_int(get(inst, "app_id")),
        repository_selection=text(get(inst, "repository_selection"), 16),
        repositories=repos,
        suspended=suspended,
        deleted=deleted,
    )
    drop = DropWork(installation_id, repos or ()) if deleted or suspended else None
    return do(record, drop, note=f"installation {installation_id} {d.action}")


@router.register("installation_repositories", "added", "removed")
def installation_repositories(d: Delivery) -> Routed:
    inst = d.get("installation")
    installation_id = positive_int(get(inst, "id"))
    if installation_id is None:
        return ignore(NO_INSTALLATION)
    added = _repos(d.get("repositories_added")) or ()
    removed = _repos(d.get("repositories_removed")) or ()
    change = ChangeInstallationRepos(
        installation_id=installation_id,
        account=readers.login(get(inst, "account")),
        app_id=positive_int(get(inst, "app_id")),
        repository_selection=text(d.get("repository_selection"), 16)
        or text(get(inst, "repository_selection"), 16),
        added=added,
        removed=removed,
    )
    drop = DropWork(None, removed) if removed else None
    return do(change, drop, note=f"installation {installation_id}: +{len(added)} -{len(removed)}")
