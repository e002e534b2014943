"""The merge step through the worker against the fake GitHub: one merge of exactly the
approved head, the answers GitHub can give, intents, feedback, locks and branch upkeep."""

from __future__ import annotations

import threading

import pytest
from github_helpers import REPO, Rig, rig_fixture  # noqa: F401
from support.policies import ONE_APPROVAL

from bot.keys import PullKey
from bot.pipeline.errors import ForgeUnavailable, guarded
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.pull import PullPipeline
from bot.providers.github.policy_source import POLICY_PATHS
from bot.store import dirty, merges, pulls, utcnow
from bot.worker import Outcome, PullWorker


def policy(merge: str) -> str:
    return f"{ONE_APPROVAL}merge:\n{merge}"


SQUASH = policy("  auto: true\n  method: squash\n")


def pipeline(rig: Rig) -> PullPipeline:
    return PullPipeline(
        rig.forge,
        rig.store,
        OperatorConfig(),
        POLICY_PATHS,
        lambda key, sha: None,
        merging=MergeStep(rig.store, rig.clock, lock_seconds=30),
    )


def run(rig: Rig, pipe: PullPipeline, number: int = 7, owner: str = "test:1") -> Outcome:
    key = rig.key(number)
    with rig.store.begin() as conn:
        dirty.mark(conn, key, utcnow(), rig.installation())
    worker = PullWorker(
        rig.store, lambda job: guarded(job.key, lambda: pipe(job)), owner=owner, lease_seconds=30
    )
    return worker.process(key)


def settle(rig: Rig, pipe: PullPipeline, number: int = 7) -> Outcome:
    """Run until the PR stops asking to be looked at again."""
    outcome = run(rig, pipe, number)
    for _ in range(10):
        if outcome is not Outcome.AGAIN:
            return outcome
        outcome = PullWorker(
            rig.store, lambda job: guarded(job.key, lambda: pipe(job)), owner="test:1",
            lease_seconds=30,
        ).process(rig.key(number))
    return outcome


def approved_pr(rig: Rig, text: str = SQUASH, number: int = 7, **options):
    if REPO.lower() not in rig.fake.world.repos:
        rig.fake.add_repo(REPO, files={".github/gatebot.yml": text, "src/app.py": "1\n"})
        rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, number, contents={f"src/f{number}.py": "2\n"}, **options)
    rig.fake.add_review(REPO, number, "mia", "APPROVED")
    return pr


def merge_calls(rig: Rig) -> list:
    return rig.fake.requests_for("pulls/merge")


def bot_comments(rig: Rig, number: int = 7) -> list[str]:
    return [c.body for c in rig.fake.comments(REPO, number) if c.user == rig.fake.bot_login]


def audit(rig: Rig) -> list[merges.AuditEntry]:
    with rig.store.begin() as conn:
        return merges.audit(conn)


def test_a_passing_pr_is_merged_once_at_the_evaluated_head_with_the_policys_method(rig):
    pr = approved_pr(rig)
    pipe = pipeline(rig)
    assert settle(rig, pipe) is Outcome.DONE
    (merge,) = rig.fake.merges
    assert merge.requested_sha == pr.head_sha and merge.method == "squash"
    assert rig.fake.pr(REPO, 7).merged
    (comment,) = bot_comments(rig)
    assert comment == f"Merged {pr.head_sha[:12]} with the `squash` method as {merge.merge_commit_sha}."
    (entry,) = audit(rig)
    assert (entry.outcome, entry.armed_by, entry.method, entry.merge_sha) == (
        "merged", "auto", "squash", merge.merge_commit_sha,
    )
    for _ in range(5):  # redelivered events
        assert run(rig, pipe) is Outcome.DONE
    assert len(merge_calls(rig)) == 1 and len(bot_comments(rig)) == 1 and len(audit(rig)) == 1


def test_no_merge_without_auto_or_with_a_block_label_or_a_missing_trigger(rig):
    text = policy(
        "  auto: true\n  trigger: {labels: [automerge]}\n  block: {labels: [do-not-merge]}\n"
    )
    approved_pr(rig, text, 7, labels=["do-not-merge", "automerge"])
    approved_pr(rig, text, 8)
    pipe = pipeline(rig)
    assert settle(rig, pipe, 7) is Outcome.DONE
    assert settle(rig, pipe, 8) is Outcome.DONE
    assert merge_calls(rig) == [] and rig.fake.merges == []
    rig.fake.add_label(REPO, 8, "automerge")
    assert settle(rig, pipe, 8) is Outcome.DONE
    assert [m.number for m in rig.fake.merges] == [8]


def test_a_draft_is_never_merged(rig):
    approved_pr(rig, draft=True)
    assert settle(rig, pipeline(rig)) is Outcome.DONE
    assert merge_calls(rig) == []


def test_a_merge_answered_500_but_performed_is_not_called_again(rig):
    pr = approved_pr(rig)
    rig.fake.fail("pulls/merge", status=500, after_action=True)
    pipe = pipeline(rig)
    assert settle(rig, pipe) is Outcome.DONE
    assert len(merge_calls(rig)) == 1 and len(rig.fake.merges) == 1
    with rig.store.begin() as conn:
        intent = merges.intent(conn, rig.key(7), pr.head_sha)
    assert intent.state == merges.MERGED and intent.merge_sha == rig.fake.merges[0].merge_commit_sha
    assert len(bot_comments(rig)) == 1


def test_a_500_that_did_not_merge_leaves_the_intent_open_until_reconciled(rig):
    pr = approved_pr(rig)
    rig.fake.fail("pulls/merge", status=502)
    pipe = pipeline(rig)
    with pytest.raises(ForgeUnavailable):
        run(rig, pipe)
    assert rig.fake.merges == [] and len(merge_calls(rig)) == 1  # never retried blindly
    with rig.store.begin() as conn:
        assert [i.head_sha for i in merges.open_intents(conn)] == [pr.head_sha]
        assert dirty.get(conn, rig.key(7)) is not None
    assert settle(rig, pipe) is Outcome.DONE
    assert len(rig.fake.merges) == 1 and len(merge_calls(rig)) == 2
    assert [e.outcome for e in audit(rig)] == ["unknown", "merged"]


def test_an_open_intent_of_a_pr_merged_meanwhile_is_completed_without_a_call(rig):
    pr = approved_pr(rig)
    with rig.store.begin() as conn:
        merges.open_intent(conn, rig.key(7), pr.head_sha, base_ref="main", method="squash",
                           armed_by="auto", installation_id=None, now=utcnow())
    merge_sha = rig.fake.merge_pr(REPO, 7, method="squash")
    assert settle(rig, pipeline(rig)) is Outcome.DONE
    assert merge_calls(rig) == []
    with rig.store.begin() as conn:
        assert merges.intent(conn, rig.key(7), pr.head_sha).merge_sha == merge_sha
    assert len(bot_comments(rig)) == 1


@pytest.mark.parametrize("delete_branch", [True, False])
def test_a_merge_found_at_reconciliation_still_honours_delete_branch(rig, delete_branch):
    pr = approved_pr(rig, policy("  auto: true\n  delete_branch: true\n"), head="feature-x")
    with rig.store.begin() as conn:
        merges.open_intent(conn, rig.key(7), pr.head_sha, base_ref="main", method="merge",
                           armed_by="auto", installation_id=None, now=utcnow(),
                           delete_branch=delete_branch)
    rig.fake.merge_pr(REPO, 7, method="merge")  # the call took effect; its answer was lost
    assert settle(rig, pipeline(rig)) is Outcome.DONE
    assert merge_calls(rig) == []
    expected = [(REPO, "heads/feature-x")] if delete_branch else []
    assert rig.fake.deleted_refs == expected
    rig.fake.assert_all_valid()


def test_a_head_moved_while_the_merge_was_in_flight_is_not_merged_and_is_evaluated(rig):
    approved_head = approved_pr(rig).head_sha
    pipe = pipeline(rig)
    hold = rig.fake.hold("pulls/merge")
    outcomes: list[Outcome] = []
    worker = threading.Thread(target=lambda: outcomes.append(run(rig, pipe)))
    worker.start()
    assert hold.wait_arrived()
    new_head = rig.fake.push(REPO, 7, contents={"src/f7.py": "3\n"})
    hold.release()
    worker.join(10)
    assert outcomes == [Outcome.AGAIN]  # marked again: the new head is looked at at once
    assert rig.fake.merges == [] and merge_calls(rig)[0].status == 409
    with rig.store.begin() as conn:
        assert merges.intent(conn, rig.key(7), approved_head).state == merges.ABANDONED
    assert settle(rig, pipe) is Outcome.DONE
    assert rig.fake.statuses(REPO, new_head)[-1].state == "pending"  # the old approval is stale
    assert rig.fake.merges == []


def test_a_method_the_repository_forbids_gets_one_comment(rig):
    approved_pr(rig)
    rig.fake.set_repo(REPO, merge_methods={"merge"})
    pipe = pipeline(rig)
    for _ in range(3):
        assert settle(rig, pipe) is Outcome.DONE
    assert merge_calls(rig) == []
    (comment,) = bot_comments(rig)
    assert "`squash` merge method" in comment and "allowed: `merge`" in comment
    assert len(rig.fake.requests_for("repos/get")) == 1  # the settings are cached


def test_a_refusal_is_explained_once_and_a_later_pass_merges(rig):
    approved_pr(rig)
    rig.fake.protect_branch(REPO, "main", contexts=["ci"])
    pipe = pipeline(rig)
    assert settle(rig, pipe) is Outcome.DONE
    assert settle(rig, pipe) is Outcome.DONE
    (comment,) = bot_comments(rig)
    assert comment == 'Could not merge this PR: GitHub says: Required status check "ci" is expected.'
    rig.fake.set_status(REPO, rig.fake.pr(REPO, 7).head_sha, "ci", "success")
    assert settle(rig, pipe) is Outcome.DONE
    assert len(rig.fake.merges) == 1
    assert [e.outcome for e in audit(rig)] == ["refused", "refused", "merged"]


def test_a_conflict_is_said_once_and_never_called(rig):
    approved_pr(rig)
    rig.fake.set_mergeable(REPO, 7, False)
    pipe = pipeline(rig)
    assert settle(rig, pipe) is Outcome.DONE
    assert settle(rig, pipe) is Outcome.DONE
    assert merge_calls(rig) == []
    (comment,) = bot_comments(rig)
    assert "conflicts with `main`" in comment


def test_unknown_mergeability_is_looked_at_again_a_bounded_number_of_times(rig):
    approved_pr(rig)
    pipe = pipeline(rig)
    with rig.fake.world.lock:
        pr = rig.fake.world.pull(rig.fake.world.repo(REPO), 7)
    original = rig.fake.world.read_mergeable

    def always_null(repo, found):
        return (None, "unknown") if found is pr else original(repo, found)

    rig.fake.world.read_mergeable = always_null
    outcomes = [run(rig, pipe) for _ in range(8)]
    assert outcomes.count(Outcome.AGAIN) == 5 and outcomes[-1] is Outcome.DONE
    assert merge_calls(rig) == []
    rig.fake.world.read_mergeable = original
    assert settle(rig, pipe) is Outcome.DONE
    assert len(rig.fake.merges) == 1


def test_a_held_merge_lock_of_the_base_defers_the_merge(rig):
    approved_pr(rig)
    with rig.store.begin() as conn:
        assert merges.acquire(conn, "github", REPO, "main", "elsewhere", utcnow(), 60)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.AGAIN
    assert merge_calls(rig) == []
    with rig.store.begin() as conn:
        merges.release(conn, "github", REPO, "main", "elsewhere")
    assert settle(rig, pipe) is Outcome.DONE
    assert len(rig.fake.merges) == 1


def test_a_merge_marks_the_other_prs_on_the_base_and_a_stale_base_is_evaluated_again(rig):
    first = approved_pr(rig, number=7)
    second = approved_pr(rig, number=8)
    with rig.store.begin() as conn:
        for pr in (first, second):
            pulls.remember(conn, pulls.PullState("github", REPO, pr.number, "main", pr.head_sha,
                                                 pulls.OPEN, rig.installation()), utcnow())
    pipe = pipeline(rig)
    # PR 8 is evaluated, then PR 7 merges before PR 8's merge step reads the PR again.
    merged_first: list[Outcome] = []

    def merge_seven_first(ev) -> None:
        merged_first.append(settle(rig, pipe, 7))

    original = pipe.merging.run

    def run_after(ev, job, decision, snapshot, config, armed_by):
        if job.key.number == 8 and not merged_first:
            merge_seven_first(ev)
        return original(ev, job, decision, snapshot, config, armed_by)

    pipe.merging.run = run_after
    assert run(rig, pipe, 8) is Outcome.AGAIN  # the base moved: evaluated once more
    assert merged_first == [Outcome.DONE] and [m.number for m in rig.fake.merges] == [7]
    with rig.store.begin() as conn:
        assert dirty.get(conn, rig.key(8)) is not None
    assert settle(rig, pipe, 8) is Outcome.DONE
    assert [m.number for m in rig.fake.merges] == [7, 8]


def test_the_head_branch_is_deleted_unless_another_open_pr_targets_it(rig):
    text = policy("  auto: true\n  delete_branch: true\n")
    approved_pr(rig, text, 7, head="feature-a")
    approved_pr(rig, text, 8, head="feature-b")
    rig.fake.open_pr(REPO, 9, base="feature-b", head="feature-c")
    pipe = pipeline(rig)
    assert settle(rig, pipe, 7) is Outcome.DONE
    assert settle(rig, pipe, 8) is Outcome.DONE
    assert rig.fake.deleted_refs == [(REPO, "heads/feature-a")]
    assert rig.fake.branch_sha(REPO, "feature-b") is not None
    assert "kept: open PRs target it (#9)" in _last_summary(rig, 8)


def test_a_branch_behind_its_base_is_updated_then_merged_with_the_approval_kept(rig):
    text = policy("  auto: true\n  update_branch: true\n")
    old_head = approved_pr(rig, text).head_sha
    rig.fake.commit(REPO, "main", {"other.txt": "x\n"})
    rig.fake.protect_branch(REPO, "main", strict=True)
    pipe = pipeline(rig)
    assert settle(rig, pipe) is Outcome.DONE
    (update,) = rig.fake.branch_updates
    assert update.expected_head_sha == old_head and rig.fake.merges == []
    new_head = rig.fake.pr(REPO, 7).head_sha
    assert new_head != old_head
    # The bot's update merge keeps the approval given on the head before it.
    assert settle(rig, pipe) is Outcome.DONE
    (merge,) = rig.fake.merges
    assert merge.requested_sha == new_head
    assert [e.outcome for e in audit(rig)] == ["branch updated", "merged"]


def _last_summary(rig: Rig, number: int) -> str:
    from bot.store import runs

    with rig.store.begin() as conn:
        return runs.for_pull(conn, PullKey("github", REPO, number))[-1].summary


def test_the_audit_command_prints_one_line_per_entry_oldest_first(rig, monkeypatch, capsys):
    from datetime import UTC, datetime

    from bot.cli import main

    older = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    newer = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)
    with rig.store.begin() as conn:
        merges.record(conn, rig.key(8, "acme/web"), "e" * 40, method="merge", armed_by="auto",
                      outcome="refused", now=newer, detail="Pull Request is not mergeable")
        merges.record(conn, rig.key(7), "c" * 40, method="squash", armed_by="auto",
                      outcome="merged", now=older, merge_sha="d" * 40)
    monkeypatch.setenv("GATEBOT_DATABASE_URL", rig.settings.database_url)
    assert main(["audit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"2026-01-02T10:00:00+00:00 acme/api#7 {'c' * 12} squash armed by auto: merged -> "
        f"{'d' * 12}",
        f"2026-03-04T12:30:00+00:00 acme/web#8 {'e' * 12} merge armed by auto: refused: "
        "Pull Request is not mergeable",
    ]
    assert main(["audit", "--repo", "ACME/API"]) == 0
    assert capsys.readouterr().out.splitlines() == lines[:1]
    assert main(["audit", "--since", "2026-02-01"]) == 0
    assert capsys.readouterr().out.splitlines() == lines[1:]
    with pytest.raises(SystemExit):
        main(["audit", "--since", "last tuesday"])
