"""policy-bot keys, imported: on a snapshot, each gives the verdict policy-bot's
documented semantics give (palantir/policy-bot README)."""

from __future__ import annotations

import pytest
from factories import (
    HEAD,
    OLD_HEAD,
    changed,
    check,
    comment,
    commit,
    review,
)
from support.imports import decision, imported, messages, policy_of, rule_status

from bot.core.gate_state import GateState
from bot.core.policy.result import Status
from bot.importing.report import BadInput


def one_rule(rule: str, extra: str = "") -> str:
    """A policy-bot file whose approval is the rule `r` (YAML lines under `- name: r`)."""
    body = "".join(f"    {line}\n" for line in rule.strip("\n").splitlines())
    return f"policy:\n  approval:\n    - r\n{extra}approval_rules:\n  - name: r\n{body}"


def status(rule: str, **snapshot) -> Status:
    return rule_status(policy_of(one_rule(rule), "policy-bot"), "r", **snapshot)


TEAM = "requires:\n  count: 1\n  teams: [acme/backend]"


# -- requires ------------------------------------------------------------------------


def test_count_and_teams_count_members_only():
    assert status(TEAM, reviews=(review("bob"),)) is Status.APPROVED
    assert status(TEAM, reviews=(review("dave"),)) is Status.PENDING


def test_users_and_organizations_are_alternatives():
    rule = "requires:\n  count: 1\n  users: [dave]\n  organizations: [nobody-org]"
    assert status(rule, reviews=(review("dave"),)) is Status.APPROVED
    assert status(rule, reviews=(review("bob"),)) is Status.PENDING
    rule = "requires:\n  count: 1\n  organizations: [acme]"
    assert status(rule, reviews=(review("erin"),)) is Status.APPROVED


def test_permissions_means_at_least_the_lowest_listed():
    rule = "requires:\n  count: 1\n  permissions: [admin, maintain]"
    assert status(rule, reviews=(review("carol"),)) is Status.APPROVED  # maintain
    assert status(rule, reviews=(review("bob"),)) is Status.PENDING  # write


@pytest.mark.parametrize(("key", "counts", "ignored"), [
    ("admins", "frank", "carol"),
    ("write_collaborators", "bob", "grace"),
])
def test_deprecated_permission_keys(key, counts, ignored):
    rule = f"requires:\n  count: 1\n  {key}: true"
    assert status(rule, reviews=(review(counts),)) is Status.APPROVED
    assert status(rule, reviews=(review(ignored),)) is Status.PENDING


def test_count_without_anyone_named_is_never_approved():
    # policy-bot's IsActor is false for everyone when no actor is listed.
    rule = "requires:\n  count: 1"
    assert status(rule, reviews=(review("frank"), review("bob"))) is Status.PENDING


def test_no_requires_approves_at_once():
    assert status("if:\n  has_labels: [docs]", labels=("docs",)) is Status.APPROVED


def test_conditions_must_hold():
    rule = "requires:\n  count: 0\n  conditions:\n    has_labels: [ready]"
    assert status(rule, labels=("ready",)) is Status.APPROVED
    assert status(rule) is Status.PENDING


# -- options ------------------------------------------------------------------------


def test_author_counts_only_with_allow_author():
    rule = "requires: {count: 1, users: [ada]}"
    assert status(rule, reviews=(review("ada"),)) is Status.PENDING
    rule += "\noptions: {allow_author: true}"
    assert status(rule, reviews=(review("ada"),)) is Status.APPROVED


def test_allow_contributor_lets_the_author_and_contributors_count():
    commits = (commit(author="dave", committer="dave"),)
    rule = "requires: {count: 1, users: [ada, dave]}"
    assert status(rule, commits=commits, reviews=(review("dave"),)) is Status.PENDING
    with_option = rule + "\noptions: {allow_contributor: true}"
    assert status(with_option, commits=commits, reviews=(review("dave"),)) is Status.APPROVED
    assert status(with_option, reviews=(review("ada"),)) is Status.APPROVED


def test_allow_non_author_contributor_keeps_the_author_out():
    commits = (commit(author="dave", committer="dave"),)
    rule = "requires: {count: 1, users: [ada, dave]}\noptions: {allow_non_author_contributor: true}"
    assert status(rule, commits=commits, reviews=(review("dave"),)) is Status.APPROVED
    assert status(rule, reviews=(review("ada"),)) is Status.PENDING


def test_approvals_survive_a_push_by_default_as_in_policy_bot():
    old = (review("bob", sha=OLD_HEAD, minutes=-5),)
    assert status(TEAM, reviews=old) is Status.APPROVED
    assert status(TEAM + "\noptions: {invalidate_on_push: true}", reviews=old) is Status.PENDING


def test_ignore_update_merges_keeps_approvals_over_an_update_merge():
    commits = (
        commit(OLD_HEAD),
        commit(HEAD, parents=(OLD_HEAD, "a" * 40), update_merge=True),
    )
    old = (review("bob", sha=OLD_HEAD, minutes=-5),)
    rule = TEAM + "\noptions: {invalidate_on_push: true, ignore_update_merges: true}"
    assert status(rule, commits=commits, reviews=old) is Status.APPROVED
    rule = TEAM + "\noptions: {invalidate_on_push: true}"
    assert status(rule, commits=commits, reviews=old) is Status.PENDING


def test_edited_comments_count_unless_ignored():
    edited = (comment("bob", "looks good :+1:", edited_by="bob", edited_minutes=12),)
    assert status(TEAM, comments=edited) is Status.APPROVED
    rule = TEAM + "\noptions: {ignore_edited_comments: true}"
    assert status(rule, comments=edited) is Status.PENDING


def test_default_methods_approve_a_comment_containing_a_thumbs_up():
    assert status(TEAM, comments=(comment("bob", "Nice work :+1: ship it"),)) is Status.APPROVED
    assert status(TEAM, comments=(comment("bob", "👍"),)) is Status.APPROVED
    assert status(TEAM, comments=(comment("bob", "LGTM"),)) is Status.PENDING


def test_method_comments_are_substrings():
    rule = TEAM + "\noptions:\n  methods:\n    comments: [LGTM]"
    assert status(rule, comments=(comment("bob", "LGTM, thanks"),)) is Status.APPROVED
    # Giving `comments` replaces the defaults.
    assert status(rule, comments=(comment("bob", ":+1:"),)) is Status.PENDING


def test_method_comment_patterns_and_github_review():
    rule = TEAM + "\noptions:\n  methods:\n    comment_patterns: ['^/approve$']\n" \
        "    github_review: false"
    assert status(rule, comments=(comment("bob", "/approve"),)) is Status.APPROVED
    assert status(rule, reviews=(review("bob"),)) is Status.PENDING


def test_unsupported_methods_are_reported():
    result = imported(one_rule(TEAM + "\noptions:\n  methods:\n    body_patterns: [x]\n"
                               "  request_review: {enabled: true}"), "policy-bot")
    refused = messages(result, "unsupported")
    assert set(refused) == {"approval_rules[0].options.methods.body_patterns",
                            "approval_rules[0].options.request_review"}
    assert result.exit_code == 1


# -- the approval tree --------------------------------------------------------------


def test_or_and_and_keep_policy_bots_meaning():
    text = """\
policy:
  approval:
    - or:
      - backend
      - and: [platform, docs]
approval_rules:
  - name: backend
    requires: {count: 1, teams: [acme/backend]}
  - name: platform
    requires: {count: 1, teams: [acme/platform]}
  - name: docs
    if:
      has_labels: [docs]
    requires: {count: 0}
"""
    policy = policy_of(text, "policy-bot")
    assert decision(policy, reviews=(review("bob"),)).state is GateState.SUCCESS
    assert decision(policy, reviews=(review("dave"),)).state is GateState.SUCCESS
    assert decision(policy, reviews=(review("erin"),)).state is GateState.PENDING


# -- disapproval ----------------------------------------------------------------------


APPROVED = {"reviews": (review("bob"),)}


def test_without_disapproval_a_change_request_does_not_block():
    policy = policy_of(one_rule(TEAM), "policy-bot")
    blocked = (review("bob"), review("carol", "CHANGES_REQUESTED", minutes=20))
    assert decision(policy, reviews=blocked).state is GateState.SUCCESS


def test_disapproval_requires_names_who_blocks():
    extra = "  disapproval:\n    requires:\n      users: [dave]\n"
    policy = policy_of(one_rule(TEAM, extra), "policy-bot")
    by_dave = (review("bob"), review("dave", "CHANGES_REQUESTED", minutes=20))
    by_carol = (review("bob"), review("carol", "CHANGES_REQUESTED", minutes=20))
    assert decision(policy, reviews=by_dave).state is GateState.FAILURE
    assert decision(policy, reviews=by_carol).state is GateState.SUCCESS
    thumbs_down = (comment("dave", "not yet :-1:", minutes=20),)
    assert decision(policy, comments=thumbs_down, **APPROVED).state is GateState.FAILURE


def test_disapproval_if_disapproves_when_any_predicate_holds():
    extra = "  disapproval:\n    if:\n      title:\n        matches: ['^BLOCKED']\n"
    policy = policy_of(one_rule(TEAM, extra), "policy-bot")
    assert decision(policy, title="BLOCKED: x", **APPROVED).state is GateState.FAILURE
    assert decision(policy, title="fine", **APPROVED).state is GateState.SUCCESS
    # Nobody is named in `requires`, so change requests still do not block.
    blocked = (review("bob"), review("carol", "CHANGES_REQUESTED", minutes=20))
    assert decision(policy, title="fine", reviews=blocked).state is GateState.SUCCESS


# -- predicates ---------------------------------------------------------------------


def applies(predicates: str, **snapshot) -> bool:
    rule = "if:\n" + "".join(f"  {line}\n" for line in predicates.strip("\n").splitlines())
    return status(rule + "requires: {count: 0}", **snapshot) is Status.APPROVED


def test_changed_files_regexes_and_ignore():
    predicate = "changed_files:\n  paths: ['^config/.*$']\n  ignore: ['^config/special\\.file$']"
    assert applies(predicate, files=(changed("config/app.yml"),))
    assert not applies(predicate, files=(changed("config/special.file"),))
    assert not applies(predicate, files=(changed("src/config/app.yml"),))


def test_only_changed_files_with_an_unanchored_regex():
    predicate = "only_changed_files:\n  paths: ['staging/.*']"
    assert applies(predicate, files=(changed("deploy/staging/a.yml"), changed("staging/b")))
    assert not applies(predicate, files=(changed("staging/b"), changed("src/x.py")))


def test_has_author_in():
    assert applies("has_author_in:\n  teams: [acme/platform]", author=_actor("dave"))
    assert not applies("has_author_in:\n  users: [bob]")


def test_author_is_only_contributor():
    assert applies("author_is_only_contributor: true")
    others = (commit(author="dave", committer="dave"),)
    assert applies("author_is_only_contributor: false", commits=others)
    assert not applies("author_is_only_contributor: true", commits=others)


def test_targets_branch_and_from_branch():
    assert applies("targets_branch:\n  pattern: '^(main|master)$'")
    assert not applies("targets_branch:\n  pattern: '^release/.*$'")
    assert applies("from_branch:\n  pattern: 'feature/'")
    assert not applies("from_branch:\n  pattern: '^fix/'")


def test_modified_lines_holds_when_any_bound_holds():
    big_additions = (changed("a.py", additions=150, deletions=0),)
    predicate = "modified_lines:\n  additions: '> 100'\n  deletions: '> 100'"
    assert applies(predicate, files=big_additions)
    assert not applies(predicate, files=(changed("a.py", additions=5, deletions=5),))
    assert applies("modified_lines:\n  total: '= 10'",
                   files=(changed("a.py", additions=5, deletions=5),))


def test_has_successful_status():
    predicate = "has_successful_status: [ci/test]"
    assert applies(predicate, checks=(check("ci/test"),))
    assert not applies(predicate, checks=(check("ci/test", "failure"),))
    assert not applies(predicate)


def test_has_labels_needs_every_label():
    assert applies("has_labels: [a, b]", labels=("a", "b"))
    assert not applies("has_labels: [a, b]", labels=("a",))


def test_title_ors_matches_and_not_matches():
    predicate = "title:\n  matches: ['^BREAKING']\n  not_matches: ['^docs:']"
    assert applies(predicate, title="BREAKING: x")
    assert applies(predicate, title="feat: x")  # matches none of not_matches
    assert not applies(predicate, title="docs: x")


def test_unsupported_predicates_are_reported_and_left_out():
    result = imported(one_rule("if:\n  has_valid_signatures: true\n  has_labels: [x]\n"
                               "requires: {count: 0}"), "policy-bot")
    assert "approval_rules[0].if.has_valid_signatures" in messages(result, "unsupported")
    assert result.exit_code == 1


def test_a_regex_without_a_glob_is_refused():
    result = imported(one_rule("if:\n  changed_files:\n    paths: ['^src/\\d+\\.py$']\n"
                               "requires: {count: 0}"), "policy-bot")
    refused = messages(result, "unsupported")
    assert "has no exact glob" in refused["approval_rules[0].if.changed_files"]


def test_unknown_keys_are_reported():
    result = imported(one_rule(TEAM + "\nfuture_option: true"), "policy-bot")
    assert "approval_rules[0].future_option" in messages(result, "unsupported")


# -- remote and bad input -----------------------------------------------------------


def test_remote_becomes_a_gatebot_pointer():
    result = imported("remote: acme/policies\npath: policy.yml\nref: main\n", "policy-bot")
    assert 'remote: "acme/policies@main"' in result.policy
    assert result.exit_code == 0


@pytest.mark.parametrize(("text", "line"), [
    ("policy:\n  approval:\n    - missing\n", 3),
    ("policy:\n  approval: [r]\napproval_rules:\n  - name: r\n    requires:\n      count: two\n",
     6),
    ("policy:\n  approval: [r\n", 2),
])
def test_bad_input_names_the_line(text, line):
    with pytest.raises(BadInput) as raised:
        imported(text, "policy-bot")
    assert raised.value.line == line


def _actor(login: str):
    from factories import actor

    return actor(login)


def test_has_status_with_success_is_a_checks_predicate():
    predicate = "has_status:\n  conclusions: [success]\n  statuses: [ci/test]"
    assert applies(predicate, checks=(check("ci/test"),))
    assert not applies(predicate)
    result = imported(one_rule("if:\n  has_status:\n    conclusions: [failure]\n"
                               "    statuses: [ci/test]\nrequires: {count: 0}"), "policy-bot")
    assert "approval_rules[0].if.has_status" in messages(result, "unsupported")


def test_a_yaml_1_1_boolean_is_bad_input_that_says_why():
    with pytest.raises(BadInput) as raised:
        imported(one_rule(TEAM + "\noptions: {allow_author: yes}"), "policy-bot")
    assert "`yes` is text in YAML 1.2" in raised.value.message
    assert raised.value.line == 9
