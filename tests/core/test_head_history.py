"""The PR's head history in the core: push times per PR, retargets, GitLab approvals.

A head's push time is the latest time it became this PR's head (A → B → A:
when A came back); a retarget voids the reviews, comments and overrides given
before it; GitLab approvals, which name no commit, count only when given
after the head's push time.
"""

from __future__ import annotations

from factories import (
    HEAD,
    OLD_HEAD,
    at,
    check,
    comment,
    head_change,
    make_snapshot,
    policy,
    review,
)

from bot.core.gate import Decision, active_override, decide
from bot.core.policy.context import armed_for_base
from bot.core.policy.evaluate import evaluate
from bot.core.policy.result import Result, Status
from bot.core.snapshot import Override, TamperMark

B = "b0b0" + "3" * 36

REVIEW_OR_LGTM = policy("""
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1, from: {permission: write}}
    options: {methods: {review: true, comments: [LGTM]}}
""")

# A -> B -> A: HEAD at T0, B at +10 minutes, HEAD again at +20.
ABA = (head_change(HEAD, 0), head_change(B, 10), head_change(HEAD, 20))
# Opened into `dev` at T0, retargeted to `main` at +20 with the same head.
RETARGETED = (head_change(HEAD, 0, base_ref="dev"), head_change(HEAD, 20, base_ref="main"))


def approval(**snapshot) -> Result:
    snap = make_snapshot(**snapshot)
    return evaluate(REVIEW_OR_LGTM, snap).policy.tree.children[0].children[0]


def gate(**snapshot) -> Decision:
    snap = make_snapshot(**snapshot)
    return decide(evaluate(REVIEW_OR_LGTM, snap), snap)


def reasons(result: Result) -> dict[str, str]:
    return {d.login: d.reason for d in result.facts.discounted}


# -- A -> B -> A ------------------------------------------------------------------


def test_a_comment_written_while_another_head_was_pushed_does_not_approve_the_head_that_came_back():
    result = approval(head_history=ABA, comments=(comment("bob", "LGTM", minutes=15),))
    assert result.status is Status.PENDING
    assert reasons(result) == {"bob": "commented before the last push"}


def test_a_comment_after_the_head_came_back_approves_it():
    result = approval(head_history=ABA, comments=(comment("bob", "LGTM", minutes=25),))
    assert result.status is Status.APPROVED


def test_an_override_written_while_another_head_was_pushed_does_not_bind_to_the_head_that_came_back():
    written_on_b = Override(sha=HEAD, by="frank", reason="ship it", at=at(15))
    snap = make_snapshot(head_history=ABA, overrides=(written_on_b,))
    assert active_override(snap) is None
    assert gate(head_history=ABA, overrides=(written_on_b,)).state == "pending"
    after = written_on_b.model_copy(update={"at": at(25)})
    assert active_override(make_snapshot(head_history=ABA, overrides=(after,))) == after


def test_a_tamper_mark_made_while_another_head_was_pushed_is_ended_by_the_head_coming_back():
    mark = TamperMark(comment_id=77, editor="mallory", author="bob", at=at(15))
    lgtm = comment("bob", "LGTM", minutes=5, id=77)
    assert gate(tampering=(mark,), comments=(lgtm,)).state == "failure"
    # The push after the mark ended it, as any push does; the comment predates it.
    assert gate(head_history=ABA, tampering=(mark,), comments=(lgtm,)).state == "pending"


def test_an_approval_of_the_head_that_came_back_still_counts_after_one_of_the_head_between():
    # From the model's long run: a later approval of another commit revokes nothing;
    # the approval given on A is an approval of exactly what is merged.
    reviews = (review("bob", sha=HEAD, minutes=5), review("bob", sha=B, minutes=12))
    assert approval(head_history=ABA, reviews=reviews).status is Status.APPROVED


# A -> B -> A where the bot never heard of B: the push of A's return names the head
# already recorded, so A is recorded twice in a row on the same base.
A_UNSEEN_B_A = (head_change(HEAD, 0), head_change(HEAD, 20))


def test_a_head_recorded_again_on_its_base_came_back_and_comments_before_do_not_approve_it():
    result = approval(head_history=A_UNSEEN_B_A, comments=(comment("bob", "LGTM", minutes=15),))
    assert result.status is Status.PENDING
    assert reasons(result) == {"bob": "commented before the last push"}
    later = approval(head_history=A_UNSEEN_B_A, comments=(comment("bob", "LGTM", minutes=25),))
    assert later.status is Status.APPROVED


def test_an_override_written_before_the_head_came_back_from_an_unseen_one_does_not_bind():
    before = Override(sha=HEAD, by="frank", reason="ship it", at=at(15))
    assert active_override(make_snapshot(head_history=A_UNSEEN_B_A, overrides=(before,))) is None
    after = before.model_copy(update={"at": at(25)})
    assert active_override(make_snapshot(head_history=A_UNSEEN_B_A, overrides=(after,))) == after


# -- retargeting ------------------------------------------------------------------


def test_a_retarget_voids_reviews_of_the_same_head():
    result = approval(head_history=RETARGETED, base_ref="main", reviews=(review("bob", minutes=10),))
    assert result.status is Status.PENDING
    assert reasons(result) == {"bob": "approved before the PR was retargeted to main"}
    again = approval(head_history=RETARGETED, base_ref="main", reviews=(review("bob", minutes=30),))
    assert again.status is Status.APPROVED


def test_a_retarget_voids_comment_approvals():
    result = approval(head_history=RETARGETED, base_ref="main",
                      comments=(comment("bob", "LGTM", minutes=10),))
    assert result.status is Status.PENDING
    assert reasons(result) == {"bob": "commented before the PR was retargeted to main"}


def test_a_retarget_voids_approvals_even_when_pushes_do_not():
    lenient = policy("""
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1}
    options: {invalidate_on_push: false}
""")
    snap = make_snapshot(head_history=RETARGETED, base_ref="main",
                         reviews=(review("bob", minutes=10),))
    assert decide(evaluate(lenient, snap), snap).state == "pending"


def test_a_retarget_ends_an_override():
    before = Override(sha=HEAD, by="frank", reason="hotfix", at=at(10))
    assert active_override(make_snapshot(head_history=RETARGETED, overrides=(before,))) is None
    assert active_override(make_snapshot(overrides=(before,))) == before


def test_a_retarget_back_and_forth_counts_from_the_last_change():
    history = (*RETARGETED, head_change(HEAD, 40, base_ref="dev"))
    result = approval(head_history=history, base_ref="dev", reviews=(review("bob", minutes=30),))
    assert reasons(result) == {"bob": "approved before the PR was retargeted to dev"}


# -- GitLab approvals: no commit, only a time ---------------------------------------


def gitlab_approval(minutes: float):
    return review("bob", sha=None, minutes=minutes)


def test_a_gitlab_approval_given_before_the_last_push_does_not_count():
    history = (head_change(OLD_HEAD, 0), head_change(HEAD, 20))
    result = approval(head_history=history, reviews=(gitlab_approval(10),))
    assert result.status is Status.PENDING
    assert reasons(result) == {"bob": "approved before the last push"}
    assert approval(head_history=history, reviews=(gitlab_approval(30),)).status is Status.APPROVED


def test_a_gitlab_approval_given_while_another_head_was_pushed_does_not_count():
    result = approval(head_history=ABA, reviews=(gitlab_approval(15),))
    assert reasons(result) == {"bob": "approved before the last push"}


def test_a_gitlab_approval_needs_a_known_push_time():
    result = approval(head_history=(), reviews=(gitlab_approval(30),))
    assert result.facts.discounted[0].code == "push-time-unknown"


def test_a_gitlab_approval_counts_across_pushes_when_the_policy_says_so():
    lenient = policy("""
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1}
    options: {invalidate_on_push: false}
checks: ["ci / test"]
""")
    history = (head_change(OLD_HEAD, 0), head_change(HEAD, 20))
    snap = make_snapshot(head_history=history, reviews=(gitlab_approval(10),),
                         checks=(check("ci / test"),))
    assert decide(evaluate(lenient, snap), snap).state == "success"


def test_a_merge_armed_before_a_retarget_no_longer_arms_it():
    never = (head_change(HEAD, 0, "main"),)
    retargeted = (head_change(HEAD, 0, "main"), head_change(HEAD, 10, "dev"))
    back = (*retargeted, head_change(HEAD, 20, "main"))
    assert armed_for_base(at(5), never)
    assert not armed_for_base(at(5), retargeted)
    assert not armed_for_base(at(10), retargeted)  # the same moment is not after it
    assert armed_for_base(at(11), retargeted)
    # Retargeting back does not bring an old arming back either.
    assert not armed_for_base(at(5), back) and not armed_for_base(at(15), back)
    # A push is no retarget: the arming stands (the gate still has to pass at the new head).
    assert armed_for_base(at(5), (head_change(HEAD, 0), head_change(B, 10)))
