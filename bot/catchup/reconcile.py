"""The reconcile step: mark the PRs whose state on the forge the store does not know.

For each repository the bot has heard of (PRs in the store's `pulls` table;
on GitHub also the repositories live installations listed), the step lists
PRs newest-updated first (`listing`) and stops at the repository's mark —
the time back to which the list was last walked whole, less `OVERLAP` for
the clocks of forge and bot disagreeing. A repository walked for the first
time starts from its oldest open PR's update time (or, with none, when the
bot last heard of it, or the installation was last described).

A listed PR is marked dirty, and what the list said kept in `pulls` (so
the next round does not mark it again), when:

- the store never heard of it and it is open (opened while the bot was away);
- its head SHA, base branch or state differs from what the store knows
  (a push, a retarget, a close or merge — the worker then settles the merge
  and the deploy rules);
- its update time is newer than the store's (a review, a comment, a label);
- it is open, not waiting for an evaluation already, and the bot has no
  verdict for its head.

It is not marked — only its row in `pulls` brought up to date — when a run
of the PR ended in a later second than the forge's update time: the worker read it as it
is, and what moved the time was the bot's own doing (its merge, its
comment), whose webhooks need not have come back. A change that lands while
a run is going, and whose webhook is lost too, waits for the PR's next update.

The step is bounded: a request budget per forge per round
(`GATEBOT_CATCHUP_REQUESTS`), and a stop when the forge's rate limit runs
low. A repository's mark moves only over a range walked whole, so a walk
cut short starts from the same mark next round; repositories whose marks are
oldest go first. Marks are hints: the worker re-reads every PR it is given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from github import GithubException
from sqlalchemy import Connection, exists, select

from bot.catchup.listing import ListedPull, PullLister
from bot.catchup.report import StepReport
from bot.keys import PullKey
from bot.providers.counting import RequestTally
from bot.retry import ForgeAnswer, classify
from bot.store import Store, dirty, installations, pulls, reconcile_marks
from bot.store.runs import OK
from bot.store.tables import evaluations, runs

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=2)
"""How far behind its mark a walk starts again: the forge's and the bot's clocks may differ."""

FORGE_TIME_STEP = timedelta(seconds=1)

FORGE_ERRORS = (GithubException, ForgeAnswer, requests.RequestException, LookupError)


@dataclass(frozen=True)
class Repository:
    repo: str
    installation_id: int | None
    mark: datetime | None
    first_since: datetime | None  # where a first walk starts


@dataclass
class _Tally:
    examined: int = 0
    marked: list[tuple[PullKey, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reached: list[datetime] = field(default_factory=list)
    complete: bool = True


class Reconcile:
    """The reconcile step for one forge."""

    name = "reconcile"

    def __init__(
        self,
        lister: PullLister,
        store: Store,
        *,
        budget: int,
        only_repo: str | None = None,
        since: datetime | None = None,
        wake: Callable[[PullKey], object] | None = None,
    ) -> None:
        self.lister = lister
        self.provider = lister.provider
        self.store = store
        self.budget = budget
        self.only_repo = only_repo
        self.since = since
        self.wake = wake

    def repositories(self, now: datetime) -> list[Repository]:
        """The repositories to walk, those with the oldest marks first."""
        with self.store.begin() as conn:
            marks = reconcile_marks.all_of(conn, self.provider)
            found: dict[str, Repository] = {}
            for known in pulls.known_repositories(conn, self.provider):
                mark = marks.get(known.repo)
                first = known.oldest_open_update or known.last_seen
                found[known.repo] = Repository(
                    known.repo, known.installation_id, mark.reconciled_to if mark else None,
                    min(first, known.last_seen),
                )
            for installation in installations.live(conn, self.provider):
                for repo in installation.repositories or ():
                    if repo in found:
                        if found[repo].installation_id is None:
                            found[repo] = Repository(
                                repo, installation.installation_id, found[repo].mark,
                                found[repo].first_since,
                            )
                        continue
                    mark = marks.get(repo)
                    found[repo] = Repository(
                        repo, installation.installation_id,
                        mark.reconciled_to if mark else None, installation.updated_at,
                    )
        chosen = [r for r in found.values() if self.only_repo in (None, r.repo)]
        if self.only_repo is not None and not chosen:
            chosen = [Repository(self.only_repo, None, None, now)]
        return sorted(chosen, key=lambda r: (r.mark or r.first_since or now, r.repo))

    def run(self, now: datetime) -> StepReport:
        tally = RequestTally()
        found = _Tally()
        stopped: str | None = None
        for repository in self.repositories(now):
            if tally.total >= self.budget:
                stopped = "the round's request budget is spent"
            if stopped is not None:
                found.complete = False
                found.lines.append(f"{self._scope(repository.repo)}: not walked ({stopped})")
                continue
            stopped = self._walk(repository, now, tally, found)
        for key, _ in found.marked:
            if self.wake is not None:
                self.wake(key)
        return StepReport(
            step=self.name,
            scope=self.provider,
            examined=found.examined,
            acted=len(found.marked),
            requests=tally.total,
            caught_up_to=min(found.reached) if found.reached else None,
            complete=found.complete and not found.errors,
            error="; ".join(found.errors) if found.errors else None,
            lines=tuple(found.lines),
        )

    def _scope(self, repo: str) -> str:
        return f"{self.provider}:{repo}"

    def _since(self, repository: Repository) -> datetime | None:
        if self.since is not None:
            return self.since
        start = repository.mark if repository.mark is not None else repository.first_since
        return start - OVERLAP if start is not None else None

    def _walk(
        self, repository: Repository, now: datetime, tally: RequestTally, found: _Tally
    ) -> str | None:
        """Walk one repository down to its mark; return why the round must stop, if it must."""
        since = self._since(repository)
        whole = False
        stop: str | None = None
        try:
            for page in self.lister.pages(repository.repo, repository.installation_id, since, tally):
                listed = [p for p in page.pulls if since is None or p.updated_at >= since]
                reached_mark = len(listed) < len(page.pulls)
                found.examined += len(listed)
                self._settle(repository, listed, now, found)
                if reached_mark or page.last:
                    whole = True
                    break
                if page.rate_limit_low:
                    stop = "the forge's rate limit is low"
                    break
                if tally.total >= self.budget:
                    stop = "the round's request budget is spent"
                    break
        except FORGE_ERRORS as exc:
            found.errors.append(f"{repository.repo}: {_sentence(exc)}")
            log.warning("reconcile of %s failed: %s", self._scope(repository.repo), _sentence(exc))
        if whole:
            # The range [since, now] was walked whole: a later walk may start at `now`.
            covered = since is None or repository.mark is None or since <= repository.mark
            if covered:
                with self.store.begin() as conn:
                    reconcile_marks.advance(conn, self.provider, repository.repo, now, now)
                found.reached.append(now)
            elif repository.mark is not None:
                found.reached.append(repository.mark)
        else:
            found.complete = False
            if repository.mark is not None:
                found.reached.append(repository.mark)
            if stop is not None:
                found.lines.append(f"{self._scope(repository.repo)}: stopped early ({stop})")
        return stop

    def _settle(
        self, repository: Repository, listed: Sequence[ListedPull], now: datetime, found: _Tally
    ) -> None:
        """Mark (and remember) every PR of one page the store knows differently."""
        if not listed:
            return
        with self.store.begin() as conn:
            marks: dict[PullKey, int | None] = {}
            for pull in listed:
                key = PullKey(self.provider, repository.repo, pull.number)
                reason = _difference(conn, key, pull)
                if reason is None:
                    continue
                looked = _looked_since(conn, key, pull.updated_at)
                if not looked:
                    marks[key] = repository.installation_id
                pulls.remember(
                    conn,
                    pulls.PullState(
                        provider=self.provider,
                        repo=repository.repo,
                        number=pull.number,
                        base_ref=pull.base_ref,
                        head_sha=pull.head_sha,
                        state=pull.state,
                        installation_id=repository.installation_id,
                        updated_at=pull.updated_at,
                    ),
                    now,
                )
                if not looked:
                    found.marked.append((key, reason))
                    found.lines.append(f"{key} marked: {reason}")
            dirty.mark_many(conn, marks, now)


def _difference(conn: Connection, key: PullKey, pull: ListedPull) -> str | None:
    """Why the store's knowledge of `pull` is out of date, or None when it is not."""
    known = pulls.get(conn, key.provider, key.repo, key.number)
    if known is None:
        return "opened while unseen" if pull.state == pulls.OPEN else None
    if known.state != pull.state:
        return f"{known.state} in the store, {pull.state} on the forge"
    if known.head_sha.lower() != pull.head_sha:
        return f"head {known.head_sha[:7]} in the store, {pull.head_sha[:7]} on the forge"
    if known.base_ref != pull.base_ref:
        return f"base {known.base_ref} in the store, {pull.base_ref} on the forge"
    if known.updated_at is None or pull.updated_at > known.updated_at:
        return "updated since the store heard of it"
    # A PR still marked is waiting for its evaluation; marking it again would only
    # cut short the back-off of one whose evaluations keep failing.
    if (
        pull.state == pulls.OPEN
        and not _has_verdict(conn, key, pull.head_sha)
        and dirty.get(conn, key) is None
    ):
        return "no verdict for its head"
    return None


def _looked_since(conn: Connection, key: PullKey, updated_at: datetime) -> bool:
    """Whether a run of the PR ended well after the forge last updated it: the worker
    read it as it is now, and the store's row is only behind on what the bot did itself
    (a merge, a comment), whose webhooks need not have come back."""
    r = runs
    return bool(
        conn.execute(
            select(
                exists().where(
                    r.c.provider == key.provider,
                    r.c.repo == key.repo,
                    r.c.number == key.number,
                    r.c.outcome == OK,
                    # GitHub's times have one-second steps: a run that ended in the
                    # same second as the update may have read the PR before it.
                    r.c.finished_at >= updated_at + FORGE_TIME_STEP,
                )
            )
        ).scalar()
    )


def _has_verdict(conn: Connection, key: PullKey, sha: str) -> bool:
    e = evaluations
    return bool(
        conn.execute(
            select(
                exists().where(
                    e.c.provider == key.provider,
                    e.c.repo == key.repo.lower(),
                    e.c.number == key.number,
                    e.c.sha == sha,
                )
            )
        ).scalar()
    )


def _sentence(exc: Exception) -> str:
    """One sentence about a failure, without the URL or request data a library's text
    may quote."""
    if isinstance(exc, LookupError):
        return str(exc.args[0]) if exc.args else "not found"
    failure = classify(exc, time.time())
    status = f" {failure.status}" if failure.status else ""
    return f"the forge's list failed ({failure.kind}{status})"
