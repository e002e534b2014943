"""The deploy step: ship the merge commit once, and only what passed the gate.

Runs after a merge into one of a `deploy` entry's `branches` — a merge the
bot made, or a person's (the `pull_request` closed+merged event marks the PR
dirty and the pipeline finds it merged). The entries come from the policy on
the repository's DEFAULT branch (the caller reads it): a branch anyone with
write access can create never declares its own deploys.

1. only when the bot's last verdict for that same PR, at the merged head,
   under the context of the branch it was merged into (`gatebot: main`) is
   a passing, enforcing one (`bot.store.verdicts`; an override passes
   through the verdict it produced) — a success on another PR with that
   head, or on that head proposed into another base, never counts — and
   only if it was reached after the merged head last became the PR's head
   on that base (`bot.core.superseded.verdict_current`): a success from
   before a push and a return (A → B → A), or before a retarget and back,
   is stale, as the comment approvals and overrides behind it are;
   otherwise ONE comment says why nothing was deployed and that
   `/gate deploy <name>` can ship it (in `mode: report` nothing is deployed
   and nothing said);
2. per entry, the intent keyed by (provider, repository, merge SHA, deploy
   name) is written `open` before the call (`bot.store.deploys`);
3. the call: a GitHub deployment of the merge SHA, a workflow or repository
   dispatch, a GitLab pipeline (a `DeployCall`, made only when the forge
   lists its method in `deploy_methods`: any other is refused unsent), or an
   operator target (`deploy_targets`) — only if the target takes merges into
   that base branch (its `branches`, by default the repository's default
   branch); placeholders `{merge_sha}` `{head_sha}` `{number}` `{base}`
   `{environment}` are filled;
4. its answer settles the intent: created → `deployed`, audited, one comment
   with a link where there is one; refused → `failed`, audited, one comment;
   unsent (nothing happened) → the intent is dropped and the PR is tried
   later; unknown → a GitHub deployment is looked for by listing the SHA's
   deployments, an AWS CodeDeploy one by listing the group's recent
   deployments for the description carrying the idempotency key (found →
   deployed, else the intent stays open and the PR is tried later), anything
   else stays `open`, is audited and said once, and is never sent again: a
   person decides.

An intent found `open` at the start of a run (a crash, a lost answer) is
settled the same way before anything is sent.

A created deployment the target named (`DeployAnswer.reference`: a GitHub
deployment or workflow run, a GitLab pipeline, a polled target's id, a
webhook target with `callback: true`) is followed to its end
(`bot.store.deploy_outcomes`, `bot.pipeline.deploy_follow`): its one comment
says it started and is edited in place when it ends
(`bot.pipeline.deploy_comment`). Any other keeps the one-off comment.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core import replies
from bot.core.globs import compile_ref_glob
from bot.core.policy.models import DeployEntry, Policy
from bot.core.snapshot import HeadChange
from bot.core.superseded import verdict_current
from bot.keys import ForgeAccess, PullKey
from bot.pipeline.deploy_comment import tell
from bot.pipeline.deploy_targets import DeployFacts, TargetCaller, idempotency_key
from bot.pipeline.deploy_templates import TemplateError, fill
from bot.pipeline.errors import ForgeUnavailable
from bot.pipeline.operator import DeployTarget
from bot.providers.base import (
    DeployAnswer,
    DeployCall,
    ForgeDeployment,
    ForgeEvaluation,
    PipelineRun,
    RepositoryEvent,
    WorkflowRun,
)
from bot.providers.publishing import context_for
from bot.store import Store, deploy_outcomes, deploys, merges, pull_heads, verdicts
from bot.store.deploys import DeployKey

log = logging.getLogger(__name__)

GITHUB_DEPLOYMENT = ForgeDeployment.method
WORKFLOW_DISPATCH = WorkflowRun.method
REPOSITORY_DISPATCH = RepositoryEvent.method
GITLAB_PIPELINE = PipelineRun.method
TARGET = "target"

SAID_NOT_DEPLOYED = "not-deployed"

FOLLOWED_METHODS = (GITHUB_DEPLOYMENT, WORKFLOW_DISPATCH, GITLAB_PIPELINE)
"""Forge deploys followed to their end: the forge is asked, and tells by events."""
POLLED_TARGETS = ("jenkins", "aws_codedeploy")
"""Operator target types the deploy follower asks (`TargetCaller.progress`)."""


@dataclass(frozen=True)
class MergedPull:
    """The merge a deploy ships."""

    key: PullKey
    base_ref: str
    head_sha: str
    merge_sha: str
    default_branch: str
    """The repository's default branch: operator targets take merges into it alone,
    unless the operator lists other branches."""
    access: ForgeAccess = None
    """How the forge is reached for this PR, kept to follow its deployments later."""


def method_of(entry: DeployEntry) -> str:
    via = entry.via
    for name in (GITHUB_DEPLOYMENT, WORKFLOW_DISPATCH, REPOSITORY_DISPATCH, GITLAB_PIPELINE):
        if getattr(via, name) is not None:
            return name
    return TARGET


def environment_of(entry: DeployEntry) -> str:
    return entry.environment or entry.name


def entries_for(policy: Policy | None, base_ref: str) -> list[DeployEntry]:
    """The policy's deploy entries whose `branches` take a merge into `base_ref`."""
    if policy is None:
        return []
    return [
        e for e in policy.deploy if any(compile_ref_glob(b).matches(base_ref) for b in e.branches)
    ]


def forge_call(
    entry: DeployEntry, merged: MergedPull, environment: str, values: Mapping[str, str],
    idem: str,
) -> DeployCall | None:
    """The forge call `entry` makes, its placeholders filled; None for an operator target."""
    via = entry.via
    if via.github_deployment is not None:
        spec = via.github_deployment
        description = fill(spec.description, values) if spec.description is not None else None
        payload = {k: fill(v, values) for k, v in spec.payload.items()}
        return ForgeDeployment(merged.merge_sha, environment, description, payload)
    if via.workflow_dispatch is not None:
        wd = via.workflow_dispatch
        inputs = {k: fill(v, values) for k, v in wd.inputs.items()}
        return WorkflowRun(wd.workflow, wd.ref, inputs, idem)
    if via.repository_dispatch is not None:
        rd = via.repository_dispatch
        payload = {k: fill(v, values) for k, v in rd.client_payload.items()}
        return RepositoryEvent(rd.event_type, payload, idem)
    if via.gitlab_pipeline is not None:
        gp = via.gitlab_pipeline
        # The branch merged into, unless the entry names a branch or tag; the
        # merge SHA travels as a variable, as with workflow_dispatch.
        ref = fill(gp.ref, values) if gp.ref is not None else merged.base_ref
        variables = {k: fill(v, values) for k, v in gp.variables.items()}
        return PipelineRun(ref, variables)
    return None


def not_deployed_comment(head_sha: str, names: list[str]) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    first = names[0]
    return (
        f"Not deployed ({listed}): the merged head {head_sha[:12]} did not pass this "
        "gate for this pull request and the branch it was merged into (the bot recorded "
        "no passing verdict or override since that head last became the pull request's "
        "head there), so the merge bypassed it. Someone with deploy "
        f"permission can ship it with `/gate deploy {first}`."
    )


def deployed_comment(name: str, environment: str, merge_sha: str, method: str,
                     link: str | None) -> str:
    where = f" — {link}" if link else ""
    return f"Deployed {merge_sha[:12]} to `{environment}` (`{name}`, {method}){where}."


def failed_comment(name: str, merge_sha: str, why: str) -> str:
    return f"Could not deploy {merge_sha[:12]} (`{name}`): {why}"


def unknown_comment(name: str, merge_sha: str, why: str) -> str:
    return (
        f"The deploy `{name}` of {merge_sha[:12]} got no usable answer ({why}); it may or "
        "may not have started. It is not sent again automatically: check the target, and "
        f"use `/gate deploy {name}` if it did not run."
    )


def _feedback(kind: str, name: str) -> str:
    # Feedback keys are short; the name's digest keeps one per deploy.
    return f"{kind}:{hashlib.sha256(name.encode()).hexdigest()[:24]}"


@dataclass
class DeployStep:
    """Deploys for one forge; shared by the worker threads of a process."""

    store: Store
    clock: Callable[[], datetime]
    targets: Mapping[str, DeployTarget]
    caller: TargetCaller | None = None
    """Sends to operator targets; None refuses every `via: {target: ...}`."""

    def run(self, ev: ForgeEvaluation, policy: Policy | None, merged: MergedPull) -> str | None:
        """Deploy the merge for each entry that takes it; a summary, or None if none does."""
        entries = entries_for(policy, merged.base_ref)
        if not entries:
            return None
        pull = merged.key
        with self.store.begin() as conn:
            verdict = verdicts.get(conn, pull, merged.head_sha, context_for(merged.base_ref))
            history = [HeadChange(sha=r.sha, base_ref=r.base_ref, at=r.at)
                       for r in pull_heads.history(conn, pull)]
        if verdict is not None and verdict.report_only:
            # `mode: report` never deploys, and says nothing about it either.
            return "not deployed: the gate only reports on this repository"
        if verdict is None or not verdict.passed:
            return self._refuse(ev, merged, entries)
        if not verdict_current(verdict.decided_at, merged.head_sha, merged.base_ref, history):
            return self._refuse(ev, merged, entries, stale=True)
        notes: list[str] = []
        retry: list[str] = []
        for entry in entries:
            note, again = self._one(ev, merged, entry)
            notes.append(note)
            if again:
                retry.append(entry.name)
        summary = "; ".join(notes)
        if retry:
            raise ForgeUnavailable(
                f"{pull}: {summary}; the deploy of {', '.join(retry)} is settled later"
            )
        return summary

    def by_command(
        self, ev: ForgeEvaluation, policy: Policy | None, merged: MergedPull, name: str | None,
        by: str,
    ) -> str:
        """`/gate deploy [name]` from someone allowed to run it: ship the merge whatever
        its verdict (the command is the audited decision), at most once per entry.

        Returns what the command's reply says; a deploy that went out or failed is
        announced by its own comment, as any deploy is, so the reply says nothing more.
        """
        entries = entries_for(policy, merged.base_ref)
        chosen = [e for e in entries if name is None or e.name == name]
        if not chosen:
            return replies.no_deploy_entry_text(name, merged.base_ref, [e.name for e in entries])
        said: list[str] = []
        for entry in chosen:
            key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha, entry.name)
            with self.store.begin() as conn:
                known = deploys.intent(conn, key)
                if known is None:
                    deploys.record(conn, key, number=merged.key.number, method=method_of(entry),
                                   outcome="requested", now=self.clock(),
                                   detail=f"/gate deploy by {by}")
            if known is not None and known.state != deploys.OPEN:
                said.append(replies.already_deployed_text(entry.name, merged.merge_sha,
                                                          known.state))
                continue
            note, again = self._one(ev, merged, entry)
            if again:
                said.append(f"`{entry.name}` was not deployed this time ({note}); ask again later.")
        return "\n\n".join(said)

    # -- one entry ------------------------------------------------------------------

    def _one(self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry) -> tuple[str, bool]:
        """A note, and whether the PR must be looked at again."""
        method = method_of(entry)
        environment = environment_of(entry)
        key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha, entry.name)
        with self.store.begin() as conn:
            known = deploys.intent(conn, key)
        if known is not None and known.state != deploys.OPEN:
            return f"deploy {entry.name} already {known.state}", False
        if known is not None:
            settled = self._reconcile(ev, merged, entry, method, environment)
            if settled is not None:
                return settled
        else:
            with self.store.begin() as conn:
                opened = deploys.open_intent(conn, key, number=merged.key.number, method=method,
                                             environment=environment, now=self.clock())
            if opened is None:
                return f"deploy {entry.name} is being handled by another run", False
        answer = self._call(ev, merged, entry, method, environment, key)
        return self._settle(ev, merged, entry, method, environment, answer)

    def _reconcile(
        self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry, method: str,
        environment: str,
    ) -> tuple[str, bool] | None:
        """Settle an intent an earlier run left open; None when the call may be made now."""
        if method == GITHUB_DEPLOYMENT:
            found = (ev.deployments_of(merged.merge_sha, environment)
                     if method in ev.deploy_methods else ())
            if found:
                self._done(ev, merged, entry, method, environment, found[0], found=True)
                return f"deploy {entry.name}: found {merged.merge_sha[:12]} deployed", False
            # Listed and absent: the lost call created nothing, so it is made now.
            return None
        target = self._findable(entry)
        if target is not None:
            found = self._found(ev, merged, entry, method, environment, target)
            if found.kind == "created":
                return f"deploy {entry.name}: found {merged.merge_sha[:12]} deployed", False
            if found.kind == "unsent":  # listed and absent: made now
                return None
            return f"deploy {entry.name}: {found.message}; looked for again later", True
        # A dispatch or another target cannot be asked whether it acted: a person decides.
        return f"deploy {entry.name}: answer lost earlier, not sent again", False

    def _findable(self, entry: DeployEntry) -> DeployTarget | None:
        """The operator target of `entry` if it can be asked whether a call acted."""
        target = self.targets.get(entry.via.target or "")
        if target is None or self.caller is None or not self.caller.can_find(target):
            return None
        return target

    def _found(
        self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry, method: str,
        environment: str, target: DeployTarget,
    ) -> DeployAnswer:
        """Ask `target` for the deployment an earlier call of this intent made; settle the
        intent as deployed when it is there (`created`; `unsent`: certainly absent)."""
        assert self.caller is not None
        key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha, entry.name)
        with self.store.begin() as conn:
            known = deploys.intent(conn, key)
        since = known.created_at if known is not None else self.clock()
        found = self.caller.find(target, idempotency_key(key.repo, key.merge_sha, key.name),
                                 since)
        if found.kind == "created":
            self._done(ev, merged, entry, method, environment, found.link, found=True,
                       reference=found.reference)
        return found

    def _call(
        self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry, method: str,
        environment: str, key: DeployKey,
    ) -> DeployAnswer:
        values = {
            "merge_sha": merged.merge_sha,
            "head_sha": merged.head_sha,
            "number": str(merged.key.number),
            "base": merged.base_ref,
            "environment": environment,
        }
        idem = idempotency_key(key.repo, key.merge_sha, key.name)
        via = entry.via
        try:
            call = forge_call(entry, merged, environment, values, idem)
        except TemplateError as exc:
            return DeployAnswer("refused", message=str(exc))
        if call is not None:
            if call.method not in ev.deploy_methods:
                # Never sent: the forge has no such call.
                return DeployAnswer("refused", message=(
                    f"`{call.method}` is a {call.forge} deploy method; this is a "
                    f"{ev.forge_name} {ev.repository_noun}"
                ))
            return ev.deploy(call)
        target = self.targets.get(via.target or "")
        if target is None or self.caller is None:
            return DeployAnswer(
                "refused", message=f"the operator declares no target `{via.target}`"
            )
        if not target.takes(merged.base_ref, merged.default_branch):
            return DeployAnswer("refused", message=(
                f"the operator's target `{target.name}` does not take merges into "
                f"`{merged.base_ref}`; ask the operator to add the branch to its `branches`"
            ))
        facts = DeployFacts(
            repository=merged.key.repo, number=merged.key.number, merge_sha=merged.merge_sha,
            head_sha=merged.head_sha, base=merged.base_ref, environment=environment,
            deploy=entry.name,
        )
        return self.caller.send(target, facts, idem, self.clock().timestamp())

    def _settle(
        self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry, method: str,
        environment: str, answer: DeployAnswer,
    ) -> tuple[str, bool]:
        key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha, entry.name)
        now = self.clock()
        if answer.kind == "created":
            self._done(ev, merged, entry, method, environment, answer.link, found=False,
                       reference=answer.reference)
            return f"deployed {merged.merge_sha[:12]} ({entry.name})", False
        if answer.kind == "refused":
            with self.store.begin() as conn:
                if deploys.settle(conn, key, deploys.FAILED, now, detail=answer.message):
                    deploys.record(conn, key, number=merged.key.number, method=method,
                                   outcome="failed", now=now, detail=answer.message)
            self._say(ev, merged, _feedback("failed", entry.name),
                      failed_comment(entry.name, merged.merge_sha, answer.message))
            return f"deploy {entry.name} failed: {answer.message}", False
        if answer.kind == "unsent":
            with self.store.begin() as conn:
                deploys.drop(conn, key)
            return f"deploy {entry.name} not sent: {answer.message}", True
        if method == GITHUB_DEPLOYMENT:
            found = ev.deployments_of(merged.merge_sha, environment)
            if found:
                self._done(ev, merged, entry, method, environment, found[0], found=True)
                return f"deployed {merged.merge_sha[:12]} ({entry.name})", False
            with self.store.begin() as conn:
                deploys.note(conn, key, answer.message, now)
                deploys.record(conn, key, number=merged.key.number, method=method,
                               outcome="unknown", now=now, detail=answer.message)
            return f"deploy {entry.name}: no usable answer ({answer.message})", True
        target = self._findable(entry) if method == TARGET else None
        if target is not None:
            found = self._found(ev, merged, entry, method, environment, target)
            if found.kind == "created":
                return f"deployed {merged.merge_sha[:12]} ({entry.name})", False
            # Not found (or not listed): the intent stays open and is looked for again.
            with self.store.begin() as conn:
                deploys.note(conn, key, answer.message, now)
                deploys.record(conn, key, number=merged.key.number, method=method,
                               outcome="unknown", now=now, detail=answer.message)
            return f"deploy {entry.name}: no usable answer ({answer.message})", True
        with self.store.begin() as conn:
            deploys.note(conn, key, answer.message, now)
            deploys.record(conn, key, number=merged.key.number, method=method,
                           outcome="unknown", now=now, detail=answer.message)
        self._say(ev, merged, _feedback("unknown", entry.name),
                  unknown_comment(entry.name, merged.merge_sha, answer.message))
        log.warning("%s: deploy %s of %s got no usable answer; left for a person",
                    merged.key, entry.name, merged.merge_sha[:12])
        return f"deploy {entry.name}: no usable answer, left for a person", False

    def _done(
        self, ev: ForgeEvaluation, merged: MergedPull, entry: DeployEntry, method: str,
        environment: str, link: str | None, *, found: bool, reference: str | None = None,
    ) -> None:
        key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha, entry.name)
        now = self.clock()
        detail = "found by listing the deployments after a lost answer" if found else None
        target = self._followed_target(entry) if method == TARGET else None
        followed = reference is not None and (method in FOLLOWED_METHODS or target is not None)
        with self.store.begin() as conn:
            if deploys.settle(conn, key, deploys.DEPLOYED, now, link=link, detail=detail,
                              reference=reference):
                deploys.record(conn, key, number=merged.key.number, method=method,
                               outcome="deployed", now=now, link=link, detail=detail)
            if followed:
                deploy_outcomes.start(
                    conn, key, number=merged.key.number, method=method,
                    environment=environment, now=now, target=target, reference=reference,
                    access=merged.access, link=link,
                )
            row = deploy_outcomes.get(conn, key) if followed else None
        if row is not None:
            # Followed: one comment, started now and edited in place as it moves.
            tell(self.store, ev, row, self.clock)
            return
        self._say(ev, merged, _feedback("deployed", entry.name),
                  deployed_comment(entry.name, environment, merged.merge_sha, method, link))

    def _followed_target(self, entry: DeployEntry) -> str | None:
        """The operator target's name when its deployments are followed: polled, or a
        webhook that reports back (`callback: true`)."""
        target = self.targets.get(entry.via.target or "")
        if target is None or not (target.callback or target.type in POLLED_TARGETS):
            return None
        return target.name

    # -- not deployed -------------------------------------------------------------------

    def _refuse(
        self, ev: ForgeEvaluation, merged: MergedPull, entries: list[DeployEntry], *,
        stale: bool = False,
    ) -> str:
        names = [e.name for e in entries]
        why = (
            f"the passing verdict of the merged head {merged.head_sha[:12]} predates its "
            "last return as the head or the last retarget"
            if stale else f"the merged head {merged.head_sha[:12]} had no passing verdict"
        )
        if self._say(ev, merged, SAID_NOT_DEPLOYED, not_deployed_comment(merged.head_sha, names)):
            now = self.clock()
            with self.store.begin() as conn:
                for entry in entries:
                    key = DeployKey(merged.key.provider, merged.key.repo, merged.merge_sha,
                                    entry.name)
                    deploys.record(conn, key, number=merged.key.number, method=method_of(entry),
                                   outcome="not deployed", now=now, detail=why)
        return f"not deployed: {why}"

    def _say(self, ev: ForgeEvaluation, merged: MergedPull, outcome: str, body: str) -> bool:
        """Write the one comment for (PR, merge SHA, outcome); False if it was written before."""
        key = merged.key
        with self.store.begin() as conn:
            if not merges.claim_feedback(conn, key, merged.merge_sha, outcome, self.clock()):
                return False
        posted: int | None = None
        try:
            posted = ev.comment(body)
        finally:
            with self.store.begin() as conn:
                if posted is None:
                    merges.drop_feedback(conn, key, merged.merge_sha, outcome)
                else:
                    merges.feedback_posted(conn, key, merged.merge_sha, outcome, posted)
        return True
