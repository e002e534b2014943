"""Evaluate a policy (and the operator's required policy) against a snapshot.

`prepare(policy)` compiles a policy once — globs, regexes, rules — and is
cached per policy object; `needs_for(policy, floor)` says what evaluating
them must read, as their compiled parts declare it.
`evaluate(policy, snapshot, floor=...)` returns an `Evaluation`: one
`PolicyVerdict` per policy, each with its state (error, failure, pending,
success), the sentences that explain it, and the result tree. The gate
(`bot.core.gate`) turns that into the posted decision.

Approval tree semantics: `and` (and the top-level list) is approved when no
child is pending and at least one is approved; `or` is approved when any
child is; when all children are skipped the node is skipped. A policy whose
every rule is skipped is pending, never success. A rule that cannot be
evaluated is an error: `and` reports it; `or` only if no child is approved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.gate_state import GateState
from bot.core.policy.approvals import CommentMatcher, PreparedRule
from bot.core.policy.checks import RequiredCheck, evaluate_required_checks
from bot.core.policy.context import Context
from bot.core.policy.disapproval import PreparedDisapproval
from bot.core.policy.models import AndNode, MergeConfig, MergeSignals, OrNode, Policy
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates import GlobRegistry, Scope
from bot.core.policy.problems import Problem
from bot.core.policy.result import (
    PredicateFacts,
    Result,
    Status,
    join_words,
    node,
    plural,
)
from bot.core.policy.tampering import evaluate_tampering
from bot.core.regex import compile_regex
from bot.core.snapshot import Snapshot

# --------------------------------------------------------------------------
# Prepared policies


class SignalSet:
    """`merge.block` / `merge.trigger`: labels (case-insensitive) or title regexes."""

    def __init__(self, kind: str, model: MergeSignals) -> None:
        self.kind = kind
        self.labels = tuple(model.labels)
        self.titles = tuple((p, compile_regex(p)) for p in model.title)

    def evaluate(self, ctx: Context) -> Result:
        present = [label for label in self.labels if label.casefold() in ctx.labels]
        present += [f"title matches {p}" for p, rx in self.titles if rx.search(ctx.snapshot.title)]
        if self.kind == "block":
            if present:
                return node("block", "merge.block", Status.PENDING,
                            f"blocked by {join_words([_signal(s) for s in present])}",
                            facts=PredicateFacts(evidence=tuple(present)))
            return node("block", "merge.block", Status.APPROVED, "no merge block signal")
        if present:
            return node("trigger", "merge.trigger", Status.APPROVED,
                        f"merge triggered by {join_words([_signal(s) for s in present])}",
                        facts=PredicateFacts(evidence=tuple(present)))
        wanted = [f"label {label}" for label in self.labels]
        wanted += [f"a title matching {p}" for p, _ in self.titles]
        return node("trigger", "merge.trigger", Status.PENDING,
                    f"waiting for a merge trigger: {join_words(wanted, 'or')}")


def _signal(text: str) -> str:
    return text if text.startswith("title ") else f"label {text}"


class PreparedPolicy:
    """A policy compiled for evaluation: reuse it for every snapshot."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.registry = GlobRegistry()
        self.rules = {rule.name: PreparedRule(rule, self.registry) for rule in policy.rules}
        exact: list[str] = []
        patterns: list[str] = []
        for rule in policy.rules:
            exact.extend(rule.options.methods.comments)
            patterns.extend(rule.options.methods.comment_patterns)
        self.approval_comments = CommentMatcher(exact, patterns)
        self.disapproval = PreparedDisapproval(
            policy.policy.disapproval, self.registry, self.approval_comments
        )
        self.checks = tuple(RequiredCheck.from_spec(spec) for spec in policy.checks)
        merge: MergeConfig | None = policy.merge
        self.block = SignalSet("block", merge.block) if merge and merge.block else None
        self.trigger = SignalSet("trigger", merge.trigger) if merge and merge.trigger else None
        self.registry.matcher  # noqa: B018 - compile every glob now, not on first use

    def rule(self, name: str) -> PreparedRule:
        return self.rules[name]

    def needs(self) -> SnapshotNeeds:
        """What evaluating this policy reads: the union of what its parts declare —
        every rule (referenced or not), the disapproval and the required checks.
        Merge signals read labels and the title, which come with the PR."""
        parts = [rule.needs() for rule in self.rules.values()]
        parts.append(self.disapproval.needs())
        parts.extend(check.needs() for check in self.checks)
        return SnapshotNeeds.union(parts)


_CACHE_SIZE = 32
_cache: OrderedDict[int, PreparedPolicy] = OrderedDict()
_cache_lock = threading.Lock()


def prepare(policy: Policy) -> PreparedPolicy:
    """The compiled form of `policy`, cached by identity (the entry keeps the policy alive,
    so an id is never reused while cached)."""
    key = id(policy)
    with _cache_lock:
        prepared = _cache.get(key)
        if prepared is not None and prepared.policy is policy:
            _cache.move_to_end(key)
            return prepared
    prepared = PreparedPolicy(policy)
    with _cache_lock:
        _cache[key] = prepared
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return prepared


def needs_for(*policies: Policy | None) -> SnapshotNeeds:
    """What an evaluation of every given policy (repository, operator floor) must read."""
    return SnapshotNeeds.union(prepare(policy).needs() for policy in policies
                               if policy is not None)


# --------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing that decides a verdict, at the state it causes."""

    state: GateState
    sentence: str


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    """One policy's outcome: the repository's policy or the operator's required one."""

    label: str
    """`policy` or `required policy`."""
    state: GateState
    reasons: tuple[Reason, ...]
    """Every blocker (and, on success, what approved it), most severe first."""
    tree: Result
    report_only: bool = False
    block: Result | None = None
    trigger: Result | None = None
    merge: MergeConfig | None = None

    def sentences(self, state: GateState) -> list[str]:
        return [r.sentence for r in self.reasons if r.state == state]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything the gate needs: verdicts of the repository and required policies."""

    head_sha: str
    policy: PolicyVerdict | None
    floor: PolicyVerdict | None
    changed_policy: Result | None = None
    """FAILED when the PR changes the policy file and the new file is invalid."""


def evaluate(
    policy: Policy | None,
    snapshot: Snapshot,
    floor: Policy | None = None,
    *,
    policy_errors: Sequence[Problem] = (),
    changed_policy_errors: Sequence[Problem] = (),
) -> Evaluation:
    """Evaluate the repository's policy and the operator's required policy (the floor).

    `policy_errors` are the loader's errors for a repository policy that could
    not be loaded (then `policy` is None and the verdict is `error`);
    `changed_policy_errors` those of the PR's own version of the policy file.
    """
    ctx = Context(snapshot)
    verdict: PolicyVerdict | None = None
    if policy_errors:
        verdict = _error_verdict("policy", policy_errors)
    elif policy is not None:
        verdict = evaluate_policy(prepare(policy), ctx, "policy")
    floor_verdict = (
        evaluate_policy(prepare(floor), ctx, "required policy") if floor is not None else None
    )
    changed = _changed_policy(changed_policy_errors) if changed_policy_errors else None
    return Evaluation(snapshot.head_sha, verdict, floor_verdict, changed)


def evaluate_policy(prepared: PreparedPolicy, ctx: Context, label: str) -> PolicyVerdict:
    """One policy against one snapshot."""
    scope = Scope(ctx, prepared.registry)
    memo: dict[str, Result] = {}
    approval = _approval_root(prepared, scope, memo)
    disapproval = prepared.disapproval.evaluate(scope)
    checks = evaluate_required_checks(prepared.checks, ctx)
    tampering = evaluate_tampering(ctx, prepared.approval_comments)
    block = prepared.block.evaluate(ctx) if prepared.block else None
    trigger = prepared.trigger.evaluate(ctx) if prepared.trigger else None

    reasons: list[Reason] = []
    for rule_error in _errors(approval):
        reasons.append(Reason(GateState.ERROR, rule_error))
    if disapproval.status is Status.FAILED:
        reasons.append(Reason(GateState.FAILURE, disapproval.explanation))
    if checks.status is Status.FAILED:
        reasons.append(Reason(GateState.FAILURE, f"required check failed: {checks.explanation}"))
    if tampering.status is Status.FAILED:
        reasons.append(Reason(GateState.FAILURE, tampering.explanation))
    if approval.status is Status.PENDING:
        reasons.extend(Reason(GateState.PENDING, s) for s in _pending_sentences(approval))
    if checks.status is Status.PENDING:
        reasons.append(Reason(GateState.PENDING, f"waiting for checks: {checks.explanation}"))
    state = max((reason.state for reason in reasons), default=GateState.SUCCESS)
    if state is GateState.SUCCESS:
        reasons.append(Reason(GateState.SUCCESS, approval.explanation))
        if prepared.checks:
            reasons.append(Reason(GateState.SUCCESS, checks.explanation))
    reasons.sort(key=lambda r: -r.state.rank)

    children = [approval, disapproval, checks, tampering]
    children.extend(r for r in (block, trigger) if r is not None)
    report_only = prepared.policy.mode == "report"
    tree = node(
        "policy", label, state.status,
        _summary(label, state, reasons, report_only), tuple(children),
    )
    return PolicyVerdict(label, state, tuple(reasons), tree, report_only, block, trigger,
                         prepared.policy.merge)


def _summary(label: str, state: GateState, reasons: list[Reason], report_only: bool) -> str:
    sentences = [r.sentence for r in reasons if r.state == state]
    prefix = f"{label} (report only)" if report_only else label
    return f"{prefix}: {'; '.join(sentences)}" if sentences else f"{prefix}: {state}"


def _error_verdict(label: str, problems: Sequence[Problem]) -> PolicyVerdict:
    first = problems[0]
    sentence = (f"{first.file} cannot be used: line {first.line}: {first.message}"
                + (f" (and {plural(len(problems) - 1, 'more error')})"
                   if len(problems) > 1 else ""))
    children = tuple(
        node("policy-error", p.code, Status.ERROR, p.format(), error=p.message)
        for p in problems
    )
    tree = node("policy", label, Status.ERROR, sentence, children, error=sentence)
    return PolicyVerdict(label, GateState.ERROR, (Reason(GateState.ERROR, sentence),), tree)


def _changed_policy(problems: Sequence[Problem]) -> Result:
    first = problems[0]
    sentence = (f"this PR changes {first.file}, and the new file is invalid: line "
                f"{first.line}: {first.message}; merging it would break the gate")
    if len(problems) > 1:
        sentence += f" ({plural(len(problems) - 1, 'more error')})"
    children = tuple(
        node("policy-error", p.code, Status.ERROR, p.format(), error=p.message)
        for p in problems
    )
    return node("changed-policy", first.file, Status.FAILED, sentence, children)


# --------------------------------------------------------------------------
# The approval tree


def _approval_root(prepared: PreparedPolicy, scope: Scope, memo: dict[str, Result]) -> Result:
    children = tuple(_item(item, prepared, scope, memo) for item in prepared.policy.policy.approval)
    status = _and_status(children)
    if status is Status.SKIPPED:
        return node("approval", "approval", Status.PENDING,
                    "every rule was skipped, so nothing approves this PR yet", children)
    return node("approval", "approval", status, _and_sentence(status, children), children)


def _item(item: str | AndNode | OrNode, prepared: PreparedPolicy, scope: Scope,
          memo: dict[str, Result]) -> Result:
    if isinstance(item, str):
        result = memo.get(item)
        if result is None:
            rule = prepared.rules.get(item)
            if rule is None:
                message = f"the approval tree names rule {item}, which does not exist"
                result = node("rule", item, Status.ERROR, message, error=message)
            else:
                result = rule.evaluate(scope)
            memo[item] = result
        return result
    if isinstance(item, AndNode):
        children = tuple(_item(child, prepared, scope, memo) for child in item.and_)
        status = _and_status(children)
        return node("and", "and", status, _and_sentence(status, children), children)
    children = tuple(_item(child, prepared, scope, memo) for child in item.or_)
    status = _or_status(children)
    return node("or", "or", status, _or_sentence(status, children), children)


def _and_status(children: Sequence[Result]) -> Status:
    statuses = {child.status for child in children}
    if Status.ERROR in statuses:
        return Status.ERROR
    if Status.PENDING in statuses:
        return Status.PENDING
    if Status.APPROVED in statuses:
        return Status.APPROVED
    return Status.SKIPPED


def _or_status(children: Sequence[Result]) -> Status:
    statuses = {child.status for child in children}
    if Status.APPROVED in statuses:
        return Status.APPROVED
    if Status.ERROR in statuses:
        return Status.ERROR
    if Status.PENDING in statuses:
        return Status.PENDING
    return Status.SKIPPED


def _label(child: Result) -> str:
    return child.name if child.kind == "rule" else f"({child.explanation})"


def _and_sentence(status: Status, children: Sequence[Result]) -> str:
    if status is Status.APPROVED:
        approved = [_label(c) for c in children if c.status is Status.APPROVED]
        return f"approved: {join_words(approved)}"
    if status is Status.SKIPPED:
        return "all rules were skipped"
    wanted = Status.ERROR if status is Status.ERROR else Status.PENDING
    return "; ".join(f"{c.name}: {c.explanation}" if c.kind == "rule" else c.explanation
                     for c in children if c.status is wanted)


def _or_sentence(status: Status, children: Sequence[Result]) -> str:
    if status is Status.APPROVED:
        winner = next(c for c in children if c.status is Status.APPROVED)
        return f"approved through {_label(winner)}"
    if status is Status.SKIPPED:
        return "all rules were skipped"
    wanted = Status.ERROR if status is Status.ERROR else Status.PENDING
    options = [f"{c.name}: {c.explanation}" if c.kind == "rule" else c.explanation
               for c in children if c.status is wanted]
    return options[0] if len(options) == 1 else "one of: " + "; or ".join(options)


def _pending_sentences(approval: Result) -> list[str]:
    if approval.children and all(c.status is Status.SKIPPED for c in approval.children):
        return [approval.explanation]
    sentences: list[str] = []
    for child in approval.children:
        if child.status is Status.PENDING:
            sentences.append(
                f"{child.name}: {child.explanation}" if child.kind == "rule" else child.explanation
            )
    return sentences


def _errors(approval: Result) -> list[str]:
    if approval.status is not Status.ERROR:
        return []
    return [f"rule {r.name}: {r.error}" for r in approval.walk()
            if r.kind == "rule" and r.status is Status.ERROR and r.error]
