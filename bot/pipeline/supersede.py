"""Withdrawing the successes a PR left behind: `pending` where its head or base moved on.

A status and a check run are per (commit, context), and the forge's branch
protection reads the latest one at once. When a PR's head leaves SHA X (a
push) or its base changes (a retarget), a success the bot posted for X under
the old context would keep saying success — and if the head comes back
(A → B → A) or the PR is retargeted back, anyone with merge rights could merge
on it before the bot re-evaluates, although comment approvals and overrides
from before the return no longer count. So, right after the worker recorded
the PR's head and base (`note_head`), every (head, base) the PR had before
whose last posted verdict is an enforcing success gets `pending`
("superseded: no longer the head of #N" / "re-evaluating after retarget"),
status and check run alike. One store read per run; a write only where a
success is withdrawn, so a normal push costs one extra write at most, and
none once withdrawn.

A commit can be the head of two open PRs into the same base, which share the
status: withdrawing it for one withdraws it for the other too (fails closed).
Those other PRs are marked dirty, so the sweep re-evaluates them and posts
their own verdict again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.snapshot import HeadChange
from bot.core.superseded import superseded_decision, superseded_pairs
from bot.keys import PullKey
from bot.providers.base import ForgeEvaluation, PullHead
from bot.providers.publishing import context_for
from bot.store import Store, dirty, evaluations, pull_heads, pulls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Superseding:
    """Withdraws a PR's stale successes; shared by the worker threads of a process."""

    store: Store
    clock: Callable[[], datetime]

    def run(self, ev: ForgeEvaluation, key: PullKey, head: PullHead) -> str | None:
        """Post `pending` over every success the PR left behind; a note, or None."""
        with self.store.begin() as conn:
            history = [
                HeadChange(sha=r.sha, base_ref=r.base_ref, at=r.at)
                for r in pull_heads.history(conn, key)
            ]
            left = superseded_pairs(history, head.head_sha, head.base_ref)
            if not left:
                return None
            bases = {(sha, context_for(base)): base for sha, base in left}
            stale = evaluations.passing_among(conn, key.provider, key.repo, bases)
        withdrawn: list[str] = []
        for posted in stale:
            base = bases[(posted.sha, posted.context)]
            retarget = head.base_ref if posted.sha == head.head_sha else None
            decision = superseded_decision(posted.sha, key.number, now_base=retarget)
            ev.publish_commit(decision, base, details_url=None)
            self._wake_sharers(key, posted.sha)
            withdrawn.append(f"{posted.sha[:12]} ({posted.context})")
        if not withdrawn:
            return None
        log.info("%s: withdrew the success on %s", key, ", ".join(withdrawn))
        return f"success withdrawn on {', '.join(withdrawn)}"

    def _wake_sharers(self, key: PullKey, sha: str) -> None:
        """Mark the other open PRs whose head is `sha`: their shared status was just
        withdrawn, their next run posts their own verdict again."""
        with self.store.begin() as conn:
            others = {
                PullKey(key.provider, p.repo, p.number): p.installation_id
                for p in pulls.open_for_sha(conn, key.provider, key.repo, sha)
                if p.number != key.number
            }
            dirty.mark_many(conn, others, self.clock())
