"""One dirty PR, start to finish: the pipeline's steps in the order they run.

`PullPipeline` works through any forge behind `bot.providers.base`:

1. read the PR (`pull()`); a closed or merged PR gets nothing posted (a
   merged one is deployed, see 10, and comment commands on it are answered);
2. note its head and base in the PR's head history: a change whose event was
   missed (or has not arrived yet) is recorded now, so a head that came back
   or a retarget is never judged by an older time; then every success the bot
   posted on a head or under a base the PR has left is withdrawn (`pending`,
   `bot.pipeline.supersede`), so a head that comes back or a retarget back
   finds no old success to merge on;
3. load the policy from the head of the base branch, with the forge's
   fallbacks, beside the operator's floor (`policies.governing`); with
   neither, stay silent;
3b. take the PR's new comment commands (`bot.pipeline.commands`): holds,
   overrides and merge armings are written before the snapshot, so this
   very evaluation shows them;
4. read the snapshot, only the parts the policies need;
5. if the PR edits a policy file that would govern after the merge,
   validate the PR head's version of it;
6. evaluate (pure) and decide the gate; keep the snapshot for other PRs'
   impact sections and, when the PR edits the policy (or CODEOWNERS, or the
   owner-wide policy) with a valid file, add what the edit would change for
   the other open PRs (`bot.pipeline.impact`) — beside the verdict, never in it;
7. renew the lease, then publish: status and check run `<prefix>: <base>`
   (a neutral check run alone in `report` mode), linking to the details
   page. The publisher records what it posted — the details page and "post
   only on change" read that record; this run's verdict for the PR, head and
   context is kept beside it (`bot.store.verdicts`), for the deploy step, as
   of the moment the PR was read (a head change recorded after it makes the
   verdict stale);
8. when a new verdict was written, tell whoever waits on it (`on_posted`:
   merge-queue groups holding the PR);
9. merge (`bot.pipeline.merge`) when the gate allows it and `merge.auto`
   (with its trigger) or a person's `/gate merge` armed it. Merge intents a
   crash or a lost answer left open are reconciled right after the first
   read, before anything else;
10. deploy (`bot.pipeline.deploy`) the merge commit of a PR found merged —
   merged by the bot in this run, or by anyone before it (a `closed` event
   marks the PR) — when its merged head passed the gate for this PR and
   base; the `deploy` entries (and, on a merged PR, the commands' rules)
   come from the policy on the repository's default branch;
11. answer the comment commands: reactions, and one reply per comment where
   there is something to say (the verdict for `status`, what is missing for
   an armed `merge`...).

Each step is a line below; the function returns the one-line summary kept
in the run record. Errors are not caught here (see `errors.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot import links, logs
from bot.core import replies
from bot.core.gate import Decision, decide
from bot.core.impact import Impact, ImpactCounts
from bot.core.policy.evaluate import evaluate, needs_for
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.problems import Problem
from bot.core.simulate import Policies
from bot.core.snapshot import Snapshot
from bot.keys import Job, PullKey
from bot.pipeline.commands import LATER_DEPLOY, CommandStep, RunFacts, Taken
from bot.pipeline.deploy import DeployStep, MergedPull
from bot.pipeline.deploy_targets import TargetCaller
from bot.pipeline.impact import ImpactStep, Judged, Scope
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.policies import (
    Governing,
    changed_policy_paths,
    changed_policy_problems,
    governing,
    policy_file,
    too_large_problem,
)
from bot.pipeline.supersede import Superseding
from bot.providers.base import (
    FileTooLarge,
    Forge,
    ForgeEvaluation,
    PolicySources,
    PublishOutcome,
    PullHead,
)
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store, apps, commands, merges, pull_heads, verdicts

log = logging.getLogger(__name__)

DetailsLink = Callable[[PullKey, str], str | None]
"""The signed details-page link of a PR's verdict for one head SHA, or None."""


@dataclass(frozen=True)
class Proposal:
    """A policy file this PR edits, as it is at the PR's head."""

    scope: Scope
    """`base`: the repository's policy for the base branch; `owner`: the owner-wide one."""
    path: str
    text: str


@dataclass
class PullPipeline:
    """Evaluates and publishes one PR per call."""

    forge: Forge
    store: Store
    operator: OperatorConfig
    policy_paths: Sequence[str]
    """The forge's repository policy files, in lookup order."""
    details_url: DetailsLink
    on_posted: Callable[[PullKey], object] | None = None
    """Called when a new verdict was written (merge groups waiting on the PR wake up)."""
    merging: MergeStep | None = None
    """The merge step; None never merges."""
    deploying: DeployStep | None = None
    """The deploy step; None never deploys."""
    commands: CommandStep | None = None
    """The comment-command step; None leaves comments unanswered."""
    superseding: Superseding | None = None
    """Withdraws the successes the PR left behind; None leaves them."""
    owner_policy: Callable[[str], str | None] | None = None
    """The path of the owner-wide policy when a repository holds it (GitHub: the
    owner's `.github` repository), so PRs into its default branch that edit it
    are validated like a repository's own policy file."""
    impact: ImpactStep | None = None
    """Keeps each PR's snapshot and shows a policy-changing PR what its change would
    do to the others; None shows nothing."""
    codeowners_paths: Sequence[str] = ()
    """Where the forge looks for CODEOWNERS, in order."""

    def __call__(self, job: Job) -> str:
        with self.forge.evaluation(job.key, job.access) as ev:
            return self.run(ev, job)

    def run(self, ev: ForgeEvaluation, job: Job) -> str:
        head = ev.pull()
        logs.note(head_sha=head.head_sha)  # every line of this run names the head it judged
        # What this run decides is about the PR as read now: a head or base change
        # recorded later makes its verdict stale for the deploy step.
        read_at = self.forge.clock()
        reconciled = self.merging.reconcile(ev, job) if self.merging is not None else None
        if head.state != "open":
            return self._closed(ev, job, head, reconciled)
        note_head(self.store, job.key, head, read_at)
        withdrawn = (
            self.superseding.run(ev, job.key, head) if self.superseding is not None else None
        )
        if self.commands is not None:
            self.commands.drop_retargeted_arm(job.key)

        sources = ev.policy_sources()
        policies = self._governing(ev, job, sources)
        taken = self._take(ev, job, head, policies)
        if policies.silent:
            answered = self._answer(ev, job, taken, RunFacts(head=head))
            return "; ".join(
                n for n in ("no policy applies to this repository: nothing posted", answered) if n
            )

        snapshot = ev.snapshot(needs_for(policies.policy, policies.floor))
        changed, proposals = self._changed_policy(ev, job.key, head, sources, policies, snapshot)
        evaluation = evaluate(
            policies.policy,
            snapshot,
            policies.floor,
            policy_errors=policies.problems,
            changed_policy_errors=changed,
        )
        decision = replace(
            decide(evaluation, snapshot),
            policy_file=policy_file(job.key.repo, policies.source),
        )
        if self.impact is not None:
            decision = self._with_impact(ev, job, head, policies, snapshot, changed, proposals,
                                         decision)

        if not job.lease.extend():
            # Another worker took the PR over; it publishes (and answers) what it finds.
            return f"{decision.state}: lease lost before publishing, nothing posted"
        details = self.details_url(job.key, decision.head_sha)
        outcome = ev.publish(decision, details_url=details)
        self._record_verdict(job.key, decision, outcome, read_at)
        if self.on_posted is not None and not outcome.unchanged:
            self.on_posted(job.key)
        line = summary(decision, outcome)
        if withdrawn:
            line = f"{line}; {withdrawn}"
        merge_config = policies.policy.merge if policies.policy is not None else None
        merge_note: str | None = None
        merged = False
        if self.merging is not None:
            armed_by = merges.AUTO if decision.auto_merge else None
            if armed_by is None and self.commands is not None:
                armed_by = self.commands.armed_by(job.key)  # a person's `/gate merge`
            merge_note = self.merging.run(ev, job, decision, snapshot, merge_config, armed_by)
            if merge_note:
                line = f"{line}; {merge_note}"
            with self.store.begin() as conn:
                done = merges.merged_intent(conn, job.key)
            merged = done is not None and done.head_sha == decision.head_sha
            if done is not None and merged and done.merge_sha:
                deployed = self._deploy(
                    ev, job, head, snapshot.base_ref, done.head_sha, done.merge_sha, policies
                )
                if deployed:
                    line = f"{line}; {deployed}"
        facts = RunFacts(
            decision=decision,
            head=head,
            auto_merge_policy=merge_config is not None and merge_config.auto,
            merge_note=merge_note,
            merged=merged,
            details_url=details,
        )
        answered = self._answer(ev, job, taken, facts)
        return f"{line}; {answered}" if answered else line

    def _with_impact(
        self,
        ev: ForgeEvaluation,
        job: Job,
        head: PullHead,
        policies: Governing,
        snapshot: Snapshot,
        problems: tuple[Problem, ...],
        proposals: Sequence[Proposal],
        decision: Decision,
    ) -> Decision:
        """Keep the PR's snapshot; when it edits a policy (or CODEOWNERS) with a valid
        file, `decision` with the impact section. The verdict stays as it is."""
        assert self.impact is not None
        codeowners = self._changed_codeowners(ev, head, snapshot)
        valid = not problems and (proposals or codeowners is not None)
        scope: Scope | None = None
        if valid:
            scope = "owner" if any(p.scope == "owner" for p in proposals) else "base"
        source = policies.source
        judged = Judged(
            source.origin if source else None,
            source.filename if source else None,
            source.text if source else None,
        )
        self.impact.remember(job.key, snapshot, judged,
                             needs_for(policies.policy, policies.floor), scope, job.access)
        if scope is None:
            return decision
        try:
            found = self._impact(ev, job, head, policies, proposals, codeowners, scope)
        except Exception:
            # The section is shown beside the verdict, never part of it: a failure to
            # compute it must not change what is posted.
            log.exception("%s: the impact of its policy change could not be computed", job.key)
            return decision
        return decision if found is None else replace(decision, impact=found)

    def _impact(
        self,
        ev: ForgeEvaluation,
        job: Job,
        head: PullHead,
        policies: Governing,
        proposals: Sequence[Proposal],
        codeowners: str | None,
        scope: Scope,
    ) -> Impact | ImpactCounts | None:
        assert self.impact is not None
        current = Policies(policies.policy, policies.floor, policies.problems)
        proposed = current
        owner = next((p for p in proposals if p.scope == "owner"), None)
        if owner is not None:
            # Today's owner-wide policy is the one on the branch this PR merges into.
            base_text = ev.file_at(owner.path, head.base_ref)
            current = Policies(self._load(base_text, owner.path, job), policies.floor)
            proposed = Policies(self._load(owner.text, owner.path, job), policies.floor)
        elif proposals:
            proposed = Policies(self._load(proposals[0].text, proposals[0].path, job),
                                policies.floor)
        if proposed.policy is None:
            return None  # a pointer to a policy elsewhere: nothing to try here
        return self.impact.section(job.key, job.access, head.base_ref, current, proposed, scope,
                                  codeowners)

    def _load(self, text: str | None, path: str, job: Job) -> Policy | None:
        if text is None:
            return None
        return load_policy_file(text, path, deploy_targets=self.operator.deploy_targets,
                                repo=job.key.repo).policy

    def _changed_codeowners(
        self, ev: ForgeEvaluation, head: PullHead, snapshot: Snapshot
    ) -> str | None:
        """The CODEOWNERS this PR proposes, when it edits the one its policy reads."""
        changed = {f.path for f in snapshot.files if f.status != "removed"}
        if not changed & set(self.codeowners_paths):
            return None
        for path in self.codeowners_paths:
            if path in changed:
                return ev.file_at(path, head.head_sha)
            if ev.file_at(path, head.base_ref) is not None:
                return None  # the base's file here governs, and the PR leaves it alone
        return None

    def _closed(
        self, ev: ForgeEvaluation, job: Job, head: PullHead, reconciled: str | None
    ) -> str:
        """A closed PR: nothing is posted; a merged one is deployed; commands are answered."""
        notes = [f"PR is {'merged' if head.merged else head.state}: nothing posted", reconciled]
        if self.impact is not None:
            self.impact.forget(job.key)
        policies: Governing | None = None
        if head.merged and head.merge_sha:
            policies = self._governing(ev, job)
            notes.append(self._deploy(ev, job, head, head.base_ref, head.head_sha,
                                      head.merge_sha, policies))
        if self.commands is not None:
            self.commands.disarm(job.key)  # a reopened PR is not merged on an old say-so
            with self.store.begin() as conn:
                waiting = bool(commands.unanswered(conn, job.key))
            if waiting:
                policies = policies or self._governing(ev, job)
                if head.merged:
                    # On a merged PR the commands that act are deploys: they are
                    # authorised by the policy that declares the deploys.
                    policies = self._deploy_governing(ev, job, head, policies)
                taken = self._take(ev, job, head, policies)
                deploys: dict[int, str] = {}
                for comment, asked in taken.later(LATER_DEPLOY):
                    said = self._deploy_command(ev, job, head, policies, asked.args,
                                                comment.author)
                    deploys[comment.comment_id] = "\n\n".join(
                        d for d in (deploys.get(comment.comment_id, ""), said) if d
                    )
                notes.append(self._answer(ev, job, taken, RunFacts(head=head, deploys=deploys)))
        return "; ".join(n for n in notes if n)

    def _governing(
        self, ev: ForgeEvaluation, job: Job, sources: PolicySources | None = None
    ) -> Governing:
        return governing(
            sources if sources is not None else ev.policy_sources(),
            self.operator.floor,
            repo=job.key.repo,
            deploy_targets=self.operator.deploy_targets,
        )

    def _take(
        self, ev: ForgeEvaluation, job: Job, head: PullHead, policies: Governing
    ) -> Taken:
        if self.commands is None:
            return Taken()
        return self.commands.take(ev, job.key, head, policies.policy, silent=policies.silent)

    def _answer(self, ev: ForgeEvaluation, job: Job, taken: Taken, facts: RunFacts) -> str | None:
        if self.commands is None or not taken.comments:
            return None
        return self.commands.answer(ev, job.key, taken, facts)

    def _deploy_command(
        self,
        ev: ForgeEvaluation,
        job: Job,
        head: PullHead,
        policies: Governing,
        name: str,
        by: str,
    ) -> str:
        if self.deploying is None or head.merge_sha is None:
            return replies.deploy_unmerged_text()
        merged = MergedPull(job.key, head.base_ref, head.head_sha, head.merge_sha,
                            ev.default_branch(), job.access)
        # `policies` is already the default branch's (see `_closed`).
        return self.deploying.by_command(ev, policies.policy, merged, name or None, by)

    def _deploy(
        self,
        ev: ForgeEvaluation,
        job: Job,
        head: PullHead,
        base_ref: str,
        head_sha: str,
        merge_sha: str,
        policies: Governing,
    ) -> str | None:
        if self.deploying is None:
            return None
        deploying = self._deploy_governing(ev, job, head, policies)
        if deploying.policy is None and deploying.problems:
            return "not deployed: the default branch's policy cannot be loaded"
        merged = MergedPull(job.key, base_ref, head_sha, merge_sha, ev.default_branch(),
                            job.access)
        return self.deploying.run(ev, deploying.policy, merged)

    def _deploy_governing(
        self, ev: ForgeEvaluation, job: Job, head: PullHead, policies: Governing
    ) -> Governing:
        """The policies on the repository's default branch, whose `deploy` entries and
        `commands` apply to deploys: a branch anyone with write access can create must
        not declare its own deploys. One read when the base is the default branch."""
        default = ev.default_branch()
        if head.base_ref == default:
            return policies
        return self._governing(ev, job, ev.policy_sources(default))

    def _record_verdict(
        self, key: PullKey, decision: Decision, outcome: PublishOutcome, read_at: datetime
    ) -> None:
        """Keep what this run decided for the PR's head under its context, as of
        `read_at`: deploys ship only a head that passed for this very PR and base,
        since it last became the head there."""
        if outcome.silent:
            return
        with self.store.begin() as conn:
            verdicts.record(conn, key, decision.head_sha, outcome.context, state=decision.state,
                            report_only=decision.report_only, now=read_at)

    def _changed_policy(
        self,
        ev: ForgeEvaluation,
        key: PullKey,
        head: PullHead,
        sources: PolicySources,
        policies: Governing,
        snapshot: Snapshot,
    ) -> tuple[tuple[Problem, ...], list[Proposal]]:
        """The problems of the policy files this PR edits, and each edit read at its head."""
        problems: list[Problem] = []
        proposals: list[Proposal] = []
        paths = changed_policy_paths(
            snapshot.files,
            policies.source,
            sources.pointer,
            self.policy_paths,
            truncated=snapshot.files_truncated,
        )
        owner = self._owner_policy_changed(key, head, snapshot)
        for path in (*paths, *owner):
            try:
                text = ev.file_at(path, head.head_sha)
            except FileTooLarge as exc:
                problems.extend(too_large_problem(path, exc.size))
                continue
            problems.extend(
                changed_policy_problems(
                    text,
                    path,
                    repo=key.repo,
                    deploy_targets=self.operator.deploy_targets,
                )
            )
            source = policies.source
            unchanged = source is not None and (source.filename, source.text) == (path, text)
            if text is not None and not unchanged:
                # A file read only because the forge cut the file list may be unchanged.
                proposals.append(Proposal("owner" if path in owner else "base", path, text))
        return tuple(problems), proposals

    def _owner_policy_changed(
        self, key: PullKey, head: PullHead, snapshot: Snapshot
    ) -> tuple[str, ...]:
        """The owner-wide policy file, when this PR edits it where it governs other
        repositories (the default branch of the owner's policy repository)."""
        path = self.owner_policy(key.repo) if self.owner_policy is not None else None
        if path is None or head.default_branch is None or head.base_ref != head.default_branch:
            return ()
        if snapshot.files_truncated:
            return (path,)
        changed = any(f.path == path and f.status != "removed" for f in snapshot.files)
        return (path,) if changed else ()


def full_pipeline(
    settings: Settings,
    store: Store,
    forge: Forge,
    operator: OperatorConfig,
    policy_paths: Sequence[str],
    *,
    retries: RetryPolicies,
    on_posted: Callable[[PullKey], object] | None = None,
    owner_policy: Callable[[str], str | None] | None = None,
    codeowners_paths: Sequence[str] = (),
) -> PullPipeline:
    """A forge's PR pipeline with every step (merge, deploy, comment commands), linking
    its verdicts to the signed details page."""

    signer = links.DetailsLinks(settings, store)

    def details_url(key: PullKey, head_sha: str) -> str | None:
        return signer.url(key.provider, key.repo, key.number, head_sha)

    return PullPipeline(
        forge,
        store,
        operator,
        policy_paths,
        details_url,
        on_posted=on_posted,
        merging=MergeStep(store, forge.clock, lock_seconds=settings.lease_seconds),
        deploying=DeployStep(
            store, forge.clock, operator.targets,
            TargetCaller(retries, callback_url=links.deploy_callback_url(settings)),
        ),
        commands=CommandStep(store, forge.clock),
        superseding=Superseding(store, forge.clock),
        owner_policy=owner_policy,
        # Another PR's change reaches a policy PR within two sweeps: the delayed mark,
        # then the sweep that finds it due.
        impact=ImpactStep(store, forge, forge.clock, delay_seconds=settings.sweep_seconds),
        codeowners_paths=codeowners_paths,
    )


class RememberBotName:
    """Tells the store the bot's own name once per process, so the routing knows the
    bot's own statuses, notes and awards from the first one on (GitHub: the App's slug;
    GitLab: the token user's username)."""

    def __init__(
        self, store: Store, provider: str, app_id: int, name: Callable[[], str],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.provider = provider
        self.app_id = app_id
        self.name = name
        self.clock = clock
        self.known = False

    def after(self, summary: str) -> str:
        if not self.known:
            with self.store.begin() as conn:
                apps.remember(conn, self.provider, self.app_id, self.name(), self.clock())
            self.known = True
        return summary


def summary(decision: Decision, outcome: PublishOutcome) -> str:
    """The run record's line: the verdict and what was written."""
    if outcome.silent:
        return "no policy applies to this repository: nothing posted"
    if outcome.unchanged:
        written = "unchanged, nothing written"
    elif outcome.status_posted:
        written = "status and check run posted"
    else:
        written = "check run posted (report only)"
    overwrote = f"; overwrote the status written by {', '.join(outcome.overwrote)}" if (
        outcome.overwrote
    ) else ""
    return f"{decision.state} on {decision.head_sha[:12]} ({outcome.context}): {written}{overwrote}"


def note_head(store: Store, key: PullKey, head: PullHead, now: datetime) -> None:
    """Put the head and base just read into the PR's head history.

    A change whose event was missed (or has not arrived yet) is recorded now,
    before the snapshot reads the history: the new head's push time, or the
    retarget, is this moment — never earlier.
    """
    with store.begin() as conn:
        pull_heads.note(
            conn, key, head.head_sha, head.base_ref, now,
            forge_updated_at=_forge_time(head.updated_at),
        )


def _forge_time(stamp: str) -> datetime | None:
    """The forge's `updated_at` of the PR (ISO 8601) as an aware datetime; None if unreadable."""
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
