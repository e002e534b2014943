"""What a PR's proposed policy would change for the other open PRs: the shell around
`bot.core.simulate`.

Every evaluation keeps the PR's snapshot in the store (`remember`), with the
policy that judged it and what that policy made it read; a closed PR is
forgotten. A PR that edits its base branch's policy file (or CODEOWNERS, or
the owner-wide policy) with a valid file gets the impact of its edit
(`section`), from those stored snapshots of the open PRs into the same
base — or, for the owner-wide policy, of the owner's PRs it governs, shown
as counts only. No forge read is made for them, except a bounded refresh
(`REFRESH_LIMIT` per run) of those whose stored parts lack something the
proposed policy reads (checks, comments, teams...).

When a PR's snapshot changes, the PRs showing an impact on it are marked
for work after `delay_seconds` (`dirty.mark_later`): a burst of changes
costs one recomputation, and nothing else about them is touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ValidationError

from bot.core.impact import Impact, ImpactCounts
from bot.core.policy.evaluate import needs_for
from bot.core.policy.needs import SnapshotNeeds
from bot.core.simulate import Policies, StoredPull, impact
from bot.core.snapshot import Snapshot
from bot.keys import ForgeAccess, PullKey
from bot.providers.base import Forge
from bot.store import Store, dirty, pull_snapshots
from bot.store.pull_snapshots import SavedPull

log = logging.getLogger(__name__)

REFRESH_LIMIT = 10
"""Other PRs read again from the forge, at most, for one impact section."""

Scope = Literal["base", "owner"]
OWNER_ORIGINS = ("owner",)
"""The policies the owner-wide one is: PRs judged by another are not affected."""


def needs_json(needs: SnapshotNeeds) -> str:
    """`needs` as stored beside a snapshot."""
    return json.dumps(
        {
            name: sorted(value) if isinstance(value, frozenset) else value
            for name, value in vars(needs).items()
        },
        sort_keys=True,
    )


def needs_of(text: str) -> SnapshotNeeds:
    """The needs stored by `needs_json`; nothing for a row that cannot be read."""
    try:
        raw = json.loads(text)
        return SnapshotNeeds(
            comments=bool(raw["comments"]),
            checks=bool(raw["checks"]),
            codeowners=bool(raw["codeowners"]),
            teams=frozenset(raw["teams"]),
            organizations=frozenset(raw["organizations"]),
            author=bool(raw["author"]),
            comment_phrases=frozenset(raw["comment_phrases"]),
            comment_patterns=frozenset(raw["comment_patterns"]),
        )
    except (ValueError, TypeError, KeyError):
        # Read as needing nothing: the row is refreshed when the impact needs more.
        return SnapshotNeeds()


def covers(have: SnapshotNeeds, want: SnapshotNeeds) -> bool:
    """Whether a snapshot read for `have` holds everything `want` reads."""
    return (have | want) == have


def digest(snapshot: Snapshot) -> str:
    """The snapshot as the policy sees it: its evaluation time and the bot's own
    verdicts left out (posting one is no change of the PR)."""
    prefix = snapshot.bot.context_prefix
    checks = tuple(
        c for c in snapshot.checks if c.name != prefix and not c.name.startswith(f"{prefix}:")
    )
    # Sorted keys: the same facts read in another order (a dict of people) are no change.
    body = json.dumps(
        snapshot.model_copy(update={"checks": checks}).model_dump(
            mode="json", exclude={"evaluated_at"}
        ),
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def snapshot_of(saved: SavedPull) -> Snapshot | None:
    try:
        return Snapshot.model_validate_json(saved.snapshot)
    except ValidationError:
        log.warning("%s#%d: its stored snapshot is unreadable; left out", saved.repo, saved.number)
        return None


@dataclass(frozen=True)
class Judged:
    """The policy that judged a PR, as kept beside its snapshot."""

    origin: str | None
    filename: str | None
    text: str | None


@dataclass
class ImpactStep:
    """Keeps the snapshots and computes the impact section of a policy-changing PR."""

    store: Store
    forge: Forge
    clock: Callable[[], datetime]
    delay_seconds: float

    def remember(
        self,
        key: PullKey,
        snapshot: Snapshot,
        judged: Judged,
        needs: SnapshotNeeds,
        proposes: Scope | None,
        access: ForgeAccess,
        *,
        mark_watchers: bool = True,
    ) -> None:
        """Keep `snapshot`; if it changed, mark the PRs showing an impact on it (acting
        through `access`: they are of the same owner, whose installation it is)."""
        now = self.clock()
        saved = SavedPull(
            provider=key.provider,
            repo=key.repo,
            number=key.number,
            base_ref=snapshot.base_ref,
            head_sha=snapshot.head_sha,
            origin=judged.origin,
            policy_file=judged.filename,
            policy_text=judged.text,
            needs=needs_json(needs),
            snapshot=snapshot.model_dump_json(),
            digest=digest(snapshot),
            proposes=proposes,
            saved_at=now,
        )
        with self.store.begin() as conn:
            changed = pull_snapshots.save(conn, saved)
            if not (changed and mark_watchers):
                return
            for repo, number in pull_snapshots.proposing(
                conn, key.provider, key.repo, snapshot.base_ref,
                owner_wide=judged.origin in OWNER_ORIGINS,
            ):
                watcher = PullKey(key.provider, repo, number)
                if watcher != key:
                    dirty.mark_later(conn, watcher, now, self.delay_seconds, access)

    def forget(self, key: PullKey) -> None:
        with self.store.begin() as conn:
            pull_snapshots.forget(conn, key.provider, key.repo, key.number)

    def section(
        self,
        key: PullKey,
        access: ForgeAccess,
        base_ref: str,
        current: Policies,
        proposed: Policies,
        scope: Scope,
        codeowners: str | None = None,
    ) -> Impact | ImpactCounts:
        """The impact of `proposed` over `current` on the other open PRs `scope` covers;
        counts only for the owner-wide policy. `codeowners`: the CODEOWNERS text the PR
        proposes, when it edits that file."""
        with self.store.begin() as conn:
            rows = (
                pull_snapshots.on_base(conn, key.provider, key.repo, base_ref)
                if scope == "base"
                else pull_snapshots.of_owner(
                    conn, key.provider, key.repo.split("/", 1)[0], OWNER_ORIGINS
                )
            )
        rows = [r for r in rows if (r.repo, r.number) != (key.repo, key.number)]
        wanted = needs_for(current.policy, current.floor) | needs_for(
            proposed.policy, proposed.floor
        )
        pulls = self._refreshed(access, rows, wanted)
        if codeowners is not None:
            pulls = [
                StoredPull(p.repo, p.snapshot, p.snapshot.model_copy(update={"codeowners": codeowners}))
                for p in pulls
            ]
        found = impact(base_ref, current, proposed, pulls)
        return found.counts() if scope == "owner" else found

    def _refreshed(
        self, access: ForgeAccess, rows: Sequence[SavedPull], wanted: SnapshotNeeds
    ) -> list[StoredPull]:
        """The stored PRs, those lacking parts `wanted` reads read again (at most
        `REFRESH_LIMIT`; the rest are judged from what is stored)."""
        pulls: list[StoredPull] = []
        refreshed = 0
        for row in rows:
            snapshot = snapshot_of(row)
            if snapshot is None:
                continue
            have = needs_of(row.needs)
            if not covers(have, wanted) and refreshed < REFRESH_LIMIT:
                refreshed += 1
                snapshot = self._read_again(access, row, have | wanted) or snapshot
            pulls.append(StoredPull(row.repo, snapshot))
        return pulls

    def _read_again(
        self, access: ForgeAccess, row: SavedPull, needs: SnapshotNeeds
    ) -> Snapshot | None:
        key = PullKey(row.provider, row.repo, row.number)
        with self.forge.evaluation(key, access) as ev:
            head = ev.pull()
            if head.state != "open":
                return None
            snapshot = ev.snapshot(needs)
        judged = Judged(row.origin, row.policy_file, row.policy_text)
        proposes: Scope | None = "base" if row.proposes == "base" else (
            "owner" if row.proposes == "owner" else None
        )
        # Reading more of a PR changes nothing about it: no one is marked for this.
        self.remember(key, snapshot, judged, needs, proposes, access, mark_watchers=False)
        return snapshot
