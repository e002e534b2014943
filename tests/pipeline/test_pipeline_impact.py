"""A PR that edits the policy shows what its edit would change for the other open PRs,
through the pipeline against the fake GitHub: only the PRs whose verdict changes, most
severe first, from their stored snapshots; never for an invalid file; the PR's own
verdict and status untouched; and a change of another PR marks it for a later
recomputation."""

from __future__ import annotations

import json

from github_helpers import ONE_APPROVAL_AND_CI, REPO, Rig, rig_fixture  # noqa: F401
from support.forge_rig import ONE_APPROVAL

from bot.forges import GITHUB
from bot.keys import PullKey
from bot.pipeline.errors import guarded
from bot.pipeline.impact import ImpactStep
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.pull import PullPipeline
from bot.providers.github.policy_source import POLICY_PATHS, owner_policy_path
from bot.store import dirty, evaluations, pull_snapshots, utcnow
from bot.worker import Outcome, PullWorker

TWO_APPROVALS = ONE_APPROVAL_AND_CI.replace("approvals: 1", "approvals: 2")
DELAY = 45.0


def pipeline(rig: Rig) -> PullPipeline:
    return PullPipeline(
        rig.forge,
        rig.store,
        OperatorConfig(),
        POLICY_PATHS,
        lambda key, sha: f"https://gatebot.example/details/{key.repo}/{key.number}?sha={sha}",
        owner_policy=owner_policy_path,
        impact=ImpactStep(rig.store, rig.forge, rig.clock, delay_seconds=DELAY),
        codeowners_paths=GITHUB.codeowners_paths,
    )


def open_judged(rig: Rig, number: int, path: str, *, approved: bool, ci: str) -> str:
    """An open PR touching `path`, evaluated once (so its snapshot is stored)."""
    pr = rig.fake.open_pr(REPO, number, contents={path: f"{number}\n"}, title=f"change {number}")
    if approved:
        rig.fake.add_review(REPO, number, "mia", "APPROVED")
    rig.fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion=ci)
    rig.settle(pipeline(rig), number)
    return pr.head_sha


def three_open_prs(rig: Rig) -> None:
    """Two approved once with CI green, one approved with CI red."""
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL_AND_CI, "src/a.py": "0\n"})
    for reviewer in ("mia", "max"):
        rig.fake.set_role(REPO, reviewer, "write")
    open_judged(rig, 1, "src/one.py", approved=True, ci="success")
    open_judged(rig, 2, "docs/two.md", approved=True, ci="success")
    open_judged(rig, 3, "src/three.py", approved=True, ci="failure")


def policy_pr(rig: Rig, text: str, number: int = 9):
    pr = rig.fake.open_pr(REPO, number, contents={".github/gatebot.yml": text})
    rig.settle(pipeline(rig), number)
    return pr


def summary_of(rig: Rig, sha: str) -> str:
    (run,) = [r for r in rig.fake.check_runs(REPO, sha) if r.name == "gatebot: main"]
    return run.output["summary"]


def listed(summary: str) -> list[str]:
    section = summary.split("### If this change lands", 1)[1]
    section = section.split("### This PR's own verdict", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


def test_raising_approvals_to_two_flips_exactly_the_two_approved_prs_to_pending(rig):
    three_open_prs(rig)
    pr = policy_pr(rig, TWO_APPROVALS)
    summary = summary_of(rig, pr.head_sha)
    assert "2 of the 3 other open PRs into main would change:" in summary
    assert listed(summary) == [
        "- #1 success → pending: reviewed: needs 1 more approval from anyone with write permission or above",
        "- #2 success → pending: reviewed: needs 1 more approval from anyone with write permission or above",
    ]
    # The PR's own verdict is the base branch's policy's, the status says nothing of it.
    (status,) = rig.fake.statuses(REPO, pr.head_sha)
    assert status.state == "pending"
    assert "would change" not in status.description and "#1" not in status.description
    with rig.store.begin() as conn:
        posted = evaluations.latest_for_pull(conn, "github", REPO, 9)
    kept = json.loads(posted.explanation)["impact"]
    assert [(c["number"], c["before"], c["after"]) for c in kept["changes"]] == [
        (1, "success", "pending"),
        (2, "success", "pending"),
    ]


def test_a_path_rule_shows_only_the_prs_touching_those_paths(rig):
    three_open_prs(rig)
    docs_rule = ONE_APPROVAL_AND_CI.replace(
        "policy:\n  approval: [reviewed]\n", "policy:\n  approval: [reviewed, docs]\n"
    ).replace(
        "checks:",
        "  - name: docs\n"
        "    if:\n      changed_files: {paths: ['docs/**']}\n"
        "    requires:\n      approvals: 1\n      from: {users: [dora]}\n"
        "checks:",
    )
    pr = policy_pr(rig, docs_rule)
    summary = summary_of(rig, pr.head_sha)
    (line,) = listed(summary)
    assert line.startswith("- #2 success → pending: docs: needs 1 more approval")


def test_an_invalid_policy_edit_shows_the_validation_failure_and_no_impact(rig):
    three_open_prs(rig)
    pr = policy_pr(rig, TWO_APPROVALS.replace("approvals: 2", "aprovals: 2"))
    summary = summary_of(rig, pr.head_sha)
    assert "If this change lands" not in summary
    (status,) = rig.fake.statuses(REPO, pr.head_sha)
    assert status.state == "failure"
    assert status.description.startswith("this PR changes .github/gatebot.yml, and the new file")
    with rig.store.begin() as conn:
        posted = evaluations.latest_for_pull(conn, "github", REPO, 9)
    assert "impact" not in json.loads(posted.explanation)


def test_an_unchanging_impact_posts_nothing_again_and_a_changed_one_is_posted(rig):
    three_open_prs(rig)
    pr = policy_pr(rig, TWO_APPROVALS)
    writes = len(rig.fake.check_runs(REPO, pr.head_sha))
    rig.settle(pipeline(rig), 9)
    assert len(rig.fake.check_runs(REPO, pr.head_sha)) == writes
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    before = run.output["summary"]
    # A second approval on #1: under two approvals it would now pass.
    rig.fake.add_review(REPO, 1, "max", "APPROVED")
    rig.settle(pipeline(rig), 1)
    rig.settle(pipeline(rig), 9)
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert run.output["summary"] != before
    assert listed(run.output["summary"]) == [
        "- #2 success → pending: reviewed: needs 1 more approval from anyone with write permission or above",
    ]


def test_a_change_of_another_pr_marks_the_policy_pr_for_later_and_only_once(rig):
    three_open_prs(rig)
    policy_pr(rig, TWO_APPROVALS)
    with rig.store.begin() as conn:
        assert dirty.get(conn, rig.key(9)) is None
    rig.fake.add_review(REPO, 2, "max", "APPROVED")
    rig.settle(pipeline(rig), 2)
    with rig.store.begin() as conn:
        mark = dirty.get(conn, rig.key(9))
        assert mark is not None and mark.retry_at is not None
        assert 0 < (mark.retry_at - mark.marked_at).total_seconds() == DELAY
    # Evaluated again with nothing new (the bot's own verdict aside): nobody is marked.
    with rig.store.begin() as conn:
        conn.execute(dirty.t.delete())
    rig.settle(pipeline(rig), 2)
    with rig.store.begin() as conn:
        assert dirty.get(conn, rig.key(9)) is None


def test_a_closed_pr_is_forgotten(rig):
    three_open_prs(rig)
    rig.fake.edit_pr(REPO, 3, state="closed")
    rig.settle(pipeline(rig), 3)
    with rig.store.begin() as conn:
        numbers = [p.number for p in pull_snapshots.on_base(conn, "github", REPO, "main")]
    assert numbers == [1, 2]
    assert PullKey("github", REPO, 3) not in [rig.key(n) for n in numbers]






def settle(rig: Rig, repo: str, number: int) -> None:
    key = rig.key(number, repo)
    with rig.store.begin() as conn:
        dirty.mark(conn, key, utcnow(), rig.installation(repo))
    run = pipeline(rig)
    worker = PullWorker(rig.store, lambda job: guarded(job.key, lambda: run(job)),
                        owner="test:1", lease_seconds=30)
    assert worker.process(key) is Outcome.DONE


def test_the_owner_wide_policy_shows_counts_and_nothing_of_a_private_repository(rig):
    owner_repo, private = "acme/.github", "acme/secret-plans"
    rig.fake.add_repo(owner_repo, files={"gatebot.yml": ONE_APPROVAL}, private=False)
    rig.fake.add_repo(private, files={"src/a.py": "0\n"})
    rig.fake.set_role(private, "mia", "write")
    hidden = rig.fake.open_pr(private, 5, author="zed", title="Acquire Globex quietly",
                              contents={"src/a.py": "1\n"})
    rig.fake.add_review(private, 5, "mia", "APPROVED")
    settle(rig, private, 5)
    assert rig.fake.statuses(private, hidden.head_sha)[-1].state == "success"

    raised = ONE_APPROVAL.replace("approvals: 1", "approvals: 2")
    pr = rig.fake.open_pr(owner_repo, 1, contents={"gatebot.yml": raised})
    settle(rig, owner_repo, 1)
    (run,) = rig.fake.check_runs(owner_repo, pr.head_sha)
    summary = run.output["summary"]
    assert "1 open PR in 1 repository would change: 1 → pending" in summary
    with rig.store.begin() as conn:
        posted = evaluations.latest_for_pull(conn, "github", owner_repo, 1)
    assert json.loads(posted.explanation)["impact"] == {
        "kind": "counts", "evaluated": 1, "changed": 1, "repositories": 1,
        "by_outcome": [["pending", 1]],
    }
    shown = [summary, run.output["title"], posted.explanation,
             *(s.description for s in rig.fake.statuses(owner_repo, pr.head_sha)),
             *(c.body for c in rig.fake.comments(owner_repo, 1))]
    for secret in ("secret-plans", "Acquire", "Globex", "zed", "#5"):
        assert not any(secret in text for text in shown), secret


OWNERS_POLICY = """\
version: 1
policy:
  approval: [owners]
rules:
  - name: owners
    requires:
      approvals: 1
      from: {code_owners: true}
"""


def test_a_codeowners_edit_shows_whose_approval_would_stop_or_start_counting(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": OWNERS_POLICY,
                                   ".github/CODEOWNERS": "* @mia\n", "src/a.py": "0\n"})
    for reviewer in ("mia", "max"):
        rig.fake.set_role(REPO, reviewer, "write")
    for number, reviewer in ((1, "mia"), (2, "max")):
        rig.fake.open_pr(REPO, number, contents={f"src/{number}.py": "1\n"})
        rig.fake.add_review(REPO, number, reviewer, "APPROVED")
        rig.settle(pipeline(rig), number)
    pr = rig.fake.open_pr(REPO, 9, contents={".github/CODEOWNERS": "* @max\n"})
    rig.settle(pipeline(rig), 9)
    lines = listed(summary_of(rig, pr.head_sha))
    assert [line.split(":", 1)[0] for line in lines] == [
        "- #1 success → pending",
        "- #2 pending → success",
    ]
