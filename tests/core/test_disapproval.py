"""Disapproval: change requests and block comments from eligible people, and `if` signals."""

from __future__ import annotations

from factories import OLD_HEAD, comment, make_snapshot, policy, review

from bot.core.policy.evaluate import evaluate
from bot.core.policy.result import Result, Status

RULES = "rules:\n  - name: r\n    requires: {approvals: 0}\n"


def disapproval(section: str = "", **overrides) -> Result:
    text = "version: 1\npolicy:\n  approval: [r]\n" + "".join(
        f"  {line}\n" for line in section.strip("\n").splitlines()
    ) + RULES
    evaluation = evaluate(policy(text), make_snapshot(**overrides))
    return next(c for c in evaluation.policy.tree.children if c.kind == "disapproval")


def test_default_a_change_request_from_a_write_collaborator_blocks():
    result = disapproval(reviews=(review("bob", "CHANGES_REQUESTED", sha=OLD_HEAD),))
    assert result.status is Status.FAILED
    assert result.explanation == "disapproved by bob (requested changes on dead002)"


def test_default_ignores_people_below_write():
    result = disapproval(reviews=(review("erin", "CHANGES_REQUESTED"),))
    assert result.status is Status.APPROVED
    assert [d.login for d in result.facts.discounted] == ["erin"]


def test_a_later_approval_lifts_the_change_request():
    reviews = (review("bob", "CHANGES_REQUESTED", minutes=1), review("bob", minutes=2))
    assert disapproval(reviews=reviews).status is Status.APPROVED


def test_a_dismissed_change_request_no_longer_blocks():
    assert disapproval(reviews=(review("bob", "DISMISSED"),)).status is Status.APPROVED


def test_a_plain_comment_review_does_not_lift_it():
    reviews = (review("bob", "CHANGES_REQUESTED", minutes=1),
               review("bob", "COMMENTED", body="thanks", minutes=2))
    assert disapproval(reviews=reviews).status is Status.FAILED


def with_lgtm(**overrides) -> Result:
    """The default disapproval beside a rule whose `LGTM` comments approve."""
    text = ("version: 1\npolicy:\n  approval: [r]\nrules:\n  - name: r\n"
            "    requires: {approvals: 0}\n    options: {methods: {comments: [LGTM]}}\n")
    evaluation = evaluate(policy(text), make_snapshot(**overrides))
    return next(c for c in evaluation.policy.tree.children if c.kind == "disapproval")


def test_a_later_approving_comment_lifts_the_change_request():
    result = with_lgtm(reviews=(review("bob", "CHANGES_REQUESTED", minutes=1),),
                       comments=(comment("bob", "LGTM", minutes=2),))
    assert result.status is Status.APPROVED


def test_an_approval_lifts_the_change_request_even_after_a_push_made_it_stale():
    # "Not since approved" is by time, as on GitHub and in policy-bot: a push voids
    # the approval, it does not bring the withdrawn change request back.
    result = with_lgtm(reviews=(review("bob", "CHANGES_REQUESTED", sha=OLD_HEAD, minutes=-20),),
                       comments=(comment("bob", "LGTM", minutes=-10),))
    assert result.status is Status.APPROVED
    reviews = (review("bob", "CHANGES_REQUESTED", sha=OLD_HEAD, minutes=-20),
               review("bob", sha=OLD_HEAD, minutes=-10))
    assert disapproval(reviews=reviews).status is Status.APPROVED


def test_an_approving_comment_in_the_same_second_does_not_lift_it():
    # A review and a comment in the same second come in no known order: the
    # change request wins.
    result = with_lgtm(reviews=(review("bob", "CHANGES_REQUESTED", minutes=5),),
                       comments=(comment("bob", "LGTM", minutes=5),))
    assert result.status is Status.FAILED
    assert result.explanation == "disapproved by bob (requested changes on c0ffee1)"


def test_a_block_comment_in_the_same_second_as_an_approval_still_blocks():
    section = "disapproval: {methods: {comments: [/block]}}"
    result = disapproval(section, comments=(comment("bob", "/block", minutes=5),),
                         reviews=(review("bob", minutes=5),))
    assert result.status is Status.FAILED


def test_an_edited_approving_comment_does_not_lift_it():
    # An edited comment never approves, whoever edited it.
    for editor in ("bob", "mallory"):
        result = with_lgtm(reviews=(review("bob", "CHANGES_REQUESTED", minutes=1),),
                           comments=(comment("bob", "LGTM", minutes=2, edited_by=editor),))
        assert result.status is Status.FAILED


def test_disabled():
    result = disapproval("disapproval: {enabled: false}",
                         reviews=(review("bob", "CHANGES_REQUESTED"),))
    assert result.status is Status.APPROVED
    assert result.explanation == "disapproval is turned off"


def test_from_restricts_who_blocks():
    section = "disapproval: {from: {teams: [acme/platform]}}"
    assert disapproval(section, reviews=(review("bob", "CHANGES_REQUESTED"),)).status \
        is Status.APPROVED
    assert disapproval(section, reviews=(review("dave", "CHANGES_REQUESTED"),)).status \
        is Status.FAILED


def test_if_predicate_disapproves():
    section = "disapproval: {if: {labels: {any: [blocked]}}}"
    result = disapproval(section, labels=("Blocked",))
    assert result.status is Status.FAILED
    assert result.explanation == "disapproved: labels: label blocked is present"
    assert disapproval(section).status is Status.APPROVED


def test_block_comments_and_their_release():
    section = "disapproval: {methods: {comments: [/block]}}"
    blocked = disapproval(section, comments=(comment("bob", "/block", minutes=1),))
    assert blocked.status is Status.FAILED
    assert blocked.explanation == "disapproved by bob (block comment)"
    released = disapproval(section, comments=(comment("bob", "/block", minutes=1),),
                           reviews=(review("bob", minutes=2),))
    assert released.status is Status.APPROVED


def test_review_method_off_ignores_change_requests():
    section = "disapproval: {methods: {review: false, comments: [/block]}}"
    result = disapproval(section, reviews=(review("bob", "CHANGES_REQUESTED"),))
    assert result.status is Status.APPROVED


def test_people_without_access_never_block():
    section = "disapproval: {from: {users: [mallory]}}"
    result = disapproval(section, reviews=(review("mallory", "CHANGES_REQUESTED"),))
    assert result.status is Status.APPROVED
    assert result.facts.discounted[0].code == "no-access"
