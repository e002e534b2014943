"""Kodiak keys, imported: the merge gatebot would make on a snapshot is the one
Kodiak's configuration reference describes."""

from __future__ import annotations

import pytest
from support.imports import decision, imported, messages, policy_of

from bot.importing.report import BadInput


def policy(text: str):
    return policy_of("version = 1\n" + text, "kodiak")


def test_the_automerge_label_is_required_by_default():
    minimal = policy("")
    assert not decision(minimal).auto_merge
    assert decision(minimal, labels=("automerge",)).auto_merge


def test_a_custom_label_and_no_label_required():
    custom = policy('[merge]\nautomerge_label = "🚀 merge it!"\n')
    assert decision(custom, labels=("🚀 merge it!",)).auto_merge
    assert decision(policy("[merge]\nrequire_automerge_label = false\n")).auto_merge


def test_blocking_labels_and_the_default_wip_title_stop_the_merge():
    config = policy('[merge]\nblocking_labels = ["wip"]\n')
    assert not decision(config, labels=("automerge", "WIP")).merge_allowed
    assert not decision(config, labels=("automerge",), title="WIP: half done").merge_allowed
    assert decision(config, labels=("automerge",), title="Done").auto_merge


def test_an_empty_blocking_title_regex_turns_the_title_check_off():
    config = policy('[merge]\nblacklist_title_regex = ""\n')
    assert decision(config, labels=("automerge",), title="WIP: x").auto_merge


def test_do_not_merge():
    assert not decision(policy("[merge]\ndo_not_merge = true\n"), labels=("automerge",)).auto_merge


def test_method_message_and_branch_deletion():
    config = policy(
        '[merge]\nmethod = "squash"\ndelete_branch_on_merge = true\n'
        '[merge.message]\ntitle = "pull_request_title"\ninclude_pr_number = false\n'
        'body = "pull_request_body"\n'
    ).merge
    assert (config.method, config.commit_title, config.commit_message, config.delete_branch) == (
        "squash", "{title}", "body", True)
    assert policy('[merge.message]\ntitle = "pull_request_title"\n').merge.commit_title == (
        "{title} (#{number})")


def test_update_always_updates_the_branch():
    assert policy("[update]\nalways = true\n").merge.update_branch
    assert not policy("[update]\nalways = false\n").merge.update_branch


@pytest.mark.parametrize(("text", "key"), [
    ('[merge]\nmethod = "rebase_fast_forward"\n', "merge.method"),
    ('[approve]\nauto_approve_usernames = ["dependabot"]\n', "approve.auto_approve_usernames"),
    ('[merge]\npriority_merge_label = "urgent"\n', "merge.priority_merge_label"),
    ('[merge.message]\ncut_body_before = "<!-- cut -->"\n', "merge.message.cut_body_before"),
])
def test_keys_without_a_counterpart_are_reported(text, key):
    result = imported("version = 1\n" + text, "kodiak")
    assert key in messages(result, "unsupported")
    assert result.exit_code == 1


@pytest.mark.parametrize(("text", "line"), [
    ("version = 2\n", 1),
    ("version = 1\n[merge]\nmethod = \"octopus\"\n", 3),
    ("version = 1\n[merge]\nautomerge_label = \n", 3),
])
def test_bad_input_names_the_line(text, line):
    with pytest.raises(BadInput) as raised:
        imported(text, "kodiak")
    assert raised.value.line == line


def test_keys_outside_merging_are_reported_with_a_reason():
    result = imported('version = 1\ndisable_bot_label = "kodiak:disabled"\n', "kodiak")
    assert "`/gate hold`" in messages(result, "unsupported")["disable_bot_label"]
