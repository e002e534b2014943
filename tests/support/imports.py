"""Import a source configuration and evaluate the policy it became."""

from __future__ import annotations

from pathlib import Path

from factories import make_snapshot

from bot.core.gate import Decision, decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.result import Status
from bot.importing.common import Imported
from bot.importing.formats import import_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def imported(text: str, source_format: str, file: str = "source") -> Imported:
    """The import of `text`, asserted to validate as a gatebot policy."""
    result = import_text(text, file, source_format)
    assert not result.problems, result.problems
    loaded = load_policy_file(result.policy, filename="imported.yml")
    assert not loaded.errors, [p.format() for p in loaded.errors] + [result.policy]
    return result


def policy_of(text: str, source_format: str) -> Policy:
    loaded = load_policy_file(imported(text, source_format).policy, filename="imported.yml")
    assert loaded.policy is not None
    return loaded.policy


def decision(policy: Policy, **snapshot) -> Decision:
    snap = make_snapshot(**snapshot)
    return decide(evaluate(policy, snap), snap)


def rule_status(policy: Policy, name: str, **snapshot) -> Status:
    """The status of the rule `name` in the policy's explanation."""
    snap = make_snapshot(**snapshot)
    evaluation = evaluate(policy, snap)
    for result in evaluation.policy.tree.walk():
        if result.kind == "rule" and result.name == name:
            return result.status
    raise AssertionError(f"no rule {name!r} in the explanation")


def messages(result: Imported, kind: str) -> dict[str, str]:
    """Report entries of one kind by dotted source path."""
    from bot.importing.report import dotted

    return {dotted(e.path): e.message for e in result.report.entries if e.kind.value == kind}
