"""A PR's commits on GitHub, whole evaluations against the fake: a review survives
the base being merged in, and only that (names written into a commit never
matter); a contributor past GitHub's 250 listed commits is still one."""

from __future__ import annotations

from github_helpers import REPO, Rig, request_lines, rig_fixture  # noqa: F401
from support.forge_rig import ONE_APPROVAL

from bot.store import pull_parts

COMPARE = "GET repos/compare-commits"


def _reviewed_pr(rig: Rig) -> str:
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL, "src/app.py": "1\n"})
    rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, 7, author="alice", contents={"src/app.py": "2\n"})
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    assert rig.evaluate(7).decision.state == "success"
    rig.fake.commit(REPO, "main", {"docs/base.md": "from main\n"})
    return pr.head_sha


def test_a_review_survives_githubs_update_branch(rig):
    _reviewed_pr(rig)
    merged = rig.fake.update_branch(REPO, 7, by="alice")
    first = rig.evaluate(7)
    assert first.snapshot.head_sha == merged
    assert first.decision.state == "success"
    assert [s.state for s in rig.fake.statuses(REPO, merged)] == ["success"]
    assert request_lines(first.requests).count(COMPARE) == 4

    # The verdict is kept: evaluating again (its parts re-read) asks nothing more.
    with rig.store.begin() as conn:
        pull_parts.invalidate(conn, "github", REPO, 7)
    again = rig.evaluate(7)
    assert again.decision.state == "success"
    assert COMPARE not in request_lines(again.requests)


def test_a_merge_committed_as_web_flow_that_adds_a_file_voids_the_review(rig):
    approved = _reviewed_pr(rig)
    forged = rig.fake.push_merge(
        REPO, 7, pusher="alice", committer="web-flow", contents={"src/backdoor.py": "evil()\n"}
    )
    result = rig.evaluate(7)
    assert result.decision.state == "pending"
    status = rig.fake.statuses(REPO, forged)[-1]
    assert status.state == "pending"
    summary = rig.fake.check_runs(REPO, forged)[-1].output["summary"]
    assert (
        f"mia approved {approved[:7]}, before the last push (merge commit {forged[:7]} is not "
        "a pure update merge (it changes src/backdoor.py), so it counts as a push)"
    ) in summary
    assert rig.fake.merges == []


def test_a_contributor_past_githubs_250_listed_commits_cannot_approve(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL, "src/app.py": "1\n"})
    rig.fake.set_role(REPO, "mia", "write")
    rig.fake.open_pr(REPO, 7, author="alice", commits=[{}] * 255 + [{"author": "mia"}])
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    result = rig.evaluate(7)
    assert result.decision.state == "pending"
    assert len(result.snapshot.commits) == 256
    assert "mia authored" in result.decision.description
    assert rig.fake.merges == []
