"""Problems found in a policy file: a stable code, a position and an actionable message.

Codes are part of the product's contract (users grep for them, docs list them):
never rename one; add new ones instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

ProblemCode = Literal[
    "yaml-syntax",
    "yaml-duplicate-key",
    "yaml-too-large",
    "yaml-too-complex",
    "yaml-empty",
    "unknown-key",
    "missing-key",
    "wrong-type",
    "invalid-value",
    "unsupported-version",
    "empty-combinator",
    "empty-condition",
    "duplicate-rule",
    "undefined-rule",
    "duplicate-deploy",
    "bad-glob",
    "bad-regex",
    "bad-comparison",
    "bad-template",
    "url-not-allowed",
    "secret-not-allowed",
    "unknown-target",
    "target-not-allowed",
    "unused-rule",
]
"""Every code the loader can emit: a code outside this list is a type error."""

# Every code, with the one-line meaning shown in the docs.
CODES: dict[ProblemCode, str] = {
    "yaml-syntax": "the text is not valid YAML (or uses an unsupported tag)",
    "yaml-duplicate-key": "a mapping repeats a key",
    "yaml-too-large": "the file exceeds the size cap",
    "yaml-too-complex": "aliases expand too far or nesting is too deep",
    "yaml-empty": "the file is empty",
    "unknown-key": "a key the language does not have (with a suggestion)",
    "missing-key": "a required key is absent",
    "wrong-type": "a value has the wrong type (text, number, list, mapping, true/false)",
    "invalid-value": "a value of the right type that is not allowed",
    "unsupported-version": "`version` is not 1",
    "empty-combinator": "`and`, `or`, `all` or `any` with no items",
    "empty-condition": "a condition or predicate with nothing to test",
    "duplicate-rule": "two rules share a name",
    "undefined-rule": "the approval tree names a rule that does not exist",
    "duplicate-deploy": "two deploy entries share a name",
    "bad-glob": "a path or branch glob that cannot be compiled",
    "bad-regex": "a regular expression RE2 rejects",
    "bad-comparison": "a comparison such as `<= 50` that cannot be read",
    "bad-template": "a template with an unknown placeholder",
    "url-not-allowed": "a URL where only operator target names are allowed",
    "secret-not-allowed": "a credential in the policy file",
    "unknown-target": "a deploy target the operator has not declared",
    "target-not-allowed": "a deploy target this repository may not use",
    "unused-rule": "(warning) a rule no approval item references",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning at a 1-based line and column of a file."""

    code: ProblemCode
    message: str
    file: str
    line: int
    column: int
    severity: Severity = "error"

    def format(self) -> str:
        """`file:line:col: code message`, warnings marked with `warning:`."""
        marker = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.column}: {marker}{self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
        }
