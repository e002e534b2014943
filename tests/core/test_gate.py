"""The gate: precedence, signals, overrides, the operator floor and report mode."""

from __future__ import annotations

from factories import (
    HEAD,
    OLD_HEAD,
    at,
    check,
    comment,
    make_snapshot,
    policy,
    review,
)

from bot.core.gate import Decision, decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.loader import load_policy
from bot.core.snapshot import Hold, Override, TamperMark

REPO = policy("""
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1}
    options: {methods: {comments: [LGTM]}}
checks: ["ci / test"]
merge:
  auto: true
  trigger: {labels: [automerge]}
  block: {labels: [do-not-merge], title: ["^WIP\\\\b"]}
""")

FLOOR = policy("""
version: 1
policy:
  approval: [two]
rules:
  - name: two
    requires: {approvals: 2}
""")

GREEN = {"reviews": (review("bob"),), "checks": (check("ci / test"),)}


def gate(repo=REPO, floor=None, policy_errors=(), changed_policy_errors=(), **overrides
         ) -> Decision:
    snapshot = make_snapshot(**{**GREEN, **overrides})
    evaluation = evaluate(repo, snapshot, floor, policy_errors=policy_errors,
                          changed_policy_errors=changed_policy_errors)
    return decide(evaluation, snapshot)


def errors(text: str):
    result = load_policy(text.encode(), ".github/gatebot.yml")
    assert result.errors
    return result.errors


def test_success_allows_merge_and_deploy():
    decision = gate()
    assert decision.state == "success"
    assert decision.description == "approved: reviewed; ci / test passed (success)"
    assert decision.merge_allowed and decision.deploy_allowed
    assert not decision.auto_merge  # the trigger label is absent
    assert gate(labels=("automerge",)).auto_merge


def test_missing_approval_is_pending_with_the_reason():
    decision = gate(reviews=())
    assert decision.state == "pending"
    assert decision.description == (
        "reviewed: needs 1 more approval from anyone with write permission or above"
    )
    assert not decision.merge_allowed and not decision.deploy_allowed


def test_precedence_error_over_failure_over_pending():
    change_request = (review("carol", "CHANGES_REQUESTED"),)
    failure = gate(reviews=change_request)
    assert failure.state == "failure"
    assert failure.description == "disapproved by carol (requested changes on c0ffee1)"
    assert failure.blockers[0] == failure.description
    assert any("needs 1 more approval" in b for b in failure.blockers)

    error = gate(repo=None, policy_errors=errors("version: 1\npolicy: {approval: [nope]}\n"),
                 reviews=change_request)
    assert error.state == "error"
    assert error.description.startswith(".github/gatebot.yml cannot be used: line ")


def test_failed_check_is_a_failure():
    decision = gate(checks=(check("ci / test", "timed_out"),))
    assert decision.state == "failure"
    assert decision.description == "required check failed: ci / test failed (timed_out)"


def test_draft_hold_and_block_keep_it_pending():
    assert gate(draft=True).description == "the PR is a draft"
    held = gate(holds=(Hold(by="frank", at=at(3), reason="release freeze"),))
    assert held.state == "pending"
    assert held.description == "on hold by frank (release freeze)"
    blocked = gate(labels=("Do-Not-Merge",))
    assert blocked.state == "pending"
    assert blocked.description == "blocked by label do-not-merge"
    assert not blocked.merge_allowed
    assert gate(title="WIP retry").description == "blocked by title matches ^WIP\\b"


def test_every_rule_skipped_is_pending():
    skipped = policy("""
version: 1
policy: {approval: [{or: [a, b]}]}
rules:
  - {name: a, if: {target_branch: [release/*]}, requires: {approvals: 0}}
  - {name: b, if: {draft: true}, requires: {approvals: 0}}
""")
    decision = gate(repo=skipped)
    assert decision.state == "pending"
    assert decision.description == "every rule was skipped, so nothing approves this PR yet"


def test_and_or_semantics():
    tree = policy("""
version: 1
policy: {approval: [{and: [a, skipped]}, {or: [b, skipped]}]}
rules:
  - {name: a, requires: {approvals: 0}}
  - {name: b, requires: {approvals: 1, from: {users: [dave]}}}
  - {name: skipped, if: {draft: true}, requires: {approvals: 0}}
""")
    pending = gate(repo=tree)
    assert pending.state == "pending"
    assert pending.description == "b: needs 1 more approval from dave; bob is not one of dave"
    assert gate(repo=tree, reviews=(review("dave"),)).state == "success"


def test_rule_error_is_a_gate_error():
    broken = policy("""
version: 1
policy: {approval: [a]}
rules:
  - {name: a, requires: {approvals: 1, from: {teams: [acme/ghosts]}}}
""")
    decision = gate(repo=broken)
    assert decision.state == "error"
    assert "rule a: team acme/ghosts in `from` is unknown" in decision.description


# -- tampering -----------------------------------------------------------------------


def test_tampering_is_a_failure_until_the_next_push():
    edited = comment("bob", "LGTM", minutes=5, edited_by="mallory", edited_minutes=7, id=77)
    decision = gate(comments=(edited,))
    assert decision.state == "failure"
    assert decision.description == (
        "tampering: mallory edited bob's approval comment 77; a push or an override clears it"
    )
    # the mark recorded by the web tier before the current head was pushed is over
    mark = TamperMark(comment_id=77, editor="mallory", author="bob", at=at(-5))
    assert gate(tampering=(mark,), comments=(comment("bob", "LGTM", id=77),)).state == "success"
    mark = TamperMark(comment_id=77, editor="mallory", author="bob", at=at(5))
    assert gate(tampering=(mark,), comments=(comment("bob", "LGTM", id=77),)).state == "failure"


def test_a_review_body_edited_by_someone_else_into_an_approval_is_tampering():
    # GitHub's API does not say a review was edited: the web tier's mark does.
    written = review("bob", "COMMENTED", body="LGTM", minutes=5, id=88)
    mark = TamperMark(comment_id="review-88", editor="mallory", author="bob", at=at(7))
    decision = gate(reviews=(written,), tampering=(mark,))
    assert decision.state == "failure"
    assert decision.description.startswith(
        "tampering: mallory edited bob's approving review body 88"
    )
    # the same review, as the adapter sees it from the recorded edit
    edited = written.model_copy(update={"edited": True, "edited_by": "mallory",
                                        "edited_at": at(7)})
    assert gate(reviews=(edited,)).state == "failure"


def test_editing_a_comment_that_does_not_approve_is_not_tampering():
    edited = comment("bob", "typo fixed", minutes=5, edited_by="frank", edited_minutes=7)
    assert gate(comments=(edited,)).state == "success"


# -- overrides -----------------------------------------------------------------------


def override(sha=HEAD, minutes=20):
    return Override(sha=sha, by="frank", reason="hotfix", at=at(minutes))


def test_override_passes_whatever_the_policy_says():
    decision = gate(overrides=(override(),), reviews=(review("carol", "CHANGES_REQUESTED"),),
                    checks=(check("ci / test", "failure"),))
    assert decision.state == "success"
    assert decision.description == "overridden by frank: hotfix"
    assert decision.override is not None and decision.deploy_allowed
    broken = gate(repo=None, policy_errors=errors("version: 2\n"), overrides=(override(),))
    assert broken.state == "success"


def test_override_binds_to_its_head_sha():
    assert gate(reviews=(), overrides=(override(sha=OLD_HEAD),)).state == "pending"


def test_override_after_push_is_ended_by_the_push():
    # given on the old head; the new head was pushed at T0 (after it)
    decision = gate(reviews=(), overrides=(override(sha=OLD_HEAD, minutes=-10),))
    assert decision.state == "pending"
    # an override recorded for the head but written before it was pushed does not apply
    assert gate(reviews=(), overrides=(override(minutes=-1),)).state == "pending"
    assert gate(reviews=(), overrides=(override(minutes=0),)).state == "pending"


def test_override_does_not_lift_draft_or_hold():
    assert gate(reviews=(), draft=True, overrides=(override(),)).state == "pending"
    hold = Hold(by="carol", at=at(1))
    assert gate(reviews=(), holds=(hold,), overrides=(override(),)).state == "pending"


def test_override_never_bypasses_the_floor():
    decision = gate(floor=FLOOR, reviews=(), overrides=(override(),))
    assert decision.state == "pending"
    assert decision.description == (
        "required policy: two: needs 2 more approvals from anyone with write permission or above"
    )


def test_override_keeps_merging_blocked_by_a_block_signal():
    decision = gate(labels=("do-not-merge",), overrides=(override(),))
    assert decision.state == "success"
    assert not decision.merge_allowed
    assert decision.description == (
        "overridden by frank: hotfix; merge blocked by label do-not-merge"
    )


# -- the floor -----------------------------------------------------------------------


def test_floor_is_anded_with_the_repository_policy():
    decision = gate(floor=FLOOR)
    assert decision.state == "pending"
    assert decision.description == (
        "required policy: two: needs 1 more approval from anyone with write permission or above"
    )
    assert gate(floor=FLOOR, reviews=(review("bob"), review("dave"))).state == "success"


def test_floor_applies_alone_without_a_repository_policy():
    decision = gate(repo=None, floor=FLOOR)
    assert decision.state == "pending"
    assert "required policy: two" in decision.description


def test_no_policy_at_all_is_silent():
    decision = gate(repo=None)
    assert decision.silent
    assert not decision.merge_allowed


# -- report mode and changed policy files ---------------------------------------------


def test_report_mode_never_merges_or_deploys():
    shadow = policy("version: 1\nmode: report\npolicy: {approval: [a]}\n"
                    "rules: [{name: a, requires: {approvals: 0}}]\n")
    decision = gate(repo=shadow)
    assert decision.state == "success" and decision.report_only
    assert not decision.merge_allowed and not decision.deploy_allowed


SHADOW_AUTO = policy("version: 1\nmode: report\npolicy: {approval: [a]}\n"
                     "rules: [{name: a, requires: {approvals: 0}}]\nmerge: {auto: true}\n")


def test_report_mode_beside_a_passing_floor_never_merges_or_deploys():
    decision = gate(repo=SHADOW_AUTO, floor=FLOOR, reviews=(review("bob"), review("dave")))
    assert decision.state == "success" and decision.report_only
    assert not decision.merge_allowed and not decision.auto_merge
    assert not decision.deploy_allowed


def test_report_mode_beside_a_floor_shows_both_verdicts_and_blocks_nothing():
    shadow = policy("version: 1\nmode: report\npolicy: {approval: [a]}\n"
                    "rules: [{name: a, requires: {approvals: 5}}]\n")
    decision = gate(repo=shadow, floor=FLOOR, reviews=(review("bob"),))
    # Reported, not enforced: the publisher posts a neutral check run and no status.
    assert decision.report_only and decision.state == "pending"
    assert "a: needs 4 more approvals" in decision.description
    assert "required policy: two: needs 1 more approval" in decision.description
    assert not decision.merge_allowed and not decision.deploy_allowed


def test_an_invalid_changed_policy_file_fails_the_gate():
    decision = gate(changed_policy_errors=errors("version: 1\nrulez: []\n"))
    assert decision.state == "failure"
    assert decision.description.startswith(
        "this PR changes .github/gatebot.yml, and the new file is invalid: line 1: "
        "missing required key `policy`"
    )


def test_explanation_tree_is_json_ready():
    tree = gate(reviews=(review("bob", sha=OLD_HEAD),)).explanation.to_dict()
    assert tree["kind"] == "gate" and tree["status"] == "pending"
    policy_node = tree["children"][0]
    rule = policy_node["children"][0]["children"][0]
    assert rule["facts"]["discounted"][0] == {
        "login": "bob", "reason": "approved dead002, before the last push", "code": "stale",
        "sha": OLD_HEAD, "at": "2024-05-01T12:10:00+00:00",
    }


def test_a_pending_or_names_every_alternative():
    either = policy("""
version: 1
policy: {approval: [{or: [a, b]}]}
rules:
  - {name: a, requires: {approvals: 1, from: {users: [dave]}}}
  - {name: b, requires: {approvals: 1, from: {users: [erin]}}}
""")
    decision = gate(repo=either, reviews=())
    assert decision.description == (
        "one of: a: needs 1 more approval from dave; or b: needs 1 more approval from erin"
    )


def test_prepared_policies_are_reused():
    from bot.core.policy.evaluate import prepare

    assert prepare(REPO) is prepare(REPO)
