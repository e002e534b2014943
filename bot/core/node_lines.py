"""What each node of an explanation tree says on its line, so each fact stands once.

A leaf says its own sentence: what a rule still needs, why a check does not
count, what a condition found. A parent summarises its children instead of
repeating their sentences — "1 of 2 rules pending, 1 skipped" when they are
alike, "approval pending; disapproval, checks and tampering approved" when
they are different parts — and a rule says what it needs itself (its
conditions below say why it applies or not). The check run, the details page
and `gatebot evaluate` all print these lines.
"""

from __future__ import annotations

from bot.core.policy.result import ApprovalFacts, DisapprovalFacts, Result, Status

# Most severe first: the group that decides the parent leads its summary.
SEVERITY = (
    Status.ERROR, Status.FAILED, Status.PENDING, Status.FALSE, Status.TRUE,
    Status.APPROVED, Status.SKIPPED,
)

NOUNS = {"rule": "rule", "check": "check", "predicate": "condition", "policy": "policy"}

APPROVAL_PARTS = frozenset({"rule", "and", "or"})

# The nodes whose line is their own sentence even when they have children.
OWN_SENTENCE = frozenset({"rule", "disapproval", "override", "hold", "draft", "block", "trigger"})


def own_sentence(result: Result) -> str:
    """The node's sentence without the name its evaluator put in front (the line shows
    the name already), and without the reasons its facts list person by person."""
    sentence = result.explanation.removeprefix(f"{result.name}: ")
    if result.kind == "check":
        sentence = sentence.removeprefix(f"{result.name} ")
    facts = result.facts
    if isinstance(facts, ApprovalFacts | DisapprovalFacts) and facts.discounted:
        # "needs 1 more approval …; carol approved dead002, before the last push":
        # the reason after the first clause is the `not counted` fact below.
        sentence = sentence.split("; ", 1)[0]
    return sentence


def line(result: Result) -> str:
    """The text of `result`'s line in a tree that shows its children below it."""
    if not result.children:
        return own_sentence(result)
    if result.kind in OWN_SENTENCE:
        if result.status is Status.SKIPPED:
            return "skipped: its condition does not hold"
        return own_sentence(result)
    if len(result.children) == 1 and result.kind in {"predicate", "gate"}:
        # `if` over one condition, a gate of one policy: the child's line says the rest.
        return _word(result.status, 1, "")
    kinds = {child.kind for child in result.children}
    if len(kinds) == 1 and next(iter(kinds)) in NOUNS:
        return _counted(result.children, NOUNS[next(iter(kinds))])
    if kinds <= APPROVAL_PARTS:
        # Rules beside `and` / `or` groups of rules: all are requirements.
        return _counted(result.children, "requirement")
    return _named(result.children)


def _word(status: Status, count: int, noun: str) -> str:
    if status is Status.TRUE:
        return "holds" if count == 1 else "hold"
    if status is Status.FALSE:
        return "does not hold" if count == 1 else "do not hold"
    if status is Status.APPROVED and noun == "check":
        return "passed"
    return {Status.ERROR: "could not be evaluated"}.get(status, status.value)


def _plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    return "policies" if noun == "policy" else noun + "s"


def _groups(children: tuple[Result, ...]) -> list[tuple[Status, list[Result]]]:
    grouped: dict[Status, list[Result]] = {}
    for child in children:
        grouped.setdefault(child.status, []).append(child)
    return [(status, grouped[status]) for status in SEVERITY if status in grouped]


def _counted(children: tuple[Result, ...], noun: str) -> str:
    """`1 of 2 rules pending, 1 skipped`."""
    total = len(children)
    parts = []
    for index, (status, members) in enumerate(_groups(children)):
        count = len(members)
        if index == 0:
            parts.append(f"{count} of {total} {_plural(noun, total)} "
                         f"{_word(status, count, noun)}")
        else:
            parts.append(f"{count} {_word(status, count, noun)}")
    return ", ".join(parts)


def _named(children: tuple[Result, ...]) -> str:
    """`approval pending; disapproval, checks and tampering approved`."""
    parts = []
    for status, members in _groups(children):
        names = [m.name for m in members]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"{listed} {_word(status, len(members), '')}")
    return "; ".join(parts)
