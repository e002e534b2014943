"""Approval rules: who counts, when an approval stops counting, and the sentences saying so."""

from __future__ import annotations

from factories import (
    BASE,
    HEAD,
    OLD_HEAD,
    at,
    changed,
    comment,
    commit,
    head_change,
    make_snapshot,
    policy,
    review,
)

from bot.core.policy.evaluate import evaluate
from bot.core.policy.result import Result, Status
from bot.core.snapshot import Commit


def rule(body: str, **overrides) -> Result:
    """Evaluate one rule `r` (YAML lines indented under `- name: r`) against a snapshot."""
    text = "version: 1\npolicy: {approval: [r]}\nrules:\n  - name: r\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").splitlines()
    )
    evaluation = evaluate(policy(text), make_snapshot(**overrides))
    approval = evaluation.policy.tree.children[0]
    return approval.children[0]


def counted(result: Result) -> list[str]:
    return [c.login for c in result.facts.counted]


def discounted(result: Result) -> dict[str, str]:
    return {d.login: d.code for d in result.facts.discounted}


ONE = "requires: {approvals: 1}"
TWO = "requires: {approvals: 2}"
LGTM = "requires: {approvals: 1}\noptions: {methods: {comments: [LGTM]}}"


# -- eligibility -----------------------------------------------------------------


def test_without_from_anyone_with_write_counts():
    result = rule(ONE, reviews=(review("bob"),))
    assert result.status is Status.APPROVED
    assert result.explanation == "approved by bob (c0ffee1)"
    assert result.facts.counted[0].via == ("write permission",)


def test_without_from_read_permission_does_not_count():
    result = rule(ONE, reviews=(review("erin"),))
    assert result.status is Status.PENDING
    assert result.explanation == (
        "needs 1 more approval from anyone with write permission or above; "
        "erin has read permission, below the required write"
    )


def test_maintain_is_above_write_and_below_admin():
    body = "requires: {approvals: 1, from: {permission: maintain}}"
    assert rule(body, reviews=(review("bob"),)).status is Status.PENDING  # write
    assert rule(body, reviews=(review("carol"),)).status is Status.APPROVED  # maintain
    assert rule(body, reviews=(review("frank"),)).status is Status.APPROVED  # admin
    assert rule(body, reviews=(review("grace"),)).status is Status.PENDING  # triage


def test_from_alternatives_any_one_qualifies():
    body = "requires: {approvals: 3, from: {users: [erin], teams: [acme/platform], " \
           "organizations: [acme], permission: admin}}"
    result = rule(body, reviews=(review("erin"), review("dave"), review("grace")))
    assert result.status is Status.APPROVED
    vias = {c.login: c.via for c in result.facts.counted}
    assert vias["erin"] == ("user", "organization acme")
    assert vias["dave"] == ("acme/platform", "organization acme")
    assert vias["grace"] == ("organization acme",)


def test_the_spec_sentence_for_a_stale_approval():
    body = "requires: {approvals: 1, from: {teams: [acme/backend]}}"
    result = rule(body, reviews=(review("bob", sha=OLD_HEAD),))
    assert result.explanation == (
        "needs 1 more approval from acme/backend; bob approved dead002, before the last push"
    )


def test_one_person_counts_once():
    result = rule(TWO, reviews=(review("bob", minutes=5), review("bob", minutes=9)))
    assert counted(result) == ["bob"]
    assert result.status is Status.PENDING
    assert result.explanation.startswith("needs 1 more approval")


def test_zero_approvals_needs_nobody():
    result = rule("requires: {approvals: 0}")
    assert result.status is Status.APPROVED
    assert result.explanation == "no approval required"


def test_unknown_team_is_an_error():
    result = rule("requires: {approvals: 1, from: {teams: [acme/bakend]}}")
    assert result.status is Status.ERROR
    assert "team acme/bakend in `from` is unknown" in result.error


# -- author, contributors, bots, access -----------------------------------------


def test_self_approval_by_review_does_not_count():
    result = rule(ONE, reviews=(review("ada"),))
    assert result.status is Status.PENDING
    assert discounted(result) == {"ada": "author"}
    assert "ada is the author" in result.explanation


def test_self_approval_by_comment_does_not_count():
    result = rule(LGTM, comments=(comment("ada", "LGTM"),))
    assert discounted(result) == {"ada": "author"}


def test_allow_author():
    body = ONE + "\noptions: {allow_author: true}"
    assert rule(body, reviews=(review("ada"),)).status is Status.APPROVED


def test_commit_author_and_committer_are_contributors():
    commits = (commit(), commit("e" * 40, parents=(HEAD,), author="dave", committer="bob"))
    result = rule(TWO, commits=commits, reviews=(review("dave"), review("bob")))
    assert discounted(result) == {"dave": "contributor", "bob": "contributor"}
    assert "dave authored eeeeeee, so counts as a contributor" in result.explanation
    assert "bob committed eeeeeee" in result.explanation


def test_pushers_are_contributors():
    result = rule(ONE, pushers=("ada", "bob"), reviews=(review("bob"),))
    assert discounted(result) == {"bob": "contributor"}
    assert "bob pushed to the branch" in result.explanation


def test_allow_contributors():
    body = ONE + "\noptions: {allow_contributors: true}"
    result = rule(body, pushers=("ada", "bob"), reviews=(review("bob"),))
    assert result.status is Status.APPROVED


def test_bots_never_count():
    body = "requires: {approvals: 1, from: {users: [renovate]}}\noptions: {allow_contributors: true}"
    result = rule(body, reviews=(review("renovate[bot]"),))
    assert discounted(result) == {"renovate[bot]": "bot"}


def test_people_without_read_access_never_count():
    body = "requires: {approvals: 1, from: {users: [mallory]}}"
    result = rule(body, reviews=(review("mallory"),))
    assert discounted(result) == {"mallory": "no-access"}
    assert "mallory has no read access" in result.explanation


def test_logins_compare_case_insensitively():
    body = "requires: {approvals: 1, from: {users: [BOB]}}"
    assert rule(body, reviews=(review("Bob"),)).status is Status.APPROVED


# -- revocation ------------------------------------------------------------------


def test_a_later_change_request_revokes():
    reviews = (review("bob", minutes=5), review("bob", "CHANGES_REQUESTED", minutes=8))
    result = rule(ONE, reviews=reviews)
    assert result.status is Status.PENDING
    assert discounted(result) == {"bob": "revoked"}
    assert "bob requested changes after approving" in result.explanation


def test_an_approval_after_a_change_request_counts():
    reviews = (review("bob", "CHANGES_REQUESTED", minutes=5), review("bob", minutes=8))
    assert rule(ONE, reviews=reviews).status is Status.APPROVED


def test_a_dismissed_approval_does_not_count():
    reviews = (review("bob", minutes=3), review("bob", "DISMISSED", minutes=5))
    result = rule(ONE, reviews=reviews)
    assert discounted(result) == {"bob": "revoked"}
    assert "dismissed" in result.explanation


def test_a_change_request_revokes_a_comment_approval_too():
    result = rule(LGTM, comments=(comment("bob", "LGTM", minutes=5),),
                  reviews=(review("bob", "CHANGES_REQUESTED", minutes=9),))
    assert result.status is Status.PENDING


def test_a_change_request_in_the_same_second_revokes_a_comment_approval():
    # A review and a comment in the same second come in no known order: the
    # revocation wins (the comment may well have been written first).
    result = rule(LGTM, comments=(comment("bob", "LGTM", minutes=5),),
                  reviews=(review("bob", "CHANGES_REQUESTED", minutes=5),))
    assert result.status is Status.PENDING
    assert discounted(result) == {"bob": "revoked"}


def test_reviews_in_the_same_second_keep_the_forges_order():
    reviews = (review("bob", "CHANGES_REQUESTED", minutes=5), review("bob", minutes=5))
    assert rule(ONE, reviews=reviews).status is Status.APPROVED


# -- invalidate_on_push and update merges -----------------------------------------


def test_review_on_an_old_head_is_stale():
    result = rule(ONE, reviews=(review("bob", sha=OLD_HEAD),))
    assert discounted(result) == {"bob": "stale"}


def test_invalidate_on_push_off_keeps_old_reviews():
    body = ONE + "\noptions: {invalidate_on_push: false}"
    assert rule(body, reviews=(review("bob", sha=OLD_HEAD),)).status is Status.APPROVED


UPDATE_MERGE = (
    commit(OLD_HEAD),
    commit(HEAD, parents=(OLD_HEAD, "a" * 40), author="ada", committer="web-flow",
           update_merge=True),
)


def test_review_survives_an_update_merge():
    result = rule(ONE, commits=UPDATE_MERGE, reviews=(review("bob", sha=OLD_HEAD),))
    assert result.status is Status.APPROVED


def test_review_survives_a_chain_of_update_merges():
    mid = "9" * 40
    commits = (
        commit(OLD_HEAD),
        commit(mid, parents=(OLD_HEAD, "a" * 40), update_merge=True),
        commit(HEAD, parents=(mid, "b" * 40), update_merge=True),
    )
    result = rule(ONE, commits=commits, reviews=(review("bob", sha=OLD_HEAD),))
    assert result.status is Status.APPROVED


def test_update_merges_count_as_pushes_when_not_ignored():
    body = ONE + "\noptions: {ignore_update_merges: false}"
    result = rule(body, commits=UPDATE_MERGE, reviews=(review("bob", sha=OLD_HEAD),))
    assert discounted(result) == {"bob": "stale"}


def test_an_ordinary_merge_is_not_an_update_merge():
    commits = (commit(OLD_HEAD), commit(HEAD, parents=(OLD_HEAD, "a" * 40)))
    result = rule(ONE, commits=commits, reviews=(review("bob", sha=OLD_HEAD),))
    assert discounted(result) == {"bob": "stale"}


def test_new_commits_after_an_update_merge_invalidate():
    merge = "9" * 40
    commits = (
        commit(OLD_HEAD),
        commit(merge, parents=(OLD_HEAD, BASE), update_merge=True),
        commit(HEAD, parents=(merge,)),
    )
    result = rule(ONE, commits=commits, reviews=(review("bob", sha=OLD_HEAD),))
    assert discounted(result) == {"bob": "stale"}


def test_truncated_commit_list_cannot_confirm_update_merges():
    body = ONE + "\noptions: {allow_contributors: true}"
    result = rule(body, commits=(commit(OLD_HEAD),), commits_truncated=True,
                  reviews=(review("bob", sha=OLD_HEAD),))
    assert discounted(result) == {"bob": "stale"}
    assert "commit list was truncated" in result.explanation


def test_a_merge_that_is_not_an_update_merge_counts_as_a_push_and_says_why():
    forged = Commit(sha=HEAD, parents=(OLD_HEAD, BASE), author="ada", committer="web-flow",
                    merge_note="it changes backdoor.py")
    result = rule(ONE, commits=(commit(OLD_HEAD), forged),
                  reviews=(review("bob", sha=OLD_HEAD),))
    assert result.status is Status.PENDING
    assert discounted(result) == {"bob": "stale"}
    assert (f"bob approved {OLD_HEAD[:7]}, before the last push (merge commit {HEAD[:7]} is "
            "not a pure update merge (it changes backdoor.py), so it counts as a push)"
            ) in result.explanation


def test_an_edited_review_body_never_approves_when_edits_are_ignored():
    body = review("bob", "COMMENTED", body="LGTM", minutes=5).model_copy(
        update={"edited": True, "edited_by": "bob", "edited_at": at(8)})
    result = rule(LGTM, reviews=(body,))
    assert discounted(result) == {"bob": "edited"}
    assert "bob wrote a review body that was edited" in result.explanation
    kept = LGTM.replace("{methods:", "{ignore_edited_comments: false, methods:")
    assert rule(kept, reviews=(body,)).status is Status.APPROVED


# -- contributors and update merges -------------------------------------------------


def test_making_an_update_merge_makes_nobody_a_contributor():
    # bob pressed "Update branch": he wrote and pushed the merge, nothing else.
    merge = commit(HEAD, parents=(OLD_HEAD, BASE), author="bob", committer="web-flow",
                   update_merge=True)
    times = (head_change(OLD_HEAD, -30, pusher="ada"),
             head_change(HEAD, 0, pusher="bob"))
    facts = {"commits": (commit(OLD_HEAD), merge), "head_history": times,
             "pushers": ("ada", "bob"), "reviews": (review("bob", sha=HEAD),)}
    assert rule(ONE, **facts).status is Status.APPROVED
    strict = rule(ONE + "\noptions: {ignore_update_merges: false}", **facts)
    assert discounted(strict) == {"bob": "contributor"}


def test_a_push_that_brings_more_than_the_update_merge_makes_a_contributor():
    # bob pushed his own commit and a pure merge on top in one push: the bot never
    # saw the merge's first parent as a head, so the push added more than the merge.
    own = "e" * 40
    merge = commit(HEAD, parents=(own, BASE), author="bob", committer="bob",
                   update_merge=True)
    times = (head_change(OLD_HEAD, -30, pusher="ada"),
             head_change(HEAD, 0, pusher="bob"))
    result = rule(ONE, commits=(commit(OLD_HEAD), commit(own, parents=(OLD_HEAD,)), merge),
                  head_history=times, pushers=("ada", "bob"), reviews=(review("bob"),))
    assert discounted(result) == {"bob": "contributor"}
    assert "pushed to the branch" in result.explanation


def test_a_forged_update_merge_makes_its_author_a_contributor():
    forged = Commit(sha=HEAD, parents=(OLD_HEAD, BASE), author="bob", committer="web-flow",
                    merge_note="it changes backdoor.py")
    result = rule(ONE, commits=(commit(OLD_HEAD), forged), reviews=(review("bob"),))
    assert discounted(result) == {"bob": "contributor"}


def test_a_truncated_commit_list_rules_out_nobody_as_a_contributor():
    result = rule(ONE, commits_truncated=True,
                  reviews=(review("bob"),))
    assert result.status is Status.PENDING
    assert discounted(result) == {"bob": "contributor"}
    assert ("bob cannot be ruled out as a contributor: the forge truncated the commit list "
            "(1 commit listed)") in result.explanation
    allowed = rule(ONE + "\noptions: {allow_contributors: true}", commits_truncated=True,
                   reviews=(review("bob"),))
    assert allowed.status is Status.APPROVED


# -- comments and push times --------------------------------------------------------


def test_comment_after_the_push_counts():
    result = rule(LGTM, comments=(comment("bob", " LGTM \n", minutes=1),))
    assert result.status is Status.APPROVED
    assert result.explanation == "approved by bob (comment)"


def test_comment_at_the_push_time_does_not_count():
    result = rule(LGTM, comments=(comment("bob", "LGTM", minutes=0),))
    assert discounted(result) == {"bob": "before-push"}
    assert "bob commented at the same time as the last push (ties do not count)" in (
        result.explanation)


def test_comment_before_the_push_does_not_count():
    result = rule(LGTM, comments=(comment("bob", "LGTM", minutes=-5),))
    assert "bob commented before the last push" in result.explanation


def test_comments_are_opt_in():
    assert rule(ONE, comments=(comment("bob", "LGTM"),)).status is Status.PENDING


def test_comment_must_equal_a_listed_text():
    assert rule(LGTM, comments=(comment("bob", "LGTM!"),)).status is Status.PENDING


def test_comment_patterns_are_searched_re2():
    body = "requires: {approvals: 1}\noptions: {methods: {comment_patterns: ['^/approve\\b']}}"
    assert rule(body, comments=(comment("bob", "/approve ship it"),)).status is Status.APPROVED
    assert rule(body, comments=(comment("bob", "please /approve"),)).status is Status.PENDING
    assert rule(body, comments=(comment("bob", "/approved"),)).status is Status.PENDING


def test_push_time_is_when_the_head_last_became_the_head():
    # HEAD, then OLD_HEAD at 10, then HEAD again at 20: a comment at 15 saw OLD_HEAD.
    history = (head_change(HEAD, 0), head_change(OLD_HEAD, 10), head_change(HEAD, 20))
    result = rule(LGTM, head_history=history, comments=(comment("bob", "LGTM", minutes=15),))
    assert result.status is Status.PENDING
    assert result.facts.discounted[0].reason == "commented before the last push"
    result = rule(LGTM, head_history=history, comments=(comment("bob", "LGTM", minutes=25),))
    assert result.status is Status.APPROVED


def test_unknown_push_time_fails_closed_for_comments():
    result = rule(LGTM, head_history=(), comments=(comment("bob", "LGTM", minutes=30),))
    assert discounted(result) == {"bob": "push-time-unknown"}


def test_comment_survives_an_update_merge():
    times = (head_change(OLD_HEAD, -30), head_change(HEAD, 0))
    result = rule(LGTM, commits=UPDATE_MERGE, head_history=times,
                  comments=(comment("bob", "LGTM", minutes=-10),))
    assert result.status is Status.APPROVED
    body = LGTM.replace("{methods:", "{ignore_update_merges: false, methods:")
    result = rule(body, commits=UPDATE_MERGE, head_history=times,
                  comments=(comment("bob", "LGTM", minutes=-10),))
    assert result.status is Status.PENDING


def test_comment_written_while_another_head_was_pushed_does_not_survive():
    other = "7" * 40
    # OLD_HEAD pushed at -30, another head at -20 (force push), then the update
    # merge of OLD_HEAD at T0: a comment at -10 approved the other head's content.
    times = (head_change(OLD_HEAD, -30), head_change(other, -20), head_change(HEAD, 0))
    result = rule(LGTM, commits=UPDATE_MERGE, head_history=times,
                  comments=(comment("bob", "LGTM", minutes=-10),))
    assert result.status is Status.PENDING


def test_review_bodies_count_as_comments():
    body = ("requires: {approvals: 1}\n"
            "options: {methods: {review: false, comments: [LGTM]}}")
    result = rule(body, reviews=(review("bob", "COMMENTED", body="LGTM", minutes=3),))
    assert result.status is Status.APPROVED
    assert result.facts.counted[0].method == "review body"
    # without the comment method, a plain approving review does not count here
    assert rule(body, reviews=(review("bob", body="nice"),)).status is Status.PENDING


def test_review_body_written_before_the_push_does_not_count():
    result = rule(LGTM, reviews=(review("bob", "COMMENTED", body="LGTM", minutes=-1),))
    assert result.status is Status.PENDING


def test_edited_comments_never_approve_by_default():
    result = rule(LGTM, comments=(comment("bob", "LGTM", edited=True, edited_by="bob"),))
    assert discounted(result) == {"bob": "edited"}


def test_edited_comments_may_approve_when_allowed():
    body = "requires: {approvals: 1}\n" \
           "options: {ignore_edited_comments: false, methods: {comments: [LGTM]}}"
    own_edit = comment("bob", "LGTM", minutes=-5, edited_by="bob", edited_minutes=3)
    assert rule(body, comments=(own_edit,)).status is Status.APPROVED
    edit_before_push = comment("bob", "LGTM", minutes=-5, edited_by="bob", edited_minutes=-1)
    assert rule(body, comments=(edit_before_push,)).status is Status.PENDING
    someone_else = comment("bob", "LGTM", minutes=5, edited_by="mallory", edited_minutes=6)
    result = rule(body, comments=(someone_else,))
    assert "bob wrote a comment edited by mallory" in result.explanation


# -- distinct teams ------------------------------------------------------------------

TEAMS = "requires: {approvals: 2, distinct_teams: 2, from: {teams: [acme/backend, acme/platform], users: [erin]}}"


def test_distinct_teams_with_a_person_in_two_teams():
    # carol is in both teams; the matching gives her one and bob the other
    result = rule(TEAMS, reviews=(review("carol", minutes=3), review("bob", minutes=5)))
    assert result.status is Status.APPROVED
    assert dict(result.facts.teams_covered) == {"acme/backend": "bob", "acme/platform": "carol"}


def test_a_person_in_two_teams_counts_for_one():
    result = rule(TEAMS.replace("approvals: 2", "approvals: 2"), reviews=(review("carol"),))
    assert result.status is Status.PENDING
    assert "needs approvals from 2 different teams" in result.explanation


def test_two_people_from_one_team_do_not_span_two_teams():
    result = rule(TEAMS, reviews=(review("bob"), review("frank")))
    assert result.status is Status.PENDING  # frank is not eligible at all
    result = rule(TEAMS, reviews=(review("bob"), review("erin")))
    assert result.status is Status.PENDING  # erin qualifies only by name
    assert "so far bob for acme/backend" in result.explanation


# -- code owners ---------------------------------------------------------------------

CODEOWNERS = "* @frank\n/services/api/ @acme/backend\n/docs/ @dave\n/vendor/\n"
OWNERS = "requires: {approvals: 1, from: {code_owners: true}}"
FILES = (changed("services/api/client.py"), changed("docs/guide.md"), changed("vendor/x.c"))


def test_code_owners_must_cover_every_owned_file():
    result = rule(OWNERS, codeowners=CODEOWNERS, files=FILES, reviews=(review("bob"),))
    assert result.status is Status.PENDING
    assert "needs a code owner's approval for docs/guide.md (@dave)" in result.explanation
    assert result.facts.uncovered_files == ("docs/guide.md",)
    result = rule(OWNERS, codeowners=CODEOWNERS, files=FILES,
                  reviews=(review("bob"), review("dave")))
    assert result.status is Status.APPROVED


def test_code_owners_are_eligible_approvers():
    result = rule(OWNERS, codeowners=CODEOWNERS, files=FILES[:1], reviews=(review("carol"),))
    assert result.status is Status.APPROVED
    assert result.facts.counted[0].via == ("code owner",)
    result = rule(OWNERS, codeowners=CODEOWNERS, files=FILES[:1], reviews=(review("dave"),))
    assert discounted(result) == {"dave": "not-eligible"}


def test_owners_matching_no_account_are_named():
    result = rule(OWNERS, codeowners="* owners@example.com\n", reviews=(review("bob"),))
    assert result.status is Status.PENDING
    assert "match no account" in result.explanation


def test_code_owner_coverage_fails_closed_on_truncated_files():
    result = rule(OWNERS, codeowners=CODEOWNERS, files_truncated=True,
                  reviews=(review("frank"), review("bob")))
    assert result.status is Status.PENDING
    assert "truncated" in result.explanation


def test_no_codeowners_file_means_no_owners():
    result = rule(OWNERS, reviews=(review("bob"),))
    assert result.status is Status.PENDING
    assert discounted(result) == {"bob": "not-eligible"}


# -- rule structure ------------------------------------------------------------------


def test_if_not_holding_skips_the_rule():
    result = rule("if: {target_branch: [release/*]}\n" + ONE)
    assert result.status is Status.SKIPPED
    assert result.explanation == "skipped: target_branch: target branch main does not " \
                                 "match release/*"


def test_conditions_not_holding_keep_the_rule_pending():
    body = "requires: {approvals: 1, conditions: {checks: {success: [ci / test]}}}"
    result = rule(body, reviews=(review("bob"),))
    assert result.status is Status.PENDING
    assert "waiting for conditions" in result.explanation
    assert "ci / test has not reported yet" in result.explanation


def test_approvals_at_the_same_time_keep_the_order_people_first_acted_in():
    # Counted by time; a tie keeps the forge's order, whatever the logins' order.
    result = rule("requires: {approvals: 2}",
                  reviews=(review("dave", minutes=10), review("bob", minutes=10)))
    assert counted(result) == ["dave", "bob"]
    assert result.explanation.startswith("approved by dave")


def test_people_who_do_not_count_are_listed_by_time_then_login():
    result = rule(
        "requires: {approvals: 3, from: {users: [frank]}}",
        reviews=(review("dave", minutes=12), review("bob", minutes=10),
                 review("carol", minutes=10), review("erin", minutes=11)),
    )
    assert [d.login for d in result.facts.discounted] == ["bob", "carol", "erin", "dave"]
