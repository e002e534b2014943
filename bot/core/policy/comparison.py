"""Comparisons with a whole number, as written in policies: `"<= 50"`, `"> 100"`.

Kept as text in the models (so the schema and error messages show what the
user wrote) and parsed here both for validation and for evaluation.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_COMPARISON_RE = re.compile(r"^\s*(<=|>=|==|!=|<|>|=)?\s*(\d{1,9})\s*$")

_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
}


class ComparisonError(ValueError):
    """The text is not a comparison; the message says what a valid one looks like."""


@dataclass(frozen=True, slots=True)
class Bound:
    """A parsed comparison: `op` applied as `value <op> limit`."""

    op: str
    limit: int

    def holds(self, value: int) -> bool:
        return _OPERATORS[self.op](value, self.limit)

    def __str__(self) -> str:
        return f"{self.op} {self.limit}"


def parse_comparison(text: str) -> Bound:
    """Parse `"<= 50"`-style text; a bare number means equality."""
    match = _COMPARISON_RE.match(text)
    if match is None:
        raise ComparisonError(
            f"`{text}` is not a comparison: write an operator (<, <=, >, >=, ==, !=) "
            'and a whole number, e.g. "<= 50"'
        )
    op = match.group(1) or "=="
    return Bound("==" if op == "=" else op, int(match.group(2)))
