"""The explained outcome of an evaluation: a tree of `Result` nodes.

Every node carries its status, the sentence a user reads, its children, and
structured facts (who counted, who was discounted and why, which checks were
seen) that the renderer and the details page present. Nodes are immutable
values; `to_dict` gives their JSON form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class Status(StrEnum):
    """The state of one node.

    Approval nodes (rules, `and`, `or`) are approved, pending, skipped or
    error; checks, disapproval and signals use approved / pending / failed;
    predicate nodes are true or false.
    """

    APPROVED = "approved"
    PENDING = "pending"
    SKIPPED = "skipped"
    FAILED = "failed"
    ERROR = "error"
    TRUE = "true"
    FALSE = "false"


@dataclass(frozen=True, slots=True)
class Counted:
    """A person whose approval counts for a rule."""

    login: str
    method: str
    """`review`, `comment` or `review body`."""
    at: datetime
    sha: str | None = None
    via: tuple[str, ...] = ()
    """What qualified them: team slugs, `user`, `organization acme`, `write permission`,
    `code owner`."""


DiscountCode = Literal[
    "author",
    "contributor",
    "bot",
    "no-access",
    "not-eligible",
    "stale",
    "before-push",
    "before-retarget",
    "push-time-unknown",
    "edited",
    "revoked",
]
"""Why a person's action does not count: stable codes the details page and JSON carry."""


@dataclass(frozen=True, slots=True)
class Discounted:
    """A person whose action was seen but does not count, with the reason a user reads."""

    login: str
    reason: str
    """A short clause, e.g. `approved 3f2a1c9, before the last push` or `is the author`."""
    code: DiscountCode
    """Stable code: why the action does not count (see `DiscountCode`)."""
    sha: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApprovalFacts:
    """What a rule needed and who did (or did not) provide it."""

    required: int
    counted: tuple[Counted, ...] = ()
    discounted: tuple[Discounted, ...] = ()
    missing: int = 0
    eligible: str = ""
    """Who may approve, in words (`acme/backend or write permission`)."""
    distinct_teams: int | None = None
    teams_covered: tuple[tuple[str, str], ...] = ()
    """(team, person) pairs of the matching that spans the teams."""
    uncovered_files: tuple[str, ...] = ()
    """Changed files whose code owners have not approved (first few)."""
    uncovered_count: int = 0


@dataclass(frozen=True, slots=True)
class CheckSeen:
    """One reported check result as the evaluation read it."""

    name: str
    state: str
    app: str | None
    kind: str
    counted: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CheckFacts:
    """A required check and the results considered for it."""

    name: str
    app: str | None = None
    seen: tuple[CheckSeen, ...] = ()


@dataclass(frozen=True, slots=True)
class DisapprovalFacts:
    """Who blocks the PR, and whose blocking actions were discounted."""

    blocking: tuple[Counted, ...] = ()
    discounted: tuple[Discounted, ...] = ()


@dataclass(frozen=True, slots=True)
class PredicateFacts:
    """Evidence behind a predicate: matching paths, labels, people or values."""

    evidence: tuple[str, ...] = ()
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class TamperFacts:
    """Comments edited by someone other than their author since the last push."""

    comment_id: str
    editor: str
    author: str
    at: datetime | None = None


Facts = ApprovalFacts | CheckFacts | DisapprovalFacts | PredicateFacts | TamperFacts


@dataclass(frozen=True, slots=True)
class Result:
    """One node of the explanation tree.

    `kind` says what the node is (`gate`, `policy`, `approval`, `and`, `or`,
    `rule`, `if`, `conditions`, `predicate`, `disapproval`, `checks`, `check`,
    `tampering`, `override`, `draft`, `hold`, `block`, `trigger`,
    `policy-error`, `changed-policy`); `name` is the rule name, predicate key or
    check name; `explanation` is the sentence shown to users.
    """

    kind: str
    name: str
    status: Status
    explanation: str
    children: tuple[Result, ...] = ()
    facts: Facts | None = None
    error: str | None = None
    """Set when the node could not be evaluated (e.g. a team that does not exist)."""

    def walk(self) -> Iterator[Result]:
        """This node and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "status": self.status.value,
            "explanation": self.explanation,
        }
        if self.error is not None:
            data["error"] = self.error
        if self.facts is not None:
            data["facts"] = {"type": type(self.facts).__name__, **_plain(self.facts)}
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        return data


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def node(
    kind: str,
    name: str,
    status: Status,
    explanation: str,
    children: tuple[Result, ...] = (),
    facts: Facts | None = None,
    error: str | None = None,
) -> Result:
    """Shorthand constructor used by the evaluators."""
    return Result(kind, name, status, explanation, children, facts, error)


def short_sha(sha: str | None) -> str:
    return sha[:7] if sha else "an unknown commit"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def join_words(items: list[str] | tuple[str, ...], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"

