"""Carry out a delivery's effects on its own transaction; say what to mark dirty.

`apply(conn, routed, provider=..., ...)` runs the effects in order (a PR is
remembered before lookups by head or base run) and returns the PRs and merge
groups to mark, each with its installation. Lookups cost one query per
effect — never one per PR — and the marks go to the store in one statement
(`dirty.mark_many`, called by `bot.events.ingestion`), so a push concerning
hundreds of PRs answers as fast as one concerning a single PR.

Forge-neutral: every store row is written under the delivery's provider
(`github` or `gitlab`), and what differs by forge is passed in by the
forge's routing (`bot.events.ingestion.ForgeRouting`), never imported here:
`policy_paths`, where a branch's own policy file lives (for `MarkOwner`
with `without_own_policy`). Installations, merge groups, the App's slug and
owner-wide fallback policies exist only on GitHub; no GitLab handler
returns those effects.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from bot.events import effects as fx
from bot.events.router import Routed
from bot.keys import PullKey, WorkKey
from bot.store import (
    apps,
    commands,
    deploy_outcomes,
    directory_cache,
    evaluations,
    forge_files,
    installations,
    merge_groups,
    pull_heads,
    pull_parts,
    pulls,
    tampering,
)

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """One delivery's application: its connection, forge, facts, and the marks so far."""

    conn: Connection
    provider: str
    now: datetime
    installation_id: int | None
    policy_paths: tuple[str, ...]
    marks: dict[WorkKey, int | None] = field(default_factory=dict)

    def mark(self, repo: str, numbers: Iterable[int], installation_id: int | None = None) -> None:
        for number in numbers:
            key = PullKey(self.provider, repo, number)
            found = installation_id if installation_id is not None else self.installation_id
            if self.marks.get(key) is None:
                self.marks[key] = found

    def mark_open(self, found: Iterable[pulls.OpenPull]) -> None:
        for pull in found:
            self.mark(pull.repo, (pull.number,), pull.installation_id)


def apply(
    conn: Connection,
    routed: Routed,
    *,
    provider: str,
    installation_id: int | None,
    now: datetime,
    policy_paths: tuple[str, ...] = (),
) -> dict[WorkKey, int | None]:
    """Run `routed`'s effects on `conn` for the forge `provider` (the delivery
    record's own); return what to mark dirty (key → installation).

    `policy_paths`: where the forge keeps a branch's own policy file."""
    run = _Run(conn, provider, now, installation_id, policy_paths)
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
    run.mark(e.repo, pulls.numbers_for_sha(run.conn, run.provider, e.repo, e.sha))


@_run.register
def _(e: fx.MarkBase, run: _Run) -> None:
    run.mark_open(pulls.open_on_base(run.conn, run.provider, e.repo, e.base_ref))


@_run.register
def _(e: fx.MarkRepo, run: _Run) -> None:
    run.mark_open(pulls.open_in_repo(run.conn, run.provider, e.repo))


@_run.register
def _(e: fx.MarkOwner, run: _Run) -> None:
    # PRs whose base holds a policy of its own do not read the owner's fallback.
    paths = run.policy_paths if e.without_own_policy else ()
    run.mark_open(pulls.open_of_owner(run.conn, run.provider, e.owner, without_policy_at=paths))


@_run.register
def _(e: fx.FollowDeploy, run: _Run) -> None:
    found = deploy_outcomes.by_reference(run.conn, run.provider, e.method, e.reference, e.repo)
    if found is not None:
        deploy_outcomes.make_due(run.conn, found.key, run.now)


@_run.register
def _(e: fx.RememberPull, run: _Run) -> None:
    pulls.remember(
        run.conn,
        pulls.PullState(
            provider=run.provider,
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
def _(e: fx.RecordHead, run: _Run) -> None:
    pull = e.pull
    pull_heads.note(
        run.conn,
        PullKey(run.provider, pull.repo, pull.number),
        pull.head_sha,
        pull.base_ref,
        run.now,
        forge_updated_at=pull.updated_at,
        pushed=e.pushed,
    )


@_run.register
def _(e: fx.RecordTamper, run: _Run) -> None:
    known = pulls.get(run.conn, run.provider, e.repo, e.number)
    tampering.record(
        run.conn,
        tampering.TamperRecord(
            provider=run.provider,
            repo=e.repo,
            number=e.number,
            comment_id=e.comment_id,
            author=e.author,
            editor=e.editor,
            head_sha=known.head_sha if known is not None else None,
            at=run.now,
            subject=e.subject,
        ),
    )
    if e.editor.casefold() != e.author.casefold():
        log.warning(
            "%s#%d: %s edited %s's %s %d",
            e.repo, e.number, e.editor, e.author, e.subject, e.comment_id,
        )


@_run.register
def _(e: fx.ReceiveComment, run: _Run) -> None:
    new = commands.receive(
        run.conn,
        PullKey(run.provider, e.repo, e.number),
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
    posted = evaluations.last(run.conn, run.provider, e.repo, e.sha, e.context)
    evaluations.forget(run.conn, run.provider, e.repo, e.sha, e.context)
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
    pull_parts.invalidate(run.conn, run.provider, e.repo, e.number)


@_run.register
def _(e: fx.DropBranchFiles, run: _Run) -> None:
    branch = e.ref.removeprefix("refs/heads/")
    # The default branch's files are also cached without a ref (read "at the default branch").
    forge_files.invalidate_ref(
        run.conn, run.provider, e.repo, branch, default_branch=branch == e.default_branch
    )


@_run.register
def _(e: fx.DropCollaborator, run: _Run) -> None:
    directory_cache.drop_collaborator(run.conn, run.provider, e.repo, e.login)


@_run.register
def _(e: fx.DropTeamMember, run: _Run) -> None:
    directory_cache.drop_team_member(run.conn, run.provider, f"{e.org}/{e.team}", e.login)


@_run.register
def _(e: fx.DropTeam, run: _Run) -> None:
    directory_cache.drop_team(run.conn, run.provider, f"{e.org}/{e.team}")


@_run.register
def _(e: fx.DropOrgMember, run: _Run) -> None:
    directory_cache.drop_org_member(run.conn, run.provider, e.org, e.login)


@_run.register
def _(e: fx.DropPerson, run: _Run) -> None:
    directory_cache.drop_person(run.conn, run.provider, e.login)


@_run.register
def _(e: fx.RecordInstallation, run: _Run) -> None:
    known = installations.get(run.conn, run.provider, e.installation_id)
    repos = (
        e.repositories if e.repositories is not None else (known.repositories if known else None)
    )
    installations.record(
        run.conn,
        installations.Installation(
            provider=run.provider,
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
    known = installations.get(run.conn, run.provider, e.installation_id)
    before = set(known.repositories or ()) if known is not None else set()
    installations.record(
        run.conn,
        installations.Installation(
            provider=run.provider,
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
    dropped = installations.drop_work(
        run.conn, run.provider, installation_id=e.installation_id, repos=e.repos
    )
    # Whatever this delivery itself marked for them goes too.
    for key, found in list(run.marks.items()):
        if key.repo in e.repos or (e.installation_id is not None and found == e.installation_id):
            del run.marks[key]
    if dropped:
        log.info("dropped %d dirty mark(s) that no installation can act on", dropped)


@_run.register
def _(e: fx.RememberAppSlug, run: _Run) -> None:
    apps.remember(run.conn, run.provider, e.app_id, e.slug, run.now)


@_run.register
def _(e: fx.RequestMergeGroup, run: _Run) -> None:
    group = merge_groups.request(
        run.conn,
        provider=run.provider,
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
    merge_groups.end(run.conn, run.provider, e.repo, e.head_sha, run.now)
