"""The gate: an `Evaluation` and its snapshot → the `Decision` the bot posts.

Precedence: `error` (a policy cannot be loaded, or a rule cannot be
evaluated) > `failure` (disapproved, a required check failed, tampering, the
PR's changed policy file is invalid) > `pending` (approvals or checks
missing, draft, hold, a `merge.block` signal) > `success`.

The operator's required policy (the floor) is ANDed with the repository's.
An override makes the repository's policy pass for exactly the head SHA it
names (and only if it was given after that head last became the head, and
after the PR's last retarget); it does not lift a draft or a hold and never
bypasses the floor. In `report` mode the verdict (the floor's included) is
explained but never blocks, merges or deploys — not even when the floor passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.gate_state import GateState
from bot.core.impact import Impact, ImpactCounts
from bot.core.policy.context import Context
from bot.core.policy.evaluate import Evaluation, PolicyVerdict
from bot.core.policy.result import Result, Status, join_words, node, short_sha
from bot.core.snapshot import Override, Snapshot


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """Where the repository's policy that judged was read: a file at a base commit."""

    repo: str
    path: str
    commit: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What to post for one head SHA, and what the bot may do next."""

    state: GateState
    description: str
    """One line, most important blocker first; the renderer shortens it to 140 characters."""
    explanation: Result
    """The whole tree, rooted at a `gate` node."""
    head_sha: str
    merge_allowed: bool
    """The gate passes in enforce mode and no block signal is present."""
    auto_merge: bool
    """`merge.auto` is on and its trigger (if any) is present; implies merge_allowed."""
    deploy_allowed: bool
    """The gate passes in enforce mode (a merge of this head may be deployed)."""
    report_only: bool
    """Shadow mode: post a neutral check run; never block, merge or deploy."""
    override: Override | None = None
    blockers: tuple[str, ...] = ()
    """Every sentence behind the state, most severe first."""
    silent: bool = False
    """No repository policy and no required policy: the bot says nothing."""
    policy_file: PolicyFile | None = None
    """The repository's policy file and the base commit it was read at, when known (the
    details page links to it); set by the shell, which read it."""
    impact: Impact | ImpactCounts | None = None
    """What the PR's proposed policy would change for the other open PRs, shown beside
    the verdict; it never takes part in the verdict (`bot.core.simulate`)."""


def active_override(snapshot: Snapshot) -> Override | None:
    """The override bound to the current head, if it was given after that head last
    became the head and after the PR's last retarget (a push or a retarget ends it)."""
    ctx = Context(snapshot)
    pushed = ctx.head_push_time
    if pushed is None:
        return None
    since = max(pushed, ctx.base_changed_at or pushed)
    candidates = [o for o in snapshot.overrides if o.sha == snapshot.head_sha and o.at > since]
    return max(candidates, key=lambda o: o.at) if candidates else None


def decide(evaluation: Evaluation, snapshot: Snapshot) -> Decision:
    """Combine the verdicts, the PR's signals and any override into the posted decision."""
    repo, floor = evaluation.policy, evaluation.floor
    if repo is None and floor is None:
        root = node("gate", "gate", Status.SKIPPED, "no policy applies to this repository")
        return Decision(GateState.SUCCESS, "no policy applies", root, snapshot.head_sha,
                        False, False, False, True, silent=True)

    override = active_override(snapshot)
    contributions: list[tuple[GateState, str]] = []
    children: list[Result] = []

    # `mode: report` is the repository's say: the bot explains and never blocks,
    # merges or deploys, even when the operator's floor passes on its own.
    report_only = repo is not None and repo.report_only
    if override is not None:
        children.append(node(
            "override", "override", Status.APPROVED,
            f"overridden by {override.by} for {short_sha(override.sha)}: {override.reason}",
        ))
    if repo is not None:
        if override is not None:
            children.append(repo.tree)
        else:
            contributions.extend(_contributions(repo, prefix=floor is not None))
            children.append(repo.tree)
    if floor is not None:
        contributions.extend(_contributions(floor, prefix=True))
        children.append(floor.tree)
    if evaluation.changed_policy is not None:
        children.append(evaluation.changed_policy)
        if override is None:
            contributions.append((GateState.FAILURE, evaluation.changed_policy.explanation))

    signals = _signals(snapshot)
    children.extend(signals)
    contributions.extend((GateState.PENDING, s.explanation) for s in signals)
    # An override passes the repository's policy, its block signals included; the
    # floor's never. Merging stays blocked either way (see Decision.merge_allowed).
    for verdict in (repo if override is None else None, floor):
        block = verdict.block if verdict is not None else None
        if block is not None and block.status is Status.PENDING:
            contributions.append((GateState.PENDING, block.explanation))

    state = max((level for level, _ in contributions), default=GateState.SUCCESS)
    blockers = tuple(
        sentence for level, sentence in sorted(contributions, key=lambda c: -c[0].rank)
        if level is not GateState.SUCCESS
    )
    blocks = [r.block for r in (repo, floor)
              if r is not None and r.block is not None and r.block.status is Status.PENDING]
    description = _description(state, contributions, override)
    if state is GateState.SUCCESS and blocks:
        # Overridden, yet a block signal still stops the merge: say so in the status.
        description += "; merge " + "; ".join(b.explanation for b in blocks)
    blocked = bool(blocks)
    passing = state is GateState.SUCCESS
    merge_allowed = passing and not report_only and not blocked
    auto_merge = merge_allowed and _auto(repo)
    root = node("gate", "gate", state.status, description, tuple(children))
    return Decision(
        state=state,
        description=description,
        explanation=root,
        head_sha=snapshot.head_sha,
        merge_allowed=merge_allowed,
        auto_merge=auto_merge,
        deploy_allowed=passing and not report_only,
        report_only=report_only,
        override=override,
        blockers=blockers,
    )


def _contributions(verdict: PolicyVerdict, prefix: bool) -> list[tuple[GateState, str]]:
    label = f"{verdict.label}: " if prefix else ""
    return [(r.state, f"{label}{r.sentence}") for r in verdict.reasons]


def _signals(snapshot: Snapshot) -> list[Result]:
    """Draft and holds: each keeps the gate pending, whatever overrides say."""
    found: list[Result] = []
    if snapshot.draft:
        found.append(node("draft", "draft", Status.PENDING, "the PR is a draft"))
    if snapshot.holds:
        who = join_words(sorted({h.by for h in snapshot.holds}))
        reasons = [h.reason for h in snapshot.holds if h.reason]
        extra = f" ({'; '.join(reasons)})" if reasons else ""
        found.append(node("hold", "hold", Status.PENDING, f"on hold by {who}{extra}"))
    return found


def _description(
    state: GateState, contributions: list[tuple[GateState, str]], override: Override | None
) -> str:
    sentences = [s for level, s in contributions if level == state]
    if state is GateState.SUCCESS:
        if override is not None:
            lead = f"overridden by {override.by}: {override.reason}"
            return "; ".join([lead, *sentences]) if sentences else lead
        return "; ".join(sentences) if sentences else "all requirements met"
    return "; ".join(dict.fromkeys(sentences))


def _auto(repo: PolicyVerdict | None) -> bool:
    if repo is None or repo.merge is None or not repo.merge.auto:
        return False
    return repo.trigger is None or repo.trigger.status is Status.APPROVED


__all__ = ["Decision", "active_override", "decide"]
