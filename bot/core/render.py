"""Decisions as people read them: status line, markdown, plain text and JSON.

The status description is what GitHub shows beside the check (at most 140
characters), so it carries the most important blockers' main clauses. Check
runs and comments carry the explanation tree as markdown; the CLI prints it
as indented text; the store and the details page keep the JSON. In every
tree each fact stands once: a parent's line summarises its children and the
leaves say what is missing (`node_lines`).

Explanations contain text chosen by PR authors (labels, logins, override
reasons), so markdown output is escaped: no HTML, no link or emphasis
injection, and @mentions do not notify anyone.
"""

from __future__ import annotations

from typing import Any

from bot.core import node_lines
from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.core.impact_render import markdown_section, text_section
from bot.core.policy.result import (
    ApprovalFacts,
    CheckFacts,
    DisapprovalFacts,
    Result,
    Status,
    short_sha,
)

STATUS_LIMIT = 140
# GitHub rejects check-run summaries and texts longer than 65,535 characters.
CHECK_RUN_TEXT_LIMIT = 65_000

ICONS = {
    Status.APPROVED: "✅",
    Status.PENDING: "⏳",
    Status.SKIPPED: "⏭️",
    Status.FAILED: "❌",
    Status.ERROR: "⚠️",
    Status.TRUE: "✔️",
    Status.FALSE: "✖️",
}

def shorten(text: str, limit: int = STATUS_LIMIT) -> str:
    """`text` cut at a word boundary to at most `limit` characters, marked with `…`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Keep a whole last word; otherwise drop the partial one if that loses little.
    if text[len(cut)] != " " and space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ;,:") + "…"


def _main_clause(sentence: str) -> str:
    return sentence.split("; ", 1)[0]


def status_description(decision: Decision) -> str:
    """The one line posted with the commit status (≤ 140 characters).

    A passing gate says what passed it. Otherwise every blocker, most severe
    first: whole when it fits, else its main clause, then how many more there
    are.
    """
    if decision.state is GateState.SUCCESS or not decision.blockers:
        return shorten(decision.description)
    blockers = list(dict.fromkeys(decision.blockers))
    shown: list[str] = []
    for index, sentence in enumerate(blockers):
        rest = len(blockers) - index - 1
        suffix = f" (+{rest} more)" if rest else ""
        for candidate in (sentence, _main_clause(sentence)):
            if len("; ".join([*shown, candidate]) + suffix) <= STATUS_LIMIT:
                shown.append(candidate)
                break
        else:
            break
    if not shown:
        more = f" (+{len(blockers) - 1} more)" if len(blockers) > 1 else ""
        return shorten(_main_clause(blockers[0]), STATUS_LIMIT - len(more)) + more
    hidden = len(blockers) - len(shown)
    return "; ".join(shown) + (f" (+{hidden} more)" if hidden else "")


def check_run_title(decision: Decision) -> str:
    """Short title of the check run: the state and the status line."""
    prefix = "report only — " if decision.report_only else ""
    return shorten(f"{prefix}{decision.state.word}: {status_description(decision)}",
                   limit=200)


def escape_markdown(text: str) -> str:
    """Make user-chosen text inert in GitHub-flavoured markdown."""
    out = []
    for char in text:
        if char in "\\`*_[]<>|#~":
            out.append("\\" + char)
        elif char == "@":
            out.append("@\u200b")  # a zero-width joiner keeps mentions from notifying
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def markdown(decision: Decision, details_url: str | None = None) -> str:
    """The full explanation for a check run or a PR comment: the tree, each fact once
    (parents summarise their children; the leaves say what is missing)."""
    icon = ICONS[decision.state.status]
    lines = [f"### {icon} gatebot: {decision.state.word}", ""]
    if decision.report_only:
        lines += ["_Report-only mode: this verdict never blocks, merges or deploys._", ""]
    head = f"Evaluated head `{short_sha(decision.head_sha)}`."
    lines += [f"{head} [Details]({details_url})" if details_url else head, ""]
    if decision.impact is not None:
        # Before the tree, so a long explanation's truncation never cuts it.
        lines += [*markdown_section(decision.impact, escape_markdown), "",
                  "### This PR's own verdict", ""]
    lines += _markdown_tree(decision.explanation, 0)
    text = "\n".join(lines) + "\n"
    if len(text) > CHECK_RUN_TEXT_LIMIT:
        text = text[: CHECK_RUN_TEXT_LIMIT - 40] + "\n\n… (explanation truncated)\n"
    return text


def _label(result: Result) -> str:
    if result.kind in {"rule", "check"}:
        return f"{result.kind} **{escape_markdown(result.name)}**"
    return f"**{escape_markdown(result.name)}**"


def _markdown_tree(result: Result, depth: int) -> list[str]:
    if result.kind == "gate":
        lines: list[str] = []
        for child in result.children:
            lines += _markdown_tree(child, depth)
        return lines
    indent = "  " * depth
    lines = [f"{indent}- {ICONS[result.status]} {_label(result)} — "
             f"{escape_markdown(node_lines.line(result))}"]
    lines += [f"{indent}  - {escape_markdown(fact)}" for fact in _fact_lines(result)]
    for child in result.children:
        lines += _markdown_tree(child, depth + 1)
    return lines


def _fact_lines(result: Result) -> list[str]:
    """Who counted and who did not, for rules and disapproval; what each check saw."""
    facts = result.facts
    lines: list[str] = []
    if isinstance(facts, ApprovalFacts):
        for person in facts.counted:
            via = f" via {', '.join(person.via)}" if person.via else ""
            lines.append(f"counted: {person.login} ({person.method} on "
                         f"{short_sha(person.sha)}{via})")
        for discounted in facts.discounted:
            lines.append(f"not counted: {discounted.login} {discounted.reason}")
        if facts.uncovered_count:
            shown = ", ".join(facts.uncovered_files)
            more = facts.uncovered_count - len(facts.uncovered_files)
            lines.append(f"files without an owner's approval: {shown}"
                         + (f" and {more} more" if more > 0 else ""))
    elif isinstance(facts, DisapprovalFacts):
        for person in facts.blocking:
            lines.append(f"blocking: {person.login} ({person.method} on {short_sha(person.sha)})")
        for discounted in facts.discounted:
            lines.append(f"not counted: {discounted.login} {discounted.reason}")
    elif isinstance(facts, CheckFacts):
        for seen in facts.seen:
            source = f" from {seen.app}" if seen.app else ""
            verdict = "counted" if seen.counted else f"ignored: {seen.reason}"
            kind = "check run" if seen.kind == "check_run" else seen.kind
            lines.append(f"{kind} {seen.name}{source}: {seen.state} ({verdict})")
    return lines


def text(decision: Decision) -> str:
    """Plain indented text, for the terminal (`gatebot evaluate`)."""
    lines = [f"{decision.state.word.upper()}: {status_description(decision)}", ""]
    lines += _text_tree(decision.explanation, 0)
    if decision.impact is not None:
        lines += ["", *text_section(decision.impact)]
    return "\n".join(lines) + "\n"


def _text_tree(result: Result, depth: int) -> list[str]:
    indent = "  " * depth
    label = result.kind if result.name == result.kind else f"{result.kind} {result.name}"
    lines = [f"{indent}[{result.status.value}] {label}: {node_lines.line(result)}"]
    lines += [f"{indent}    {fact}" for fact in _fact_lines(result)]
    for child in result.children:
        lines += _text_tree(child, depth + 1)
    return lines


def _tree_json(result: Result) -> dict[str, Any]:
    """The node as stored, with the `line` the details page shows for it."""
    data = result.to_dict()
    data["line"] = node_lines.line(result)
    if result.children:
        data["children"] = [_tree_json(child) for child in result.children]
    return data


def to_json(decision: Decision) -> dict[str, Any]:
    """The decision as JSON-ready data (stored per evaluation; read by the details page)."""
    return {
        "state": decision.state,
        "description": status_description(decision),
        "head_sha": decision.head_sha,
        "merge_allowed": decision.merge_allowed,
        "auto_merge": decision.auto_merge,
        "deploy_allowed": decision.deploy_allowed,
        "report_only": decision.report_only,
        "override": (
            None if decision.override is None
            else decision.override.model_dump(mode="json")
        ),
        "blockers": list(decision.blockers),
        "explanation": _tree_json(decision.explanation),
        "policy_file": (
            None if decision.policy_file is None
            else {"repo": decision.policy_file.repo, "path": decision.policy_file.path,
                  "commit": decision.policy_file.commit}
        ),
        **({"impact": decision.impact.to_dict()} if decision.impact is not None else {}),
    }
