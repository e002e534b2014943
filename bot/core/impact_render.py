"""The impact of a proposed policy as people read it: the check run's section (capped,
"and N more"), the full text for the terminal, and the counts-only sentence.

Sentences name logins, teams and labels chosen by others, so the markdown is
escaped like the rest of the check run (`render.escape_markdown`, which this
module receives rather than imports: `render` includes this section).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.impact import Impact, ImpactCounts, PullChange
from bot.core.simulate import Outcome

HEADING = "If this change lands"
CHECK_RUN_LIMIT = 10
"""Changed PRs listed in the check run; the details page lists them all."""


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def change_line(
    change: PullChange, *, with_repo: bool = False, escape: Callable[[str], str] = str
) -> str:
    """`#12 success → pending: needs 1 more approval from @acme/security` (what is
    missing passed through `escape`)."""
    name = f"{change.repo}#{change.number}" if with_repo else f"#{change.number}"
    line = f"{name} {change.before.value} → {change.after.value}"
    return f"{line}: {escape('; '.join(change.missing))}" if change.missing else line


def lead(impact: Impact) -> str:
    """The section's first sentence: how many PRs would change, of how many."""
    into = f"open {'PR' if impact.evaluated == 1 else 'PRs'} into {impact.base_ref}"
    if not impact.changes:
        if not impact.evaluated:
            return f"There is no other open PR into {impact.base_ref}."
        return f"None of the {impact.evaluated} other {into} would change its verdict."
    return f"{len(impact.changes)} of the {impact.evaluated} other {into} would change:"


def counts_sentence(counts: ImpactCounts) -> str:
    """`12 open PRs in 4 repositories would change: 9 → pending, 3 → success`."""
    if not counts.changed:
        evaluated = _plural(counts.evaluated, "open PR", "open PRs")
        return f"No open PR would change its verdict ({evaluated} evaluated)."
    outcomes = ", ".join(f"{count} → {state.value}" for state, count in counts.by_outcome)
    return (
        f"{_plural(counts.changed, 'open PR', 'open PRs')} in "
        f"{_plural(counts.repositories, 'repository', 'repositories')} would change: {outcomes}"
    )


def markdown_section(
    found: Impact | ImpactCounts,
    escape: Callable[[str], str],
    limit: int = CHECK_RUN_LIMIT,
) -> list[str]:
    """The check run's "If this change lands" section: at most `limit` PRs, then
    how many more the details page lists."""
    lines = [f"### {HEADING}", ""]
    if isinstance(found, ImpactCounts):
        return [*lines, escape(counts_sentence(found))]
    lines.append(escape(lead(found)))
    if found.changes:
        lines.append("")
        lines += [f"- {change_line(c, escape=escape)}" for c in found.changes[:limit]]
        more = len(found.changes) - limit
        if more > 0:
            lines.append(f"- and {more} more (every one on the details page)")
    return lines


def text_section(found: Impact | ImpactCounts) -> list[str]:
    """The whole section as plain lines, every PR listed."""
    if isinstance(found, ImpactCounts):
        return [f"{HEADING}: {counts_sentence(found)}"]
    return [f"{HEADING}: {lead(found)}", *(f"  {change_line(c)}" for c in found.changes)]


def table(outcomes: list[Outcome]) -> list[str]:
    """Every PR under both policies, for `gatebot simulate`: those that would change
    first, most severe first, then the rest by repository and number; last, a count."""
    changing = sorted((o for o in outcomes if o.changed), key=lambda o: o.change().severity_key())
    steady = sorted(
        (o for o in outcomes if not o.changed),
        key=lambda o: (o.pull.repo.lower(), o.pull.snapshot.number),
    )
    lines = []
    for found in changing:
        line = change_line(found.change(), with_repo=True)
        lines.append(line.replace(" ", f" ({found.pull.snapshot.base_ref}) ", 1))
    for found in steady:
        pull = found.pull
        lines.append(
            f"{pull.repo}#{pull.snapshot.number} ({pull.snapshot.base_ref}) "
            f"{found.before.state.value}, unchanged"
        )
    lines.append(
        f"{len(changing)} of {_plural(len(outcomes), 'open PR', 'open PRs')} would change."
    )
    return lines


__all__ = [
    "CHECK_RUN_LIMIT",
    "HEADING",
    "change_line",
    "counts_sentence",
    "lead",
    "markdown_section",
    "table",
    "text_section",
]
