"""Kodiak's `.kodiak.toml` read into a gatebot `merge:` section.

Kodiak merges what GitHub's branch protection allows once the automerge
label is on (unless `require_automerge_label = false`) and no blocking
label or title is present. Its defaults are written out where gatebot's
differ: the `^WIP:.*` blocking title, and GitHub's default message body.
"""

from __future__ import annotations

from typing import Any

from bot.core.regex import RegexError, compile_regex
from bot.importing.common import (
    MERGE_BOT_APPROVAL_NOTE,
    Imported,
    finish,
    header,
    merge_bot_policy,
)
from bot.importing.emit import At, Default, to_yaml
from bot.importing.report import BadInput, Path, Source, dotted

FORMAT = "kodiak"
DEFAULT_BLOCKING_TITLE = "^WIP:.*"
_MERGE: Path = ("merge",)
_MESSAGE: Path = ("merge", "message")


def convert(source: Source, output_name: str) -> Imported:
    """The gatebot policy for a parsed `.kodiak.toml`."""
    if source.at(("version",)) != 1:
        raise BadInput("`version = 1` is required", source.line(("version",)))
    source.mapped(("version",), "`version: 1`")
    source.note("Kodiak " + MERGE_BOT_APPROVAL_NOTE)
    merge: dict[str, Any] = {}
    for section in (_MERGE, _MESSAGE, ("update",), ("approve",)):
        if source.has(section):
            source.section(section)
    _trigger(source, merge)
    _block(source, merge)
    _method(source, merge)
    _message(source, merge)
    _merge_options(source, merge)
    _update(source, merge)
    _approve(source)
    _other(source)
    source.finish()
    policy = merge_bot_policy(merge, [])
    text = to_yaml(policy, source.report.file, header(source.report.file, FORMAT))
    return finish(text, source.report, output_name)


def _line(source: Source, path: Path) -> int:
    return source.line(path)


def _origin(source: Source, path: Path, value: Any) -> Any:
    """`value` marked with the line of `path`, or as Kodiak's default when absent."""
    return At(value, source.line(path)) if source.has(path) else Default(value, FORMAT)


def _trigger(source: Source, merge: dict[str, Any]) -> None:
    label_path = (*_MERGE, "automerge_label")
    labels = source.strings(label_path) or ["automerge"]
    required = source.flag((*_MERGE, "require_automerge_label"), True)
    do_not_merge = source.flag((*_MERGE, "do_not_merge"))
    merge["auto"] = _origin(source, (*_MERGE, "do_not_merge"), not do_not_merge)
    if required:
        merge["trigger"] = {"labels": _origin(source, label_path, labels)}
    if source.has(label_path):
        if required:
            source.differs(label_path, "`merge.trigger.labels`; gatebot compares labels "
                           "case-insensitively, Kodiak exactly")
        else:
            source.mapped(label_path, "not needed: `require_automerge_label` is false")
    if source.has((*_MERGE, "require_automerge_label")):
        source.mapped((*_MERGE, "require_automerge_label"),
                      "`merge.trigger` holds the label" if required
                      else "no `merge.trigger`: every passing PR is merged")
    if source.has((*_MERGE, "do_not_merge")):
        source.mapped((*_MERGE, "do_not_merge"),
                      "`merge.auto: false` (a `/gate merge` comment still merges one PR)"
                      if do_not_merge else "`merge.auto: true`")


def _block(source: Source, merge: dict[str, Any]) -> None:
    block: dict[str, Any] = {}
    labels: list[str] = []
    first_line = 0
    for key in ("blocking_labels", "blacklist_labels"):
        path = (*_MERGE, key)
        if source.has(path):
            labels.extend(source.strings(path))
            first_line = first_line or source.line(path)
            source.differs(path, "`merge.block.labels`; gatebot also shows them as a "
                           "pending gate, and compares labels case-insensitively (Kodiak: exactly)")
    if labels:
        block["labels"] = At(labels, first_line)
    title = DEFAULT_BLOCKING_TITLE
    # `blocking_title_regex` wins over its deprecated name, as in Kodiak.
    for key in ("blacklist_title_regex", "blocking_title_regex"):
        path = (*_MERGE, key)
        if source.has(path):
            title = source.text(path) or ""
            try:
                compile_regex(title)
            except RegexError as exc:
                raise BadInput(f"{dotted(path)}: `{title}` is not a regex RE2 accepts: {exc}",
                               source.line(path)) from None
            source.differs(path, "`merge.block.title` (RE2, searched; Kodiak uses Python's "
                           "`re.search`)" if title else "empty: no title blocks a merge")
    if title:
        block["title"] = _origin(source, (*_MERGE, "blocking_title_regex"), [title]) \
            if source.has((*_MERGE, "blocking_title_regex")) \
            else _origin(source, (*_MERGE, "blacklist_title_regex"), [title])
    if block:
        merge["block"] = block


def _method(source: Source, merge: dict[str, Any]) -> None:
    path = (*_MERGE, "method")
    method = source.choice(path, ("merge", "squash", "rebase", "rebase_fast_forward"), "merge")
    if method == "rebase_fast_forward":
        source.unsupported(path, "gatebot merges with merge, squash or rebase; "
                           "`rebase_fast_forward` has no counterpart, so the method stays merge")
        return
    if source.has(path):
        merge["method"] = At(method, source.line(path))
        source.mapped(path, f"`merge.method: {method}`")


def _message(source: Source, merge: dict[str, Any]) -> None:
    title = source.choice((*_MESSAGE, "title"), ("github_default", "pull_request_title"),
                          "github_default")
    number = source.flag((*_MESSAGE, "include_pr_number"), True)
    if title == "pull_request_title":
        merge["commit_title"] = At("{title} (#{number})" if number else "{title}",
                                   source.line((*_MESSAGE, "title")))
    if source.has((*_MESSAGE, "title")):
        source.mapped((*_MESSAGE, "title"), "`merge.commit_title`" if title != "github_default"
                      else "GitHub's default title (no `commit_title`)")
    if source.has((*_MESSAGE, "include_pr_number")):
        source.mapped((*_MESSAGE, "include_pr_number"), "` (#{number})` in `commit_title`")
    body = source.choice((*_MESSAGE, "body"), ("github_default", "pull_request_body", "empty"),
                         "github_default")
    body_path = (*_MESSAGE, "body")
    message = {"github_default": "commits", "pull_request_body": "body", "empty": "empty"}[body]
    merge["commit_message"] = _origin(source, body_path, message)
    if source.has(body_path):
        if body == "github_default":
            source.differs(body_path, "`commit_message: commits` (the commit messages, as "
                           "GitHub's default body lists them)")
        else:
            source.mapped(body_path, f"`commit_message: {message}`")
    body_type = source.choice((*_MESSAGE, "body_type"), ("markdown", "plain_text", "html"),
                              "markdown")
    if source.has((*_MESSAGE, "body_type")):
        if body_type == "markdown":
            source.mapped((*_MESSAGE, "body_type"), "gatebot keeps the description's markdown")
        else:
            source.unsupported((*_MESSAGE, "body_type"),
                               "gatebot keeps the description as markdown; it does not render it")
    _message_flags(source)


def _message_flags(source: Source) -> None:
    flags = {
        "strip_html_comments": (
            "gatebot drops the description's HTML comments (`commit_message: body`)",
            "gatebot always drops the description's HTML comments",
            False),
        "include_coauthors": (
            "gatebot keeps every `Co-authored-by:` of the description and the commits",
            "gatebot keeps the commits' `Co-authored-by:` trailers anyway",
            False),
        "include_pull_request_author": (
            "", "", True),
        "include_pull_request_url": (
            "", "", True),
    }
    for key, (when_true, when_false, refused_if_true) in flags.items():
        path = (*_MESSAGE, key)
        if not source.has(path):
            continue
        value = source.flag(path)
        if value and refused_if_true:
            source.unsupported(path, "gatebot's merge message has no place for this; "
                               "it keeps the description's and commits' Co-authored-by trailers")
        elif value:
            source.mapped(path, when_true)
        elif refused_if_true:
            source.mapped(path, "false: nothing to write")
        else:
            source.differs(path, when_false)
    for key in ("cut_body_before", "cut_body_after", "cut_body_and_text"):
        path = (*_MESSAGE, key)
        if source.has(path):
            if source.at(path) in ("", False):
                source.mapped(path, "empty: nothing to write")
            else:
                source.unsupported(path, "gatebot takes the whole description, not a cut")


def _merge_options(source: Source, merge: dict[str, Any]) -> None:
    path = (*_MERGE, "delete_branch_on_merge")
    if source.has(path):
        merge["delete_branch"] = At(source.flag(path), source.line(path))
        source.mapped(path, "`merge.delete_branch`")
    path = (*_MERGE, "update_branch_immediately")
    if source.has(path) and source.flag(path):
        merge["update_branch"] = At(True, source.line(path))
        source.differs(path, "`merge.update_branch: true`; gatebot updates a branch when it "
                       "is about to merge it")
    elif source.has(path):
        source.mapped(path, "false: nothing to write")
    refused = {
        "block_on_reviews_requested": "gatebot does not wait for requested reviewers; write a "
        "rule that requires their approval",
        "block_on_neutral_required_check_runs": "gatebot counts a neutral check as passed",
        "dont_wait_on_status_checks": "gatebot waits for every check listed under `checks:`; "
        "leave the ones not to wait for out of that list",
        "priority_merge_label": "gatebot merges each PR as soon as it passes; there is no "
        "queue to jump",
    }
    for key, reason in refused.items():
        path = (*_MERGE, key)
        if not source.has(path):
            continue
        value = source.at(path)
        if value in (False, [], ""):
            source.mapped(path, "off: nothing to write")
        else:
            source.unsupported(path, reason)
    differs = {
        "notify_on_conflict": "gatebot says on the PR why a merge failed; it does not remove "
        "the automerge label",
        "optimistic_updates": "gatebot updates a branch only when it is about to merge it, "
        "then waits for the new head's checks",
        "prioritize_ready_to_merge": "gatebot merges each PR as soon as it passes, whatever "
        "the order",
    }
    for key, text in differs.items():
        path = (*_MERGE, key)
        if source.has(path):
            source.flag(path)
            source.differs(path, text)


def _update(source: Source, merge: dict[str, Any]) -> None:
    path = ("update", "always")
    if source.has(path):
        if source.flag(path):
            merge["update_branch"] = At(True, source.line(path))
            source.differs(path, "`merge.update_branch: true`; gatebot updates a branch when "
                           "it is about to merge it, not every PR whenever its base moves")
        else:
            source.mapped(path, "false: nothing to write")
    path = ("update", "require_automerge_label")
    if source.has(path):
        source.flag(path)
        source.differs(path, "gatebot updates only the PRs it merges, so only those its "
                       "trigger admits")
    for key, reason in (
        ("autoupdate_label", "gatebot has no label that only keeps a PR up to date"),
        ("ignored_usernames", "gatebot does not skip updates by author"),
        ("blacklist_usernames", "gatebot does not skip updates by author"),
    ):
        key_path = ("update", key)
        if source.has(key_path):
            if source.at(key_path) in ("", [], None):
                source.mapped(key_path, "empty: nothing to write")
            else:
                source.unsupported(key_path, reason)


def _other(source: Source) -> None:
    """Kodiak keys outside merging, updating and approving."""
    refused = {
        ("disable_bot_label",): "gatebot has no label that switches it off for a PR; a "
        "`/gate hold` comment, or a label in `merge.block.labels`, stops its merge",
        ("app_id",): "one gatebot installation serves the repository; there is no app to pick",
        ("merge", "automerge_dependencies"): "gatebot does not read dependency versions from "
        "titles; a rule with `if: {author: ...}` and `approvals: 0` lets such PRs pass",
    }
    for path, reason in refused.items():
        if source.has(path):
            source.unsupported(path, reason)


def _approve(source: Source) -> None:
    for key in ("auto_approve_usernames", "auto_approve_labels"):
        path = ("approve", key)
        if not source.has(path):
            continue
        if source.strings(path):
            source.unsupported(
                path,
                "gatebot never writes reviews itself; for PRs that need none, write a rule "
                "with `if: {author: {in: {users: [...]}}}` (or `labels`) and "
                "`requires: {approvals: 0}`, and require gatebot's status instead of reviews",
            )
        else:
            source.mapped(path, "empty: nothing to write")
