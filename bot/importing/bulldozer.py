"""bulldozer's `.bulldozer.yml` read into a gatebot `merge:` section.

bulldozer merges what GitHub's branch protection allows once its trigger
holds and its ignore does not; gatebot merges once its gate passes. Trigger
and ignore labels become `merge.trigger` / `merge.block`; comment and body
signals have no counterpart (a `/gate merge` or `/gate hold` comment is what
gatebot reads instead).
"""

from __future__ import annotations

from typing import Any

from bot.importing.common import (
    MERGE_BOT_APPROVAL_NOTE,
    Imported,
    finish,
    header,
    merge_bot_policy,
)
from bot.importing.emit import At, Default, to_yaml
from bot.importing.report import BadInput, Path, Source

FORMAT = "bulldozer"
_METHODS = ("merge", "squash", "rebase", "ff-only")
_SIGNALS = ("labels", "comment_substrings", "comments", "pr_body_substrings", "branches",
            "branch_patterns")


def convert(source: Source, output_name: str) -> Imported:
    """The gatebot policy for a parsed `.bulldozer.yml`."""
    if source.number(("version",), 1) != 1:
        raise BadInput("only bulldozer configuration version 1 can be imported",
                       source.line(("version",)))
    if source.has(("version",)):
        source.mapped(("version",), "`version: 1`")
    merge: dict[str, Any] = {}
    checks: list[Any] = []
    if source.has(("merge",)):
        _merge(source, merge, checks)
    else:
        merge["auto"] = Default(True, FORMAT)
    if source.has(("update",)):
        _update(source, merge)
    source.note("bulldozer " + MERGE_BOT_APPROVAL_NOTE)
    source.finish()
    policy = merge_bot_policy(merge, checks)
    text = to_yaml(policy, source.report.file, header(source.report.file, FORMAT))
    return finish(text, source.report, output_name)


def _section(source: Source, merge_path: Path, names: tuple[str, str]) -> Path | None:
    """The path of `trigger` (or its old name `whitelist`), whichever is present."""
    for name in names:
        if source.has((*merge_path, name)):
            return (*merge_path, name)
    return None


def _merge(source: Source, merge: dict[str, Any], checks: list[Any]) -> None:
    path: Path = ("merge",)
    source.section(path)
    merge["auto"] = At(True, source.line(path))
    trigger = _section(source, path, ("trigger", "whitelist"))
    if trigger is not None:
        labels = _signals(source, trigger, block=False)
        if labels:
            merge["trigger"] = At({"labels": labels}, source.line(trigger))
        else:
            merge["auto"] = At(False, source.line(trigger))
            source.differs(
                trigger,
                "no trigger gatebot can read is left, so automatic merging is off "
                "(`auto: false`); a `/gate merge` comment arms the merge of one PR",
            )
    ignore = _section(source, path, ("ignore", "blacklist"))
    if ignore is not None:
        labels = _signals(source, ignore, block=True)
        if labels:
            merge["block"] = At({"labels": labels}, source.line(ignore))
    method = _method(source, merge)
    squash: Path = (*path, "options", "squash")
    if source.has((*path, "options")):
        source.section((*path, "options"))
    if source.has(squash):
        source.section(squash)
    if method == "squash":
        _squash(source, squash, merge)
    elif source.has(squash):
        source.mapped(squash, "squash options have no effect with this merge method")
    if source.has((*path, "required_statuses")):
        names = source.strings((*path, "required_statuses"))
        checks.extend(names)
        source.differs(
            (*path, "required_statuses"),
            "`checks:`; in gatebot they gate the status itself, not only the automatic merge",
        )
    if source.has((*path, "delete_after_merge")):
        merge["delete_branch"] = At(source.flag((*path, "delete_after_merge")),
                                    source.line((*path, "delete_after_merge")))
        source.mapped((*path, "delete_after_merge"), "`merge.delete_branch`")
    if source.has((*path, "allow_merge_with_no_checks")):
        if source.flag((*path, "allow_merge_with_no_checks")):
            source.mapped((*path, "allow_merge_with_no_checks"),
                          "gatebot merges whatever checks the branch has")
        else:
            source.differs(
                (*path, "allow_merge_with_no_checks"),
                "gatebot does not read which checks branch protection requires; it merges "
                "once the checks listed under `checks:` pass — list them there",
            )


def _signals(source: Source, path: Path, *, block: bool) -> list[str]:
    source.section(path)
    labels: list[str] = []
    for key in _SIGNALS:
        key_path = (*path, key)
        if not source.has(key_path):
            continue
        values = source.strings(key_path)
        if key == "labels":
            labels.extend(values)
            source.mapped(
                key_path,
                "`merge.block.labels` (gatebot also shows them as a pending gate)" if block
                else "`merge.trigger.labels` (case-insensitive, as in bulldozer)",
            )
        elif block:
            source.unsupported(
                key_path,
                f"gatebot reads no {key.replace('_', ' ')} to stop a merge; a `/gate hold` "
                "comment stops one PR, a label listed in `merge.block.labels` stops any",
            )
        else:
            source.unsupported(
                key_path,
                f"gatebot reads no {key.replace('_', ' ')} to start a merge; a `/gate merge` "
                "comment arms one PR, a label in `merge.trigger.labels` any",
            )
    return labels


def _method(source: Source, merge: dict[str, Any]) -> str:
    """Write the merge method; return the one bulldozer uses."""
    path: Path = ("merge", "method")
    method = source.choice(path, _METHODS, "merge")
    if method == "ff-only":
        source.unsupported(path, "gatebot merges with merge, squash or rebase; `ff-only` "
                           "has no counterpart, so the method stays `merge`")
    elif source.has(path):
        merge["method"] = At(method, source.line(path))
        source.mapped(path, f"`merge.method: {method}`")
    by_branch: Path = ("merge", "branch_method")
    if source.has(by_branch):
        methods = source.mapping(by_branch)
        if all(value == method for value in methods.values()):
            source.mapped(by_branch, "every branch uses `merge.method`")
        else:
            source.unsupported(
                by_branch,
                "one policy has one merge method; gatebot reads the policy from each PR's "
                "base branch, so set `merge.method` in the policy on that branch",
            )
    return method


def _squash(source: Source, path: Path, merge: dict[str, Any]) -> None:
    title = source.choice((*path, "title"),
                          ("pull_request_title", "first_commit_title", "github_default_title"),
                          "pull_request_title")
    if title == "pull_request_title":
        merge["commit_title"] = _origin(source, (*path, "title"), "{title} (#{number})")
        if source.has((*path, "title")):
            source.mapped((*path, "title"), "`commit_title: \"{title} (#{number})\"`")
    elif title == "first_commit_title":
        source.unsupported((*path, "title"), "gatebot's commit title template has no "
                           "first-commit placeholder; GitHub's default title is used")
    else:
        source.mapped((*path, "title"), "GitHub's default title (no `commit_title`)")
    body = source.choice((*path, "body"),
                         ("pull_request_body", "summarize_commits", "empty_body"), "empty_body")
    message = {"pull_request_body": "body", "summarize_commits": "commits",
               "empty_body": "empty"}[body]
    merge["commit_message"] = _origin(source, (*path, "body"), message)
    if source.has((*path, "body")):
        if body == "pull_request_body":
            source.differs((*path, "body"), "`commit_message: body`; gatebot drops the "
                           "description's HTML comments and keeps Co-authored-by trailers")
        else:
            source.mapped((*path, "body"), f"`commit_message: {message}`")
    if source.has((*path, "message_delimiter")):
        if source.text((*path, "message_delimiter")):
            source.unsupported((*path, "message_delimiter"),
                               "gatebot takes the whole description, not a delimited part")
        else:
            source.mapped((*path, "message_delimiter"), "empty: the whole description")


def _origin(source: Source, path: Path, value: Any) -> Any:
    """`value` marked with the line of `path`, or as bulldozer's default when absent."""
    return At(value, source.line(path)) if source.has(path) else Default(value, FORMAT)


def _update(source: Source, merge: dict[str, Any]) -> None:
    path: Path = ("update",)
    merge["update_branch"] = At(True, source.line(path))
    source.section(path)
    source.differs(
        path,
        "`merge.update_branch: true`: gatebot brings a branch up to date when it is about to "
        "merge it, not every PR as soon as its base moves",
    )
    for names in (("trigger", "whitelist"), ("ignore", "blacklist")):
        section = _section(source, path, names)
        if section is not None:
            source.unsupported(
                section,
                "gatebot has no separate choice of which PRs to keep up to date: it updates "
                "each PR it is about to merge, and no other",
            )
