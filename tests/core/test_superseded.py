"""Stale verdicts: which recorded verdict still speaks for a PR, and what
replaces a success the PR left behind.

A verdict is about one head on one base since it last became the head there:
after A → B → A, or a retarget main → dev → main, a verdict from before the
return is stale (the comment approvals and overrides behind it no longer count).
The store's side: which successes the PR left behind are still posted.
"""

from __future__ import annotations

from factories import HEAD, OLD_HEAD, at, head_change

from bot.core.superseded import superseded_decision, superseded_pairs, verdict_current
from bot.store import evaluations

B = "b0b0" + "3" * 36


def test_a_verdict_reached_after_the_head_became_the_head_is_current():
    history = [head_change(HEAD, 0)]
    assert verdict_current(at(1), HEAD, "main", history)
    # The run that records the change decides at that very moment.
    assert verdict_current(at(0), HEAD, "main", history)


def test_a_verdict_from_before_the_head_came_back_is_stale():
    history = [head_change(HEAD, 0), head_change(B, 2), head_change(HEAD, 4)]
    assert not verdict_current(at(1), HEAD, "main", history)
    assert verdict_current(at(5), HEAD, "main", history)


def test_a_verdict_from_before_a_retarget_and_back_is_stale():
    history = [
        head_change(HEAD, 0, base_ref="main"),
        head_change(HEAD, 2, base_ref="dev"),
        head_change(HEAD, 4, base_ref="main"),
    ]
    assert not verdict_current(at(1), HEAD, "main", history)
    assert verdict_current(at(4.5), HEAD, "main", history)


def test_a_head_that_is_not_the_last_recorded_is_stale_whatever_the_times():
    # The return of A was never recorded (its event was lost): the bot knows B as
    # the head, so A's old verdict cannot speak for the merge.
    history = [head_change(HEAD, 0), head_change(B, 2)]
    assert not verdict_current(at(1), HEAD, "main", history)
    assert not verdict_current(at(3), HEAD, "dev", [head_change(HEAD, 0, base_ref="main")])
    assert not verdict_current(at(1), HEAD, "main", [])


def test_every_pair_the_pr_left_is_superseded_once_and_the_current_one_never():
    history = [
        head_change(OLD_HEAD, 0),
        head_change(HEAD, 1),
        head_change(OLD_HEAD, 2),
        head_change(HEAD, 3),
        head_change(HEAD, 4, base_ref="dev"),
    ]
    assert superseded_pairs(history, HEAD, "dev") == ((OLD_HEAD, "main"), (HEAD, "main"))
    assert superseded_pairs(history, HEAD, "main") == ((OLD_HEAD, "main"), (HEAD, "dev"))
    assert superseded_pairs([head_change(HEAD, 0)], HEAD, "main") == ()


def test_the_superseding_verdict_is_pending_and_says_why():
    pushed = superseded_decision(OLD_HEAD, 7, now_base=None)
    assert pushed.state == "pending" and pushed.head_sha == OLD_HEAD
    assert pushed.description == "superseded: no longer the head of #7"
    assert not (pushed.merge_allowed or pushed.auto_merge or pushed.deploy_allowed)
    moved = superseded_decision(HEAD, 7, now_base="dev")
    assert moved.state == "pending"
    assert moved.description.startswith("re-evaluating after retarget")
    assert "dev" in moved.description


def _posted(sha: str, context: str, state: str, *, report_only: bool = False):
    return evaluations.Posted(
        provider="github", repo="acme/app", sha=sha, context=context, number=1, state=state,
        description=state, details_url=None, report_only=report_only, status_posted=True,
        check_run_id=None, explanation=None, posted_at=at(0),
    )


def test_the_store_finds_only_enforcing_successes_among_the_pairs_left(store):
    with store.begin() as conn:
        evaluations.record(conn, _posted(OLD_HEAD, "gatebot: main", "success"))
        evaluations.record(conn, _posted(OLD_HEAD, "gatebot: dev", "pending"))
        evaluations.record(conn, _posted(HEAD, "gatebot: main", "success"))
        evaluations.record(conn, _posted(B, "gatebot: main", "success", report_only=True))
        found = evaluations.passing_among(
            conn, "github", "Acme/App",
            [(OLD_HEAD, "gatebot: main"), (OLD_HEAD, "gatebot: dev"), (B, "gatebot: main"),
             (HEAD, "gatebot: dev")],
        )
    assert [(p.sha, p.context) for p in found] == [(OLD_HEAD, "gatebot: main")]
