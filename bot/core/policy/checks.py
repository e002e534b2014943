"""Required CI results: check runs (by name) and commit statuses (by context).

The latest result per name wins. `success`, `neutral` and `skipped` pass;
`failure`, `cancelled`, `timed_out`, `action_required` and `error` fail;
anything else — stale, queued, in progress, or nothing reported (including a
glob that matches nothing) — is pending, never passed. A check bound to an
`app` only counts results from that app slug or status creator (with or
without the `[bot]` suffix). The bot's own contexts never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import re2

from bot.core.policy.context import FAILING, PASSING, Context, strip_bot_suffix
from bot.core.policy.models import NamedCheck
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.result import CheckFacts, CheckSeen, Result, Status, node, plural
from bot.core.snapshot import CheckResult

_WAITING_WORDS = {
    "stale": "is stale",
    "queued": "is queued",
    "in_progress": "is in progress",
    "pending": "is pending",
    "waiting": "is waiting",
    "requested": "is requested",
    "expected": "is expected",
}


def classify(state: str) -> Status:
    """A result's class: APPROVED (passed), FAILED or PENDING."""
    if state in PASSING:
        return Status.APPROVED
    if state in FAILING:
        return Status.FAILED
    return Status.PENDING


@cache
def _name_regex(pattern: str) -> re2._Regexp:
    # `*` is the only wildcard: check names are free text ("ci / test (3.11)").
    return re2.compile("".join(".*" if part == "*" else re2.escape(part)
                               for part in _split_stars(pattern)))


def _split_stars(pattern: str) -> list[str]:
    parts: list[str] = []
    for i, piece in enumerate(pattern.split("*")):
        if i:
            parts.append("*")
        if piece:
            parts.append(piece)
    return parts


def _star_match(parts: tuple[str, ...], name: str) -> bool:
    """Whether `name` is parts[0], then anything, parts[1], ..., anything, parts[-1]
    (the pattern split at its `*`s). Taking each middle part at its first place leaves
    the most room for the rest, so the first place found is never wrong."""
    first, last = parts[0], parts[-1]
    if len(name) < len(first) + len(last):
        return False
    if not (name.startswith(first) and name.endswith(last)):
        return False
    position, end = len(first), len(name) - len(last)
    for part in parts[1:-1]:
        if part:
            found = name.find(part, position, end)
            if found < 0:
                return False
            position = found + len(part)
    return True


def _latest(results: Sequence[CheckResult]) -> CheckResult:
    # max() keeps the first of equal times; the forge lists newer results later.
    best = results[0]
    for result in results[1:]:
        if result.updated_at >= best.updated_at:
            best = result
    return best


class RequiredCheck:
    """One entry of `checks:` (or of a `checks` predicate): a name or glob, maybe an app."""

    def __init__(self, name: str, app: str | None = None) -> None:
        self.name = name
        self.app = app
        self._app_key = strip_bot_suffix(app) if app else None
        self._glob = "*" in name
        self._regex = _name_regex(name) if self._glob else None
        self._parts = tuple(name.split("*"))

    @classmethod
    def from_spec(cls, spec: str | NamedCheck) -> RequiredCheck:
        if isinstance(spec, NamedCheck):
            return cls(spec.name, spec.app)
        return cls(spec)

    def needs(self) -> SnapshotNeeds:
        return SnapshotNeeds(checks=True)

    @property
    def label(self) -> str:
        return f"{self.name} (from {self.app})" if self.app else self.name

    def _names(self, by_name: dict[str, tuple[CheckResult, ...]]) -> list[str]:
        if self._regex is None:
            return [self.name] if self.name in by_name else []
        return [n for n in by_name if self._matches(n)]

    def _matches(self, name: str) -> bool:
        """`name` fully matches the glob. The regex's `.` stops at a newline and RE2 reads
        UTF-8: names with either go to it; plain ones are matched part by part (the
        regex wrapper's overhead was most of a policy's check evaluation)."""
        if "\n" in name or not name.isascii():
            assert self._regex is not None
            return self._regex.fullmatch(name) is not None
        return _star_match(self._parts, name)

    def evaluate(self, ctx: Context) -> Result:
        by_name = ctx.checks_by_name
        seen: list[CheckSeen] = []
        latest: list[CheckResult] = []
        wrong_app: list[CheckResult] = []
        for name in self._names(by_name):
            results: Sequence[CheckResult] = by_name[name]
            if self._app_key is not None:
                wrong = [r for r in results if not r.app or strip_bot_suffix(r.app) != self._app_key]
                results = [r for r in results if r not in wrong]
                wrong_app.extend(wrong)
            if results:
                latest.append(_latest(results))
        for result in latest:
            seen.append(CheckSeen(result.name, result.state, result.app, result.kind, True))
        for result in wrong_app:
            seen.append(CheckSeen(
                result.name, result.state, result.app, result.kind, False,
                f"reported by {result.app or 'an unknown creator'}, not {self.app}",
            ))
        facts = CheckFacts(self.name, self.app, tuple(seen))
        status, sentence = self._verdict(latest, wrong_app)
        return node("check", self.name, status, sentence, facts=facts)

    def _verdict(
        self, latest: list[CheckResult], wrong_app: list[CheckResult]
    ) -> tuple[Status, str]:
        if not latest:
            if wrong_app:
                others = sorted({r.app or "an unknown creator" for r in wrong_app})
                return Status.PENDING, (
                    f"{self.name} was reported only by {', '.join(others)}; "
                    f"it must come from {self.app}"
                )
            if self._glob:
                return Status.PENDING, f"no check matching {self.name} has reported yet"
            return Status.PENDING, f"{self.label} has not reported yet"
        failed: list[CheckResult] = []
        waiting: list[CheckResult] = []
        for result in latest:
            status = classify(result.state)
            if status is Status.FAILED:
                failed.append(result)
            elif status is Status.PENDING:
                waiting.append(result)
        if failed:
            return Status.FAILED, "; ".join(f"{r.name} failed ({r.state})" for r in failed)
        if waiting:
            return Status.PENDING, "; ".join(
                f"{r.name} {_WAITING_WORDS.get(r.state, 'has not finished')}" for r in waiting
            )
        if self._glob:
            return Status.APPROVED, f"{plural(len(latest), 'check')} matching {self.name} passed"
        return Status.APPROVED, f"{self.label} passed ({latest[0].state})"


def evaluate_required_checks(checks: Sequence[RequiredCheck], ctx: Context) -> Result:
    """The policy's `checks:` section as one node: failed > pending > approved."""
    if not checks:
        return node("checks", "checks", Status.APPROVED, "no checks are required")
    children = tuple(check.evaluate(ctx) for check in checks)
    failed = [c for c in children if c.status is Status.FAILED]
    pending = [c for c in children if c.status is Status.PENDING]
    if failed:
        return node("checks", "checks", Status.FAILED,
                    "; ".join(c.explanation for c in failed), children)
    if pending:
        return node("checks", "checks", Status.PENDING,
                    "; ".join(c.explanation for c in pending), children)
    sentence = (
        children[0].explanation if len(children) == 1
        else f"all {len(children)} required checks passed"
    )
    return node("checks", "checks", Status.APPROVED, sentence, children)
