"""The merge step: merge exactly the approved head, once, and say so once.

Runs after the verdict is published, when the gate lets the PR merge and
something armed it (`merge.auto` with its trigger today — `armed_by="auto"`;
a person's `/gate merge` later, through the same `armed_by` seam):

1. the policy's method must be one the repository allows, else one comment;
2. the merge lock of (repository, base branch) is taken (`bot.store.merges`),
   so merges into one branch happen one after the other across processes;
3. under it the PR is read afresh: a moved head or base sends the PR round
   again (the new state is evaluated without waiting for a webhook);
   `mergeable: null` (GitHub still computing) looks again shortly, a bounded
   number of times; a branch `behind` its base is updated (with
   `expected_head_sha`) when the policy says so, and the checks of the new
   head are waited for by doing nothing more until the next evaluation;
4. the intent is written, then the call is made with `sha` = the head;
5. its answer settles the intent: merged → audit, comment (method and merge
   SHA), the head branch deleted if asked (never a fork's, never one another
   open PR targets), the other open PRs into the base marked dirty; 409 →
   abandoned and the PR marked again; 405 and other refusals → re-read (merged
   counts as merged), else one comment saying why; 5xx or no answer → re-read,
   and if it is not merged the intent stays open and the PR is tried later.

`reconcile` settles intents left open by a crash or a lost answer against
the PR's real state before anything is tried again: merged at that head →
merged; head moved or PR closed → abandoned; still open at that head → the
call did not take effect, and a later merge may be tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.gate import Decision
from bot.core.merge_commit import PullFacts, commit_message, commit_title
from bot.core.policy.models import MergeConfig
from bot.core.snapshot import Snapshot
from bot.keys import Job, PullKey
from bot.pipeline.errors import ForgeUnavailable
from bot.providers.base import ForgeEvaluation, MergeState
from bot.store import Store, dirty, merges, pulls

log = logging.getLogger(__name__)

NULL_LOOKS = 5
"""How many times a PR whose mergeability GitHub is still computing is looked at again."""

# Feedback outcomes: the comment keys, one comment per (PR, head, outcome).
SAID_MERGED = "merged"
SAID_REFUSED = "refused"
SAID_METHOD = "method-not-allowed"
SAID_CONFLICT = "conflict"
SAID_UPDATE = "update-refused"


def branch_kept_because(state: MergeState, dependents: Iterable[int]) -> str | None:
    """Why the merged PR's head branch must not be deleted, or None when it may be."""
    if state.from_fork:
        return "it belongs to a fork"
    others = sorted({n for n in dependents if n != state.number})
    if others:
        listed = ", ".join(f"#{n}" for n in others)
        return f"open PRs target it ({listed})"
    return None


def merged_comment(method: str, head_sha: str, merge_sha: str | None) -> str:
    into = f" as {merge_sha}" if merge_sha else ""
    return f"Merged {head_sha[:12]} with the `{method}` method{into}."


def refused_comment(reason: str) -> str:
    return f"Could not merge this PR: {reason}"


def method_comment(method: str, allowed: frozenset[str]) -> str:
    others = ", ".join(f"`{m}`" for m in sorted(allowed)) or "none"
    return (
        f"The policy asks for the `{method}` merge method, which this repository does not "
        f"allow (allowed: {others}); the PR is not merged. Change `merge.method` in the "
        "policy or the repository's merge settings."
    )


@dataclass
class MergeStep:
    """Merges for one forge; shared by the worker threads of a process."""

    store: Store
    clock: Callable[[], datetime]
    lock_seconds: float
    null_looks: int = NULL_LOOKS
    _nulls: dict[tuple[PullKey, str], int] = field(default_factory=dict)

    # -- reconciliation ---------------------------------------------------------

    def reconcile(self, ev: ForgeEvaluation, job: Job) -> str | None:
        """Settle this PR's open intents against a fresh read; a summary, or None if none."""
        with self.store.begin() as conn:
            unsettled = merges.open_intents(conn, job.key)
        if not unsettled:
            return None
        state = ev.merge_state()
        notes = []
        for intent in unsettled:
            if state.merged and state.head_sha == intent.head_sha:
                notes.append(self._merged(ev, job, intent.head_sha, intent.method,
                                          intent.armed_by, state.merge_sha, state,
                                          delete_branch=intent.delete_branch))
                continue
            if state.merged:
                why = "the PR was merged at another head"
            elif state.state != "open":
                why = "the PR was closed"
            elif state.head_sha != intent.head_sha:
                why = "the head moved"
            else:
                why = None
            now = self.clock()
            with self.store.begin() as conn:
                if why is not None:
                    if merges.settle(conn, job.key, intent.head_sha, merges.ABANDONED, now,
                                     detail=why):
                        merges.record(conn, job.key, intent.head_sha, method=intent.method,
                                      armed_by=intent.armed_by, outcome="abandoned", now=now,
                                      detail=why)
                    notes.append(f"merge of {intent.head_sha[:12]} abandoned: {why}")
                else:
                    merges.settle(conn, job.key, intent.head_sha, merges.REFUSED, now,
                                  detail="the answer was lost and the PR is not merged")
                    notes.append(f"merge of {intent.head_sha[:12]} did not happen; may retry")
        return "; ".join(notes)

    # -- the merge ----------------------------------------------------------------

    def run(
        self,
        ev: ForgeEvaluation,
        job: Job,
        decision: Decision,
        snapshot: Snapshot,
        config: MergeConfig | None,
        armed_by: str | None,
    ) -> str | None:
        """Merge the PR if the decision allows it and something armed it; a summary or None."""
        if armed_by is None or not decision.merge_allowed:
            return None
        config = config or MergeConfig()
        key, sha = job.key, decision.head_sha
        with self.store.begin() as conn:
            known = merges.intent(conn, key, sha)
        if known is not None and known.state in (merges.MERGED, merges.ABANDONED):
            return f"merge of {sha[:12]} already {known.state}"

        allowed = ev.allowed_merge_methods()
        if config.method not in allowed:
            if self._say(ev, key, sha, SAID_METHOD, method_comment(config.method, allowed)):
                self._audit(key, sha, config.method, armed_by, "refused",
                            detail=f"the repository does not allow {config.method}")
            return f"not merged: the repository does not allow {config.method}"

        owner = job.lease.owner
        base = snapshot.base_ref
        with self.store.begin() as conn:
            locked = merges.acquire(conn, key.provider, key.repo, base, owner, self.clock(),
                                    self.lock_seconds)
        if not locked:
            self._again(job)
            return f"not merged yet: another merge into {base} is going on"
        try:
            return self._under_lock(ev, job, decision, snapshot, config, armed_by)
        finally:
            with self.store.begin() as conn:
                merges.release(conn, key.provider, key.repo, base, owner)

    def _under_lock(
        self,
        ev: ForgeEvaluation,
        job: Job,
        decision: Decision,
        snapshot: Snapshot,
        config: MergeConfig,
        armed_by: str,
    ) -> str:
        key, sha, method = job.key, decision.head_sha, config.method
        state = ev.merge_state()
        if state.merged or state.state != "open":
            return "not merged: the PR is no longer open"
        if state.head_sha != sha:
            self._again(job)
            return f"not merged: the head moved to {state.head_sha[:12]}; evaluating it"
        if state.base_sha != snapshot.base_sha:
            self._again(job)
            return f"not merged: {state.base_ref} moved; evaluating again"
        if state.mergeable is None:
            return self._still_computing(job, sha)
        self._nulls.pop((key, sha), None)
        if state.mergeable is False:
            self._say(ev, key, sha, SAID_CONFLICT, refused_comment(
                f"it conflicts with `{state.base_ref}`; resolve the conflicts and push."))
            return "not merged: conflicts with the base branch"
        if state.mergeable_state == "behind" and config.update_branch:
            return self._update(ev, key, sha, method, armed_by, state)

        facts = PullFacts(
            title=state.title,
            number=state.number,
            head_ref=state.head_ref,
            base_ref=state.base_ref,
            author=state.author,
            body=state.body,
            commit_messages=ev.commit_messages() if method != "rebase" else (),
        )
        title = commit_title(config.commit_title, facts)
        message = commit_message(config.commit_message, facts) if method != "rebase" else None

        if not job.lease.extend():
            return "not merged: the PR's lease was lost"
        with self.store.begin() as conn:
            intent = merges.open_intent(
                conn, key, sha, base_ref=state.base_ref, method=method, armed_by=armed_by,
                installation_id=job.access, now=self.clock(),
                delete_branch=config.delete_branch,
            )
        if intent is None:
            return f"not merged: a merge of {sha[:12]} is already under way"

        answer = ev.merge(sha, method, title, message)
        if answer.kind == "merged":
            return self._merged(ev, job, sha, method, armed_by, answer.merge_sha, state,
                                delete_branch=config.delete_branch)
        if answer.kind == "head_moved":
            self._settle(key, sha, merges.ABANDONED, method, armed_by, "head moved",
                         detail=answer.message)
            self._again(job)
            return "not merged: the head moved (409); evaluating the new head"

        after = ev.merge_state()
        if after.merged and after.head_sha == sha:
            return self._merged(ev, job, sha, method, armed_by, after.merge_sha, after,
                                delete_branch=config.delete_branch)
        if answer.kind == "refused":
            self._settle(key, sha, merges.REFUSED, method, armed_by, "refused",
                         detail=answer.message)
            self._say(ev, key, sha, SAID_REFUSED, refused_comment(f"GitHub says: {answer.message}"))
            return f"not merged: {answer.message}"
        # No answer, or a 5xx: the PR is not merged as far as a fresh read shows; the
        # intent stays open and is reconciled before a later try.
        self._audit(key, sha, method, armed_by, "unknown", detail=answer.message)
        raise ForgeUnavailable(
            f"{key}: the merge of {sha[:12]} got no usable answer ({answer.message}); "
            "the PR is not merged and is tried again later"
        )

    def _merged(
        self,
        ev: ForgeEvaluation,
        job: Job,
        sha: str,
        method: str,
        armed_by: str,
        merge_sha: str | None,
        state: MergeState,
        *,
        delete_branch: bool,
    ) -> str:
        key = job.key
        self._settle(key, sha, merges.MERGED, method, armed_by, "merged", merge_sha=merge_sha)
        self._say(ev, key, sha, SAID_MERGED, merged_comment(method, sha, merge_sha))
        note = f"merged {sha[:12]} ({method})"
        if delete_branch:
            note += "; " + self._delete_branch(ev, key, state)
        self._others_on_base(key, state.base_ref)
        return note

    def _delete_branch(self, ev: ForgeEvaluation, key: PullKey, state: MergeState) -> str:
        dependents: set[int] = set()
        if not state.from_fork:
            with self.store.begin() as conn:
                known = pulls.open_on_base(conn, key.provider, key.repo, state.head_ref)
            dependents = {p.number for p in known} | set(ev.open_pulls_into(state.head_ref))
        kept = branch_kept_because(state, dependents)
        if kept is not None:
            return f"branch {state.head_ref} kept: {kept}"
        ev.delete_branch(state.head_ref)
        return f"branch {state.head_ref} deleted"

    def _others_on_base(self, key: PullKey, base_ref: str) -> None:
        """The other PRs into the base: their mergeability and "behind" changed."""
        with self.store.begin() as conn:
            others = pulls.open_on_base(conn, key.provider, key.repo, base_ref)
            marks = {
                PullKey(key.provider, p.repo, p.number): p.installation_id
                for p in others
                if p.number != key.number
            }
            dirty.mark_many(conn, marks, self.clock())

    def _update(
        self,
        ev: ForgeEvaluation,
        key: PullKey,
        sha: str,
        method: str,
        armed_by: str,
        state: MergeState,
    ) -> str:
        why = ev.update_branch(sha)
        if why is not None:
            self._say(ev, key, sha, SAID_UPDATE, refused_comment(
                f"its branch is behind `{state.base_ref}` and could not be updated: {why}"))
            self._audit(key, sha, method, armed_by, "update refused", detail=why)
            return f"not merged: the branch could not be updated ({why})"
        self._audit(key, sha, method, armed_by, "branch updated",
                    detail=f"{state.base_ref} merged into {state.head_ref}")
        return f"not merged yet: {state.head_ref} updated from {state.base_ref}; " \
            "waiting for checks on the new head"

    def _still_computing(self, job: Job, sha: str) -> str:
        looks = self._nulls.get((job.key, sha), 0) + 1
        self._nulls[(job.key, sha)] = looks
        if looks > self.null_looks:
            return "not merged: GitHub has not computed mergeability; waiting for an event"
        self._again(job)
        return "not merged yet: GitHub is computing mergeability; looking again shortly"

    # -- bookkeeping ----------------------------------------------------------------

    def _again(self, job: Job) -> None:
        """Mark the PR dirty again: the worker runs it once more when this run ends."""
        with self.store.begin() as conn:
            dirty.mark(conn, job.key, self.clock(), job.access)

    def _settle(
        self,
        key: PullKey,
        sha: str,
        state: str,
        method: str,
        armed_by: str,
        outcome: str,
        *,
        merge_sha: str | None = None,
        detail: str | None = None,
    ) -> None:
        now = self.clock()
        with self.store.begin() as conn:
            if merges.settle(conn, key, sha, state, now, merge_sha=merge_sha, detail=detail):
                merges.record(conn, key, sha, method=method, armed_by=armed_by, outcome=outcome,
                              now=now, merge_sha=merge_sha, detail=detail)

    def _audit(
        self, key: PullKey, sha: str, method: str, armed_by: str, outcome: str,
        *, detail: str | None = None,
    ) -> None:
        with self.store.begin() as conn:
            merges.record(conn, key, sha, method=method, armed_by=armed_by, outcome=outcome,
                          now=self.clock(), detail=detail)

    def _say(self, ev: ForgeEvaluation, key: PullKey, sha: str, outcome: str, body: str) -> bool:
        """Write the one comment for (PR, head, outcome); False if it was written before."""
        with self.store.begin() as conn:
            if not merges.claim_feedback(conn, key, sha, outcome, self.clock()):
                return False
        posted: int | None = None
        try:
            posted = ev.comment(body)
        finally:
            with self.store.begin() as conn:
                if posted is None:
                    merges.drop_feedback(conn, key, sha, outcome)
                else:
                    merges.feedback_posted(conn, key, sha, outcome, posted)
        return True
