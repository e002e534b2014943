"""bulldozer keys, imported: the merge gatebot would make on a snapshot is the one
bulldozer's README describes."""

from __future__ import annotations

from factories import check, review
from support.imports import decision, imported, messages, policy_of

from bot.core.gate_state import GateState


def merge_config(text: str):
    return policy_of(text, "bulldozer").merge


def test_without_a_merge_section_every_pr_is_considered():
    policy = policy_of("version: 1\n", "bulldozer")
    assert decision(policy).auto_merge


def test_trigger_labels_start_the_merge():
    policy = policy_of("version: 1\nmerge:\n  trigger:\n    labels: [merge when ready]\n",
                       "bulldozer")
    assert not decision(policy).auto_merge
    assert decision(policy, labels=("Merge When Ready",)).auto_merge


def test_old_whitelist_name_is_read_as_trigger():
    policy = policy_of("version: 1\nmerge:\n  whitelist:\n    labels: [go]\n", "bulldozer")
    assert decision(policy, labels=("go",)).auto_merge


def test_ignore_labels_stop_the_merge_and_win_over_the_trigger():
    text = "version: 1\nmerge:\n  trigger: {labels: [go]}\n  ignore: {labels: [do not merge]}\n"
    policy = policy_of(text, "bulldozer")
    stopped = decision(policy, labels=("go", "do not merge"))
    assert not stopped.merge_allowed and not stopped.auto_merge


def test_a_trigger_gatebot_cannot_read_turns_automatic_merging_off():
    text = "version: 1\nmerge:\n  trigger:\n    comment_substrings: [==GO==]\n"
    result = imported(text, "bulldozer")
    assert "merge.trigger.comment_substrings" in messages(result, "unsupported")
    assert result.exit_code == 1
    assert not decision(policy_of(text, "bulldozer")).auto_merge


def test_method_and_squash_options():
    text = """\
version: 1
merge:
  method: squash
  options:
    squash:
      title: pull_request_title
      body: summarize_commits
  delete_after_merge: true
"""
    merge = merge_config(text)
    assert (merge.method, merge.commit_title, merge.commit_message, merge.delete_branch) == (
        "squash", "{title} (#{number})", "commits", True)


def test_squash_defaults_are_written_out():
    merge = merge_config("version: 1\nmerge:\n  method: squash\n")
    assert (merge.commit_title, merge.commit_message) == ("{title} (#{number})", "empty")


def test_ff_only_and_branch_methods_are_refused():
    text = "version: 1\nmerge:\n  method: ff-only\n  branch_method: {develop: squash}\n"
    refused = messages(imported(text, "bulldozer"), "unsupported")
    assert set(refused) == {"merge.method", "merge.branch_method"}


def test_required_statuses_must_pass_before_the_merge():
    policy = policy_of("version: 1\nmerge:\n  required_statuses: [ci/e2e]\n", "bulldozer")
    assert decision(policy).state is GateState.PENDING
    passed = decision(policy, checks=(check("ci/e2e"),))
    assert passed.state is GateState.SUCCESS and passed.auto_merge


def test_update_keeps_the_branch_up_to_date_before_merging():
    text = "version: 1\nupdate:\n  trigger:\n    labels: [update me]\n"
    assert merge_config(text).update_branch
    assert "update.trigger" in messages(imported(text, "bulldozer"), "unsupported")


def test_reviews_are_left_to_branch_protection():
    policy = policy_of("version: 1\n", "bulldozer")
    assert decision(policy).state is GateState.SUCCESS
    assert decision(policy, reviews=(review("bob", "CHANGES_REQUESTED"),)).state \
        is GateState.FAILURE
