"""Carry out a delivery's effects on its own transaction; say what to mark dirty.

`apply(conn, routed, ...)` runs the effects in order (a PR is remembered
before lookups by head or base run) and returns the PRs and merge groups to
mark, each with its installation. Lookups cost one query per effect —
never one per PR — and the marks go to the store in one statement
(`dirty.mark_many`), so a push concerning hundreds of PRs answers as
fast as one concerning a single PR.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from bot.providers.github import invalidation
from bot.providers.github.policy_source import POLICY_PATHS
from bot.store import (
    apps,
    commands,
    evaluations,
    installations,
    merge_groups,
    pulls,
    tampering,
)
from bot.store.dirty import PullKey
from bot.web.github_events import effects as fx
from bot.web.github_events.router import Routed

log = logging.getLogger(__name__)

PROVIDER = "github"


@dataclass
class _Run:
    """One delivery's application: its connection, facts, and the marks so far."""

    conn: Connection
    now: datetime
    installation_id: int | None
    marks: dict[PullKey, int | None] = field(default_factory=dict)

    def mark(self, repo: str, numbers: Iterable[int], installation_id: int | None = None) -> None:
        for number in numbers:
            key = PullKey(PROVIDER, repo, number)
            found = installation_id if installation_id is not None else self.installation_id
            if self.marks.get(key) is None:
                self.marks[key] = found

    def mark_open(self, found: Iterable[pulls.OpenPull]) -> None:
        for pull in found:
            self.mark(pull.repo, (pull.number,), pull.installation_id)


def apply(
    conn: Connection, routed: Routed, *, installation_id: int | None, now: datetime
) -> dict[PullKey, int | None]:
    """Run `routed`'s effects on `conn`; return what to mark dirty (key → installation)."""
    run = _Run(conn, now, installation_id)
    for effect in routed.effects:
        _run(effect, run)
    return run.marks


@functools.singledispatch
def _run(effect: object, run: _Run) -> None:
    raise TypeError(f"no way to apply {effect!r}")


@_run.register
def _(e: fx.MarkPulls, run: _Run) -> None:
    run.mark(e.repo, e.numbers)


@_run.register
def _(e: fx.MarkHead, run: _Run) -> None:
    run.mark(e.repo, e.numbers)
    run.mark(e.repo, pulls.numbers_for_sha(run.conn, PROVIDER, e.repo, e.sha))


@_run.register
def _(e: fx.MarkBase, run: _Run) -> None:
    run.mark_open(pulls.open_on_base(run.conn, PROVIDER, e.repo, e.base_ref))


@_run.register
def _(e: fx.MarkRepo, run: _Run) -> None:
    run.mark_open(pulls.open_in_repo(run.conn, PROVIDER, e.repo))


@_run.register
def _(e: fx.MarkOwner, run: _Run) -> None:
    paths = POLICY_PATHS if e.without_own_policy else ()
    run.mark_open(pulls.open_of_owner(run.conn, PROVIDER, e.owner, without_policy_at=paths))


@_run.register
def _(e: fx.RememberPull, run: _Run) -> None:
    pulls.remember(
        run.conn,
        pulls.PullState(
            provider=PROVIDER,
            repo=e.repo,
            number=e.number,
            base_ref=e.base_ref,
            head_sha=e.head_sha,
            state=pulls.CLOSED if e.closed else pulls.OPEN,
            installation_id=run.installation_id,
            updated_at=e.updated_at,
        ),
        run.now,
    )


@_run.register
def _(e: fx.RecordTamper, run: _Run) -> None:
    known = pulls.get(run.conn, PROVIDER, e.repo, e.number)
    tampering.record(
        run.conn,
        tampering.TamperRecord(
            provider=PROVIDER,
            repo=e.repo,
            number=e.number,
            comment_id=e.comment_id,
            author=e.author,
            editor=e.editor,
            head_sha=known.head_sha if known is not None else None,
            at=run.now,
        ),
    )
    log.warning(
        "%s#%d: %s edited %s's comment %d", e.repo, e.number, e.editor, e.author, e.comment_id
    )


@_run.register
def _(e: fx.ReceiveComment, run: _Run) -> None:
    new = commands.receive(
        run.conn,
        PullKey(PROVIDER, e.repo, e.number),
        e.comment_id,
        author=e.author,
        body=e.body,
        created_at=e.created_at,
        installation_id=run.installation_id,
        now=run.now,
    )
    # A comment already in the inbox (the same comment delivered again) was
    # marked when it arrived; its commands are not run twice either way.
    if new:
        run.mark(e.repo, (e.number,))


@_run.register
def _(e: fx.ForgetVerdict, run: _Run) -> None:
    posted = evaluations.last(run.conn, PROVIDER, e.repo, e.sha, e.context)
    invalidation.on_foreign_status(run.conn, e.repo, e.sha, e.context)
    if posted is not None:
        run.mark(e.repo, (posted.number,))
    log.warning(
        "%s: %r on %s written by %s; the bot's verdict will be posted again",
        e.repo,
        e.context,
        e.sha[:12],
        e.writer,
    )


@_run.register
def _(e: fx.DropPullParts, run: _Run) -> None:
    invalidation.on_pull_changed(run.conn, e.repo, e.number)


@_run.register
def _(e: fx.DropBranchFiles, run: _Run) -> None:
    invalidation.on_push(run.conn, e.repo, e.ref, e.default_branch)


@_run.register
def _(e: fx.DropCollaborator, run: _Run) -> None:
    invalidation.on_member(run.conn, e.repo, e.login)


@_run.register
def _(e: fx.DropTeamMember, run: _Run) -> None:
    invalidation.on_membership(run.conn, e.org, e.team, e.login)


@_run.register
def _(e: fx.DropTeam, run: _Run) -> None:
    invalidation.on_team(run.conn, e.org, e.team)


@_run.register
def _(e: fx.DropOrgMember, run: _Run) -> None:
    invalidation.on_organization(run.conn, e.org, e.login)


@_run.register
def _(e: fx.RecordInstallation, run: _Run) -> None:
    known = installations.get(run.conn, PROVIDER, e.installation_id)
    repos = (
        e.repositories if e.repositories is not None else (known.repositories if known else None)
    )
    installations.record(
        run.conn,
        installations.Installation(
            provider=PROVIDER,
            installation_id=e.installation_id,
            account=e.account or (known.account if known else None),
            app_id=e.app_id or (known.app_id if known else None),
            repository_selection=e.repository_selection
            or (known.repository_selection if known else None),
            repositories=repos,
            suspended=e.suspended,
            deleted=e.deleted,
            updated_at=run.now,
        ),
    )


@_run.register
def _(e: fx.ChangeInstallationRepos, run: _Run) -> None:
    known = installations.get(run.conn, PROVIDER, e.installation_id)
    before = set(known.repositories or ()) if known is not None else set()
    installations.record(
        run.conn,
        installations.Installation(
            provider=PROVIDER,
            installation_id=e.installation_id,
            account=e.account or (known.account if known else None),
            app_id=e.app_id or (known.app_id if known else None),
            repository_selection=e.repository_selection
            or (known.repository_selection if known else None),
            repositories=tuple(sorted((before | set(e.added)) - set(e.removed))),
            suspended=known.suspended if known is not None else False,
            deleted=False,
            updated_at=run.now,
        ),
    )


@_run.register
def _(e: fx.DropWork, run: _Run) -> None:
    providers = (PROVIDER, merge_groups.queue_provider(PROVIDER))
    dropped = installations.drop_work(
        run.conn, providers, installation_id=e.installation_id, repos=e.repos
    )
    # Whatever this delivery itself marked for them goes too.
    for key, found in list(run.marks.items()):
        if key.repo in e.repos or (e.installation_id is not None and found == e.installation_id):
            del run.marks[key]
    if dropped:
        log.info("dropped %d dirty mark(s) that no installation can act on", dropped)


@_run.register
def _(e: fx.RememberAppSlug, run: _Run) -> None:
    apps.remember(run.conn, PROVIDER, e.app_id, e.slug, run.now)


@_run.register
def _(e: fx.RequestMergeGroup, run: _Run) -> None:
    group = merge_groups.request(
        run.conn,
        provider=PROVIDER,
        repo=e.repo,
        head_sha=e.head_sha,
        head_ref=e.head_ref,
        base_ref=e.base_ref,
        base_sha=e.base_sha,
        pull_numbers=e.numbers,
        installation_id=run.installation_id,
        now=run.now,
    )
    run.marks[group.key] = run.installation_id


@_run.register
def _(e: fx.EndMergeGroup, run: _Run) -> None:
    merge_groups.end(run.conn, PROVIDER, e.repo, e.head_sha, run.now)
