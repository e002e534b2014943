"""What the bot says back to comment commands: pure texts from decisions and policy.

The pipeline (`bot.pipeline.commands`) decides what happened; this module
words it. Every text addresses the commenter, names what they can do next,
and keeps user-chosen words (logins, reasons) inert in markdown.
"""

from __future__ import annotations

from bot.core.authorize import describe, requirement
from bot.core.commands import KNOWN_COMMANDS, usage
from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.core.policy.models import CommandsConfig
from bot.core.policy.result import join_words, short_sha
from bot.core.render import escape_markdown, markdown

MAX_LISTED_BLOCKERS = 10
"""A reply lists at most this many missing requirements; the status says the rest."""


def help_text(prefix: str, config: CommandsConfig | None) -> str:
    """Every command, its usage and who may run it under this policy."""
    lines = ["Commands (at the start of a line of a new comment):", ""]
    for spec in KNOWN_COMMANDS:
        who = describe(requirement(spec.name, config))
        lines.append(f"- `{usage(spec.name, prefix)}` — {spec.summary} Needs {who}.")
    lines += ["", "`help`, `status` and `recheck` are rate-limited per pull request."]
    return "\n".join(lines)


def status_text(decision: Decision, details_url: str | None) -> str:
    """The explanation, as the check run shows it."""
    return markdown(decision, details_url)


def closed_status_text(state: str, description: str, merged: bool) -> str:
    """`status` on a closed PR: the last verdict the bot posted."""
    closed = "merged" if merged else "closed"
    return (
        f"This pull request is {closed}. The last verdict posted was **{state}**: "
        f"{escape_markdown(description)}"
    )


def _missing(decision: Decision) -> str:
    shown = [f"- {escape_markdown(b)}" for b in decision.blockers[:MAX_LISTED_BLOCKERS]]
    more = len(decision.blockers) - len(shown)
    if more > 0:
        shown.append(f"- … and {more} more (see the status)")
    return "\n".join(shown)


def armed_text(decision: Decision, auto: bool) -> str:
    """`merge` while the gate does not let the PR merge yet."""
    if decision.report_only:
        return (
            "Merge armed, but this repository's policy is in `report` mode: gatebot never "
            "merges here. Merge it yourself, or switch the policy to `mode: enforce`."
        )
    lead = "Merge armed: the pull request is merged as soon as the gate passes."
    if decision.state is GateState.SUCCESS:
        # Passing, yet a `merge.block` signal stops it.
        return f"{lead} The gate passes, but merging is blocked: {escape_markdown(decision.description)}"
    also = " (The policy's `merge.auto` would merge it then anyway.)" if auto else ""
    return f"{lead}{also} Still missing:\n\n{_missing(decision)}"


def not_merged_text(note: str) -> str:
    """`merge` when the gate passes but this run did not merge (the merge step says why)."""
    return f"Merge armed; not merged yet: {escape_markdown(note)}"


def cancel_text(disarmed: bool, auto: bool) -> str:
    """`cancel`: what was disarmed, and whether the policy still merges by itself."""
    if disarmed and not auto:
        return ""  # the reaction says it
    said = "Merge disarmed." if disarmed else "No merge was armed on this pull request."
    if auto:
        said += (
            " The policy's `merge.auto` still merges this pull request when the gate passes;"
            " use `hold` to keep it open."
        )
    return said


def override_text(decision: Decision | None, head_sha: str, login: str, reason: str) -> str:
    """`override`: applied to this head, or why not."""
    override = decision.override if decision is not None else None
    if override is not None and override.sha == head_sha and override.by == login:
        extra = ""
        if decision is not None and decision.state is not GateState.SUCCESS:
            extra = (
                " The gate still does not pass: an override does not lift a draft or a hold, "
                "and never the operator's required policy."
            )
        return (
            f"Override recorded for `{short_sha(head_sha)}` by @{login}: "
            f"{escape_markdown(reason)}. Any push ends it.{extra}"
        )
    return (
        f"The override was not applied: the head `{short_sha(head_sha)}` was pushed, or the "
        "pull request retargeted, after your comment (or its push time is unknown). Review "
        "the new head and comment again."
    )


def unhold_text(lifted: list[str], kept: list[tuple[str, str | None]]) -> str:
    """`unhold`: whose holds were lifted, and whose remain because they outrank the commenter.

    `kept` pairs each remaining holder with the permission recorded for them
    (None: not recorded, taken as admin)."""
    if not lifted and not kept:
        return "This pull request was not on hold."
    if not kept:
        return ""  # the reaction says it
    remaining = join_words(
        [f"{escape_markdown(by)} ({permission or 'admin'})" for by, permission in kept]
    )
    said = f"Lifted the hold{'s' if len(lifted) != 1 else ''} of {_people(lifted)}. " if lifted else ""
    return (
        f"{said}Still on hold by {remaining}: a hold can be lifted only by its author or by "
        "someone whose permission is at least the holder's."
    )


def _people(logins: list[str]) -> str:
    # Named, not @-mentioned: lifting a hold need not notify its holder.
    return join_words([escape_markdown(login) for login in logins])


def closed_text(command: str, merged: bool) -> str:
    closed = "merged" if merged else "closed"
    return f"`{command}` does nothing now: this pull request is {closed}."


def deploy_unmerged_text() -> str:
    return "Nothing to deploy yet: `deploy` ships the merge commit of a merged pull request."


def no_deploy_entry_text(name: str | None, base_ref: str, known: list[str]) -> str:
    """`deploy [name]` where no deploy entry of the policy takes merges into `base_ref`."""
    listed = ", ".join(f"`{n}`" for n in known)
    if name is None:
        return f"Nothing to deploy: the policy has no `deploy` entry for merges into `{base_ref}`."
    others = f" (entries for `{base_ref}`: {listed})" if known else ""
    return f"No deploy entry named `{name}` takes merges into `{base_ref}`{others}."


def already_deployed_text(name: str, merge_sha: str, state: str) -> str:
    return f"`{name}` of {short_sha(merge_sha)} was already handled ({state}); nothing sent again."


def no_policy_text() -> str:
    return "No gatebot policy applies to this repository, so commands do nothing here."


def reply(login: str, messages: list[str]) -> str:
    """One comment answering every command of one comment that had something to say."""
    body = "\n\n".join(m for m in messages if m)
    if not body or body.startswith(f"@{login} "):
        return body  # a refusal already starts by naming its author
    return f"@{login} {body}"


__all__ = [
    "already_deployed_text",
    "armed_text",
    "cancel_text",
    "closed_status_text",
    "closed_text",
    "deploy_unmerged_text",
    "help_text",
    "no_deploy_entry_text",
    "no_policy_text",
    "not_merged_text",
    "override_text",
    "reply",
    "status_text",
    "unhold_text",
]
