"""Pieces every source format shares: literal-text regexes, permission order,
the approval-free rule a merge bot's import needs, and the final check that
the written policy is one `gatebot validate` accepts."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import PERMISSION_ORDER
from bot.importing.report import Report

_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def literal_regex(text: str) -> str:
    """An RE2 regex searching for `text` as it is (policy-bot's "comment contains")."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def lowest_permission(permissions: list[str]) -> str:
    """The lowest of several permissions: anyone with at least one of them qualifies."""
    return min(permissions, key=PERMISSION_ORDER.index)


@dataclass(frozen=True)
class Imported:
    """The result of one import: the policy text (when one could be written) and the report."""

    policy: str
    report: Report
    problems: tuple[str, ...] = ()
    """Problems `gatebot validate` finds in the written policy (none expected)."""

    @property
    def exit_code(self) -> int:
        return 0 if self.report.complete and not self.problems else 1


def finish(policy_text: str, report: Report, output_name: str) -> Imported:
    """Validate the written policy as `gatebot validate` would, and bundle the result."""
    result = load_policy_file(policy_text, filename=output_name)
    problems = tuple(p.format() for p in result.errors)
    return Imported(policy_text, report, problems)


MERGE_BOT_APPROVAL_NOTE = (
    "merges only what GitHub's branch protection lets it merge; gatebot has no view of "
    "branch protection's review settings, so the imported policy requires no approval "
    "(rule `branch-protection`) and GitHub still refuses a merge its protection does not "
    "allow. gatebot's default disapproval applies: a change request from anyone with write "
    "permission fails the gate. Import your approval policy (e.g. policy-bot's) or add a "
    "rule to gate on reviews"
)


def merge_bot_policy(merge: dict[str, object], checks: list[object]) -> dict[str, object]:
    """The policy a merge bot's import writes: one approval-free rule (branch
    protection keeps gating reviews on GitHub), the checks and the merge section."""
    out: dict[str, object] = {
        "version": 1,
        "policy": {"approval": ["branch-protection"]},
        "rules": [{
            "name": "branch-protection",
            "description": "Reviews are left to GitHub's branch protection, as before the import",
            "requires": {"approvals": 0},
        }],
    }
    if checks:
        out["checks"] = checks
    out["merge"] = merge
    return out


def header(file: str, source_format: str) -> list[str]:
    return [
        f"gatebot policy imported from {file} ({source_format}).",
        "Comments name the source line each value came from; `gatebot import` printed",
        "what was mapped, what differs and what has no counterpart.",
    ]
