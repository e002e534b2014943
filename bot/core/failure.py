"""The decision posted when a PR's evaluation failed: what failed, and when it is tried again.

The worker backs off a PR whose evaluation raised (`bot.store.dirty.back_off`);
this is what the PR shows meanwhile — an `error` (never a pass: whatever the
policy would say is unknown), one sentence naming the failure, never a
stack or an exception's text, and the time of the next try, given by the
caller (the core reads no clock).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.core.policy.result import Status, node


def failure_sentence(what: str, retry_at: datetime) -> str:
    """`could not evaluate: <what>; next try at 14:05 UTC`."""
    when = retry_at.astimezone(UTC).strftime("%H:%M:%S")
    return f"could not evaluate: {what}; next try at {when} UTC"


def evaluation_failed(head_sha: str, what: str, retry_at: datetime) -> Decision:
    """The `error` decision for `head_sha` after a failed evaluation."""
    sentence = failure_sentence(what, retry_at)
    root = node("gate", "gate", Status.ERROR, sentence, error=sentence)
    return Decision(
        GateState.ERROR,
        sentence,
        root,
        head_sha,
        merge_allowed=False,
        auto_merge=False,
        deploy_allowed=False,
        report_only=False,
        blockers=(sentence,),
    )
