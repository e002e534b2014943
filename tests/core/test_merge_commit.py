"""Merge commit titles and messages from the policy's templates, and the branch-deletion rule."""

from __future__ import annotations

import pytest

from bot.core.merge_commit import (
    PullFacts,
    co_authors,
    commit_message,
    commit_title,
    strip_html_comments,
)
from bot.pipeline.merge import branch_kept_because, merged_comment, method_comment
from bot.providers.base import MergeState

FACTS = PullFacts(
    title="Add {braces} to the parser",
    number=42,
    head_ref="feature/parser",
    base_ref="main",
    author="alice",
    body=(
        "<!-- Describe your change -->\nFixes the parser.\n\n<!-- checklist\n- [ ] tests\n-->\n"
        "Co-authored-by: Bob <bob@example.com>\n"
    ),
    commit_messages=(
        "Parse braces\n\nCo-authored-by: Carol <carol@example.com>",
        "Fix typo\n\nco-authored-by: bob <BOB@example.com>",
        "",
    ),
)


def test_the_title_template_fills_every_placeholder_and_never_rereads_values():
    title = commit_title("{title} (#{number}) {head_ref} -> {base_ref} by {author}", FACTS)
    assert title == "Add {braces} to the parser (#42) feature/parser -> main by alice"
    assert commit_title(None, FACTS) is None


def test_html_comments_are_stripped_including_an_unclosed_one():
    assert strip_html_comments("a <!-- x --> b\n\n\n\nc <!-- open") == "a  b\n\nc"


def test_the_body_message_keeps_co_authors_once_at_the_end():
    message = commit_message("body", FACTS)
    assert message == (
        "Fixes the parser.\n\n"
        "Co-authored-by: Bob <bob@example.com>\nCo-authored-by: Carol <carol@example.com>"
    )
    assert "<!--" not in message and "checklist" not in message


def test_the_commits_message_lists_the_commits_and_keeps_co_authors():
    message = commit_message("commits", FACTS)
    assert message.startswith("* Parse braces\n\n* Fix typo\n\nCo-authored-by: Bob")
    assert message.count("Co-authored-by:") == 2


def test_an_empty_message_still_carries_the_co_authors():
    assert commit_message("empty", FACTS) == (
        "Co-authored-by: Bob <bob@example.com>\nCo-authored-by: Carol <carol@example.com>"
    )
    plain = PullFacts("t", 1, "h", "main", "a", "", ())
    assert commit_message("empty", plain) == "" and commit_message("body", plain) == ""


def test_co_authors_are_matched_case_insensitively_once():
    assert co_authors(["Co-Authored-By: A <a@x>", "co-authored-by: a <A@X>"]) == ["A <a@x>"]


def test_an_unknown_message_mode_is_a_bug():
    with pytest.raises(ValueError):
        commit_message("everything", FACTS)


def state(**changes) -> MergeState:
    values = dict(
        number=7, state="open", merged=False, merge_sha=None, head_sha="a" * 40,
        head_ref="feature", base_ref="main", base_sha="b" * 40, mergeable=True,
        mergeable_state="clean", from_fork=False, title="t", body="", author="alice",
    )
    values.update(changes)
    return MergeState(**values)


def test_a_forks_branch_and_a_branch_other_prs_target_are_kept():
    assert branch_kept_because(state(from_fork=True), []) == "it belongs to a fork"
    assert branch_kept_because(state(), [7, 12, 9]) == "open PRs target it (#9, #12)"
    assert branch_kept_because(state(), [7]) is None


def test_the_feedback_names_method_and_shas():
    assert merged_comment("rebase", "c" * 40, "d" * 40) == (
        f"Merged {'c' * 12} with the `rebase` method as {'d' * 40}."
    )
    assert "allowed: `merge`, `rebase`" in method_comment("squash", frozenset({"rebase", "merge"}))
