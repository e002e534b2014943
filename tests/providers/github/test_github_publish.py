"""Publishing the verdict: a status and a check run named `gatebot: <base>`, only on change."""

from __future__ import annotations

import logging
import threading

import pytest
from github import GithubException
from github_helpers import ONE_APPROVAL, REPO, Rig, backdate_pr, request_lines, rig_fixture  # noqa: F401
from sqlalchemy.exc import OperationalError

from bot.core import render
from bot.core.gate import decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.needs import SnapshotNeeds
from bot.providers import publishing
from bot.store import evaluations

DETAILS = "https://gatebot.example/acme/api/pull/7"
WRITES = {"POST repos/create-commit-status", "POST checks/create", "PATCH checks/update"}


def _writes(evaluated) -> list[str]:
    """The verdict's writes, sorted: the status and the check run go out at once."""
    return sorted(line for line in request_lines(evaluated.requests) if line in WRITES)


def _approved_pr(rig: Rig, policy: str = ONE_APPROVAL):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": policy})
    rig.fake.set_role(REPO, "mia", "maintain")
    pr = rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    backdate_pr(rig.fake, REPO, 7)
    return pr


def test_first_verdict_posts_a_status_and_a_check_run(rig):
    pr = _approved_pr(rig)
    done = rig.evaluate(7, details_url=DETAILS)
    assert done.decision.state == "success"
    assert _writes(done) == ["POST checks/create", "POST repos/create-commit-status"]

    (status,) = rig.fake.statuses(REPO, pr.head_sha)
    assert status.context == "gatebot: main"
    assert status.state == "success"
    assert status.description == render.status_description(done.decision)
    assert status.target_url == DETAILS
    assert status.creator == rig.fake.bot_login

    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert run.name == "gatebot: main"
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == render.check_run_title(done.decision)
    assert run.output["summary"] == render.markdown(done.decision, DETAILS)
    assert run.details_url == DETAILS
    assert done.outcome is not None and done.outcome.check_run_id == run.id
    rig.fake.assert_all_valid()


def test_the_same_verdict_is_not_posted_again(rig):
    _approved_pr(rig)
    rig.evaluate(7, details_url=DETAILS)
    again = rig.evaluate(7, details_url=DETAILS)
    assert _writes(again) == []
    assert again.outcome is not None and again.outcome.unchanged


def test_a_changed_verdict_posts_a_status_and_updates_the_check_run(rig):
    pr = _approved_pr(rig)
    first = rig.evaluate(7)
    rig.fake.add_review(REPO, 7, "mia", "CHANGES_REQUESTED")
    later = rig.evaluate(7)
    assert later.decision.state == "failure"
    assert _writes(later) == ["PATCH checks/update", "POST repos/create-commit-status"]
    statuses = rig.fake.statuses(REPO, pr.head_sha)
    assert [s.state for s in statuses] == ["success", "failure"]
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert run.id == first.outcome.check_run_id
    assert (run.status, run.conclusion) == ("completed", "failure")
    rig.fake.assert_all_valid()


def test_the_status_and_the_check_run_are_in_flight_at_the_same_time(rig):
    pr = _approved_pr(rig)
    status = rig.fake.hold("repos/create-commit-status")
    run = rig.fake.hold("checks/create")
    done: list = []
    publishing = threading.Thread(target=lambda: done.append(rig.evaluate(7)))
    publishing.start()
    try:
        # Each write is parked at GitHub before either is answered.
        assert status.wait_arrived() and run.wait_arrived()
    finally:
        status.release()
        run.release()
        publishing.join(timeout=30)
    assert done and done[0].outcome is not None and done[0].outcome.check_run_posted
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["success"]
    assert len(rig.fake.check_runs(REPO, pr.head_sha)) == 1


def test_a_failed_status_surfaces_and_leaves_the_verdict_unrecorded(rig):
    pr = _approved_pr(rig)
    rig.fake.fail("repos/create-commit-status", status=422)  # not retried
    with pytest.raises(GithubException):
        rig.evaluate(7)
    # The check run went out beside it; with nothing recorded, the next evaluation
    # posts the verdict again.
    assert len(rig.fake.check_runs(REPO, pr.head_sha)) == 1
    again = rig.evaluate(7)
    assert again.outcome is not None and again.outcome.status_posted
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["success"]


def _posted_then_died(rig: Rig, monkeypatch: pytest.MonkeyPatch):
    """Evaluate PR 7 as a run that dies after its writes, before it records them (a
    killed worker, the store stopped): the store fails where the record is written."""

    def store_gone(*_args: object) -> None:
        raise OperationalError("INSERT INTO evaluations", {}, Exception("server closed"))

    with monkeypatch.context() as patched:
        patched.setattr(publishing, "record", store_gone)
        with pytest.raises(OperationalError):
            rig.evaluate(7, details_url=DETAILS)


def test_a_verdict_posted_but_never_recorded_is_not_posted_again(rig, monkeypatch, caplog):
    pr = _approved_pr(rig)
    _posted_then_died(rig, monkeypatch)
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["success"]

    # The next run reads the bot's status already saying the verdict: no second
    # status, only the check run the store cannot name.
    with caplog.at_level(logging.INFO, logger="bot.providers.github.publish"):
        again = rig.evaluate(7, details_url=DETAILS)
    assert "already shows this verdict, unrecorded" in caplog.text
    assert _writes(again) == ["POST checks/create"]
    assert again.outcome is not None and not again.outcome.status_posted
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["success"]
    # Recorded now: nothing more is written.
    assert _writes(rig.evaluate(7, details_url=DETAILS)) == []


def test_a_changed_verdict_posted_but_never_recorded_only_updates_the_check_run(
    rig, monkeypatch
):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    assert rig.evaluate(7, details_url=DETAILS).decision.state == "pending"
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    _posted_then_died(rig, monkeypatch)  # success posted; the store still says pending

    again = rig.evaluate(7, details_url=DETAILS)
    assert again.decision.state == "success"
    assert _writes(again) == ["PATCH checks/update"]
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["pending", "success"]
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert (run.status, run.conclusion) == ("completed", "success")


def test_someone_elses_copy_of_the_verdict_is_never_taken_for_the_bots(rig):
    # A verdict the forge "already shows" counts only when the bot wrote it: a copy of
    # its words by anyone else, with the store's record gone, is overwritten.
    pr = _approved_pr(rig)
    first = rig.evaluate(7, details_url=DETAILS)
    rig.fake.set_status(
        REPO, pr.head_sha, "gatebot: main", "success", creator="mallory",
        description=render.status_description(first.decision), target_url=DETAILS,
    )
    with rig.store.begin() as conn:
        evaluations.forget(conn, "github", REPO, pr.head_sha, "gatebot: main")
    again = rig.evaluate(7, details_url=DETAILS)
    assert again.outcome is not None and again.outcome.overwrote == ("mallory",)
    latest = rig.fake.statuses(REPO, pr.head_sha)[-1]
    assert (latest.state, latest.creator) == ("success", rig.fake.bot_login)


def test_a_status_that_says_something_else_is_posted_though_the_bot_wrote_it(rig):
    pr = _approved_pr(rig)
    rig.evaluate(7, details_url=DETAILS)
    # The bot's own older words on the head, and no record of them.
    rig.fake.set_status(
        REPO, pr.head_sha, "gatebot: main", "success", creator=rig.fake.bot_login,
        description="an older description",
    )
    with rig.store.begin() as conn:
        evaluations.forget(conn, "github", REPO, pr.head_sha, "gatebot: main")
    again = rig.evaluate(7, details_url=DETAILS)
    assert again.outcome is not None and again.outcome.status_posted
    latest = rig.fake.statuses(REPO, pr.head_sha)[-1]
    assert latest.description == render.status_description(again.decision)


def test_pending_is_a_running_check_run_and_never_goes_back_from_completed(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    pending = rig.evaluate(7)
    assert pending.decision.state == "pending"
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert (run.status, run.conclusion) == ("in_progress", None)
    assert rig.fake.statuses(REPO, pr.head_sha)[-1].state == "pending"

    review = rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    passed = rig.evaluate(7)
    assert _writes(passed) == ["PATCH checks/update", "POST repos/create-commit-status"]
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert (run.status, run.conclusion) == ("completed", "success")

    rig.fake.dismiss_review(REPO, 7, review.id)
    pending_again = rig.evaluate(7)
    assert pending_again.decision.state == "pending"
    assert _writes(pending_again) == ["POST checks/create", "POST repos/create-commit-status"]
    runs = rig.fake.check_runs(REPO, pr.head_sha)
    assert [(r.status, r.conclusion) for r in runs] == [
        ("completed", "success"),
        ("in_progress", None),
    ]


def test_a_status_someone_else_wrote_under_the_bots_context_is_overwritten(rig, caplog):
    pr = _approved_pr(rig)
    rig.evaluate(7)
    rig.fake.set_status(REPO, pr.head_sha, "gatebot: main", "failure", creator="mallory")
    with caplog.at_level(logging.WARNING, logger="bot.providers.github.publish"):
        again = rig.evaluate(7)
    assert again.outcome is not None and again.outcome.overwrote == ("mallory",)
    latest = rig.fake.statuses(REPO, pr.head_sha)[-1]
    assert (latest.state, latest.creator) == ("success", rig.fake.bot_login)
    assert "written by mallory" in caplog.text
    # Its own status on top again: the next evaluation writes nothing.
    assert _writes(rig.evaluate(7)) == []


def test_report_mode_posts_a_neutral_check_run_only(rig):
    pr = _approved_pr(rig, ONE_APPROVAL.replace("version: 1\n", "version: 1\nmode: report\n"))
    rig.fake.add_review(REPO, 7, "mia", "CHANGES_REQUESTED")
    done = rig.evaluate(7)
    assert done.decision.report_only
    assert _writes(done) == ["POST checks/create"]
    assert rig.fake.statuses(REPO, pr.head_sha) == []
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert (run.status, run.conclusion) == ("completed", "neutral")
    assert run.output["title"].startswith("report only")
    assert _writes(rig.evaluate(7)) == []


def test_the_context_follows_the_base_branch(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.add_branch(REPO, "release/2.x", "main")
    pr = rig.fake.open_pr(REPO, 7, base="release/2.x")
    done = rig.evaluate(7)
    assert done.outcome is not None and done.outcome.context == "gatebot: release/2.x"
    assert rig.fake.statuses(REPO, pr.head_sha)[0].context == "gatebot: release/2.x"
    assert rig.fake.check_runs(REPO, pr.head_sha)[0].name == "gatebot: release/2.x"


def test_no_policy_anywhere_posts_nothing(rig):
    rig.fake.add_repo(REPO, files={"README.md": "x"})
    pr = rig.fake.open_pr(REPO, 7)
    mark = rig.fake.mark()
    with rig.open(7) as ev:
        assert ev.policy_sources().policy is None
        snap = ev.snapshot(SnapshotNeeds())
        decision = decide(evaluate(None, snap), snap)
        outcome = ev.publish(decision, details_url=None)
    assert outcome.silent and not outcome.status_posted and not outcome.check_run_posted
    assert not [
        r
        for r in rig.fake.requests_since(mark)
        if r.method != "GET"
        and r.operation_id not in ("apps/create-installation-access-token", "graphql")
    ]
    assert rig.fake.statuses(REPO, pr.head_sha) == []
