"""When a verdict the bot reached for a PR still speaks for it, and what replaces the ones
that no longer do.

A success is about one head on one base. Once the PR's head moves on (a push)
or its base changes (a retarget), that success is stale — and it stays stale
if the head comes back (A → B → A) or the PR is retargeted back, because
comment approvals and overrides from before the return do not count. Two
rules follow:

- the deploy step trusts a recorded verdict only if the merged (head, base)
  is the last one the PR's head history recorded and the verdict was reached
  at or after that record (`verdict_current`);
- a success the bot posted on a head or under a context the PR has left is
  replaced with `pending` (`superseded_pairs`, `superseded_decision`), so the
  forge's branch protection does not keep reading it until the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.core.policy.result import Status, node
from bot.core.snapshot import HeadChange


def verdict_current(
    decided_at: datetime, head_sha: str, base_ref: str, history: Sequence[HeadChange]
) -> bool:
    """Whether a verdict reached at `decided_at` for `head_sha` into `base_ref` still
    speaks for the PR whose head history (oldest first) is `history`.

    It does only if that (head, base) is the last change recorded — nothing
    moved the head or the base since, as far as the bot knows — and the verdict
    was reached at or after that change (the run that records a change decides
    at that very moment). A head that came back, or a base retargeted back, is
    a new change: a verdict from before it does not count. Without any history
    nothing is known about the head: no verdict counts.
    """
    if not history:
        return False
    last = history[-1]
    if last.sha != head_sha or last.base_ref != base_ref:
        return False
    return decided_at >= last.at


def superseded_pairs(
    history: Sequence[HeadChange], head_sha: str, base_ref: str
) -> tuple[tuple[str, str], ...]:
    """Every (head, base) the PR had before, other than the current one, oldest first,
    each once: where a verdict the bot posted no longer speaks for the PR."""
    found: dict[tuple[str, str], None] = {}
    for change in history:
        pair = (change.sha, change.base_ref)
        if pair != (head_sha, base_ref):
            found[pair] = None
    return tuple(found)


def superseded_decision(sha: str, number: int, *, now_base: str | None) -> Decision:
    """The `pending` verdict that replaces a success on `sha` which PR `number` left:
    `now_base` is the PR's new base when `sha` is still its head (a retarget), else
    None (the head moved on)."""
    if now_base is not None:
        text = f"re-evaluating after retarget: #{number} now targets {now_base}"
    else:
        text = f"superseded: no longer the head of #{number}"
    root = node("gate", "gate", Status.PENDING, text)
    return Decision(
        state=GateState.PENDING,
        description=text,
        explanation=root,
        head_sha=sha,
        merge_allowed=False,
        auto_merge=False,
        deploy_allowed=False,
        report_only=False,
        blockers=(text,),
    )


__all__ = ["superseded_decision", "superseded_pairs", "verdict_current"]
