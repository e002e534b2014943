"""The GitHub gate end to end: `gatebot serve` as a real process, the fake GitHub as GitHub.

One service and one fake serve the whole module; each test works in a
repository of its own, so the caches and records of one test never meet
another's. Webhooks are built from the fake's state (real payload shapes
from tests/fixtures) and signed with the App's secret; every assertion reads
what the bot wrote at the fake once the service drained the PR's work.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fakegithub.state import clock_source
from support.e2e import GateService, github_fixtures, next_second
from support.policies import ONE_APPROVAL
from support.processes import GatebotProcess, wait_until

pytestmark = pytest.mark.slow

TEAM_RULE = """\
version: 1
policy:
  approval: [backend-review]
rules:
  - name: backend-review
    requires:
      approvals: 2
      from:
        teams: [acme/backend]
"""


gate, fake = github_fixtures("e2e")


def new_repo(gate: GateService, name: str, policy: str | None, **files: str) -> str:
    repo = f"acme/{name}"
    contents = {"src/app.py": "print(1)\n", **files}
    if policy is not None:
        contents[".github/gatebot.yml"] = policy
    gate.fake.add_repo(repo, files=contents)
    return repo


def backend_team(gate: GateService, repo: str, *members: str) -> None:
    fake = gate.fake
    if "backend" not in fake.world.org("acme").teams:
        fake.add_team("acme", "backend", members=["bob", "carol"])
    for login in ("bob", "carol", "dave", *members):
        fake.set_role(repo, login, "write")


def test_two_approvals_from_a_team_go_from_pending_to_success(gate, fake):
    repo = new_repo(gate, "two-approvals", TEAM_RULE)
    backend_team(gate, repo)
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status is not None and status.state == "pending"
    assert "needs 2 more approvals" in status.description
    assert status.creator == fake.bot_login

    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request_review", "submitted", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending" and "needs 1 more approval" in status.description

    fake.add_review(repo, 1, "carol", "APPROVED")
    gate.deliver("pull_request_review", "submitted", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "success"
    run = gate.gate_run(repo, pr.head_sha)
    assert run is not None and run.conclusion == "success"
    assert status.target_url.startswith(
        f"{gate.base}/details/github/acme/two-approvals/1?sha={pr.head_sha}&sig="
    )
    page = gate.session.get(status.target_url, timeout=10)
    assert page.status_code == 200 and "acme/two-approvals#1" in page.text
    # Links to the PR, and to the policy that judged at the base commit it was read at.
    assert f'href="{fake.url}/{repo}/pull/1"' in page.text
    base = fake.branch_sha(repo, "main")
    assert f'href="{fake.url}/{repo}/blob/{base}/.github/gatebot.yml"' in page.text
    assert "History" in page.text and page.text.count("<td><code>") >= 3

    # After a push is evaluated, the link to the old head opens nothing.
    head = fake.push(repo, 1, contents={"src/app.py": "print(3)\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    fresh = gate.gate_status(repo, head)
    assert gate.session.get(status.target_url, timeout=10).status_code == 404
    assert gate.session.get(fresh.target_url, timeout=10).status_code == 200

ONE_REVIEW_OR_COMMENT = ONE_APPROVAL + """\
    options:
      methods:
        review: true
        comments: ["LGTM"]
"""



def test_an_approval_from_outside_the_team_is_not_counted(gate, fake):
    repo = new_repo(gate, "outsider", TEAM_RULE)
    backend_team(gate, repo)
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    fake.add_review(repo, 1, "dave", "APPROVED")  # write access, but not in acme/backend
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert "needs 1 more approval from acme/backend" in status.description
    summary = gate.gate_run(repo, pr.head_sha).output["summary"]
    assert "dave" in summary and "bob" not in status.description


def test_the_authors_own_review_and_comment_do_not_approve(gate, fake):
    repo = new_repo(gate, "self-approval", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "alice", "write")
    fake.set_role(repo, "bob", "write")
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    fake.add_review(repo, 1, "alice", "APPROVED")
    fake.add_comment(repo, 1, "alice", "LGTM")
    gate.deliver("issue_comment", "created", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert "needs 1 more approval" in status.description
    assert "alice is the author" in status.description

    # The same comment from someone else approves.
    fake.add_comment(repo, 1, "bob", "LGTM")
    gate.deliver("issue_comment", "created", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "success"


def test_an_approval_of_an_older_head_does_not_count_after_a_push(gate, fake):
    repo = new_repo(gate, "stale-review", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    first = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"}).head_sha
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, first).state == "success"

    second = fake.push(repo, 1, contents={"src/app.py": "print(3)\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, second)
    assert status.state == "pending"
    assert f"bob approved {first[:7]}, before the last push" in status.description
    # The PR left that commit: its success is withdrawn, so it cannot be merged on.
    left = gate.gate_status(repo, first)
    assert left.state == "pending" and left.description.startswith("superseded")


def test_a_comment_approval_written_before_a_push_does_not_count_after_it(gate, fake):
    repo = new_repo(gate, "stale-comment", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    first = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"}).head_sha
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    fake.add_comment(repo, 1, "bob", "LGTM")
    gate.deliver("issue_comment", "created", repo, 1)
    assert gate.gate_status(repo, first).state == "success"

    next_second()
    second = fake.push(repo, 1, contents={"src/app.py": "print(3)\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, second)
    assert status.state == "pending"
    assert "needs 1 more approval" in status.description


def test_an_lgtm_in_the_same_second_as_a_change_request_does_not_withdraw_it(gate, fake):
    repo = new_repo(gate, "same-second", ONE_REVIEW_OR_COMMENT)
    for login in ("bob", "wes"):
        fake.set_role(repo, login, "write")
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    # GitHub dates reviews and comments to the second and orders a review and a
    # comment of the same second nowhere: the change request must win.
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    with clock_source(lambda: moment):
        fake.add_comment(repo, 1, "wes", "LGTM")
        fake.add_review(repo, 1, "wes", "CHANGES_REQUESTED")
        fake.add_review(repo, 1, "bob", "APPROVED")
    next_second()
    next_second()
    gate.deliver("pull_request_review", "submitted", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "failure"
    assert "disapproved by wes" in status.description
    assert fake.merges == []


LOOSE_POLICY = """version: 1
policy:
  approval: [nothing]
rules:
  - name: nothing
    requires:
      approvals: 0
"""

BROKEN_EDIT = """version: 1
policy:
  approval: [nothing]
rules:
  - name: nothing
    requires:
      aprovals: 0
"""


def content_reads(fake, repo: str, path: str) -> list[str]:
    """The `ref` of every read of `path` in `repo`, in order."""
    return [
        r.query.get("ref", ["(default branch)"])[0]
        for r in fake.requests_for("repos/get-content")
        if r.path.startswith(f"/repos/{repo}/contents/") and r.path.endswith(path)
    ]


def test_a_pr_loosening_the_policy_is_judged_by_the_base_branch_policy(gate, fake):
    repo = new_repo(gate, "loosen", ONE_REVIEW_OR_COMMENT)
    pr = fake.open_pr(
        repo, 1, author="alice", contents={".github/gatebot.yml": LOOSE_POLICY}
    )
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert "reviewed: needs 1 more approval" in status.description
    # The policy came from the base branch; the PR's own version was only validated.
    assert content_reads(fake, repo, ".github/gatebot.yml") == ["refs/heads/main", pr.head_sha]

    broken = fake.push(repo, 1, contents={".github/gatebot.yml": BROKEN_EDIT})
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, broken)
    assert status.state == "failure"
    assert status.description.startswith(
        "this PR changes .github/gatebot.yml, and the new file is invalid: line 7:"
    )
    summary = gate.gate_run(repo, broken).output["summary"]
    assert "gatebot.yml:7:7: unknown-key" in summary and "did you mean" in summary
    assert content_reads(fake, repo, ".github/gatebot.yml")[-1] == broken


def test_a_repository_without_any_policy_gets_nothing(gate, fake):
    # No policy anywhere and no operator floor: the bot stays silent on the
    # repository, even towards a PR that adds a policy file.
    repo = new_repo(gate, "first-policy", None)
    pr = fake.open_pr(repo, 1, author="alice", contents={".gatebot.yml": BROKEN_EDIT})
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, pr.head_sha) is None
    assert gate.gate_run(repo, pr.head_sha) is None
    assert gate.runs(repo, 1)[-1].summary == "no policy applies to this repository: nothing posted"


DOCS_FAST_LANE = """version: 1
policy:
  approval:
    - or: [reviewed, docs-only]
rules:
  - name: reviewed
    requires:
      approvals: 1
      from: {permission: write}
  - name: docs-only
    if:
      only_changed_files: {paths: ["docs/**", "**/*.md"]}
    requires: {approvals: 0}
"""


def test_a_docs_only_change_passes_by_the_path_rule(gate, fake):
    repo = new_repo(gate, "docs-lane", DOCS_FAST_LANE)
    docs = fake.open_pr(repo, 1, contents={"docs/guide.md": "# Guide\n", "README.md": "hi\n"})
    code = fake.open_pr(repo, 2, contents={"docs/guide.md": "# Guide\n", "src/app.py": "2\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    gate.deliver("pull_request", "opened", repo, 2)
    passed = gate.gate_status(repo, docs.head_sha)
    assert passed.state == "success" and "docs-only" in passed.description
    pending = gate.gate_status(repo, code.head_sha)
    assert pending.state == "pending" and "reviewed: needs 1 more approval" in pending.description


def test_retargeting_the_base_posts_under_the_new_branch_context(gate, fake):
    repo = new_repo(gate, "retarget", ONE_REVIEW_OR_COMMENT)
    backend_team(gate, repo)
    fake.commit(repo, "release", {".github/gatebot.yml": TEAM_RULE})
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "success"

    fake.edit_pr(repo, 1, base_ref="release")
    gate.deliver(
        "pull_request", "edited", repo, 1,
        changes={"base": {"ref": {"from": "main"}, "sha": {"from": fake.branch_sha(repo, "main")}}},
    )
    release = gate.gate_status(repo, pr.head_sha, "gatebot: release")
    assert release is not None and release.state == "pending"
    # release wants two from the team, and bob's approval was for main: a retarget voids it.
    assert release.description == (
        "backend-review: needs 2 more approvals from acme/backend; "
        "bob approved before the PR was retargeted to release"
    )
    assert gate.gate_run(repo, pr.head_sha, "gatebot: release").status == "in_progress"
    assert content_reads(fake, repo, ".github/gatebot.yml")[-1] == "refs/heads/release"


BROKEN_POLICY = """version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires:
      approvals: 1
      form: {permission: write}
"""


def test_a_broken_policy_is_an_error_naming_file_and_line(gate, fake):
    repo = new_repo(gate, "broken", BROKEN_POLICY)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "error"
    assert status.description.startswith(".github/gatebot.yml cannot be used: line 8: ")
    assert "form" in status.description
    run = gate.gate_run(repo, pr.head_sha)
    assert run.conclusion == "failure" and run.output["title"].startswith("policy error: ")


REPORT_ONLY = "version: 1\nmode: report\n" + ONE_REVIEW_OR_COMMENT.removeprefix("version: 1\n")


def test_report_mode_posts_a_neutral_check_run_and_no_status(gate, fake):
    repo = new_repo(gate, "shadow", REPORT_ONLY)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_statuses(repo, pr.head_sha) == []
    run = gate.gate_run(repo, pr.head_sha)
    assert run.status == "completed" and run.conclusion == "neutral"
    assert run.output["title"].startswith("report only — pending: reviewed: needs 1 more approval")


def test_a_closed_pr_gets_nothing_posted(gate, fake):
    repo = new_repo(gate, "closed", ONE_REVIEW_OR_COMMENT)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    fake.edit_pr(repo, 1, state="closed")
    gate.deliver("pull_request", "closed", repo, 1)
    assert gate.gate_statuses(repo, pr.head_sha) == []
    assert gate.gate_run(repo, pr.head_sha) is None
    assert gate.runs(repo, 1)[-1].summary == "PR is closed: nothing posted"


def test_a_bad_signature_is_refused_before_any_forge_call(gate, fake):
    repo = new_repo(gate, "forged", ONE_REVIEW_OR_COMMENT)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    before = fake.request_count
    event, payload = fake.webhook("pull_request", "opened", repo, 1)
    response = gate.post(event, payload, secret="not-the-secret")
    assert response.status_code == 401
    unsigned = gate.session.post(
        f"{gate.base}/webhooks/github",
        data=b"{}",
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "x1"},
        timeout=5,
    )
    assert unsigned.status_code == 401
    # Longer than a debounced wake-up takes: any work would have reached the fake by now.
    time.sleep(1.5)
    assert fake.request_count == before
    assert gate.runs(repo, 1) == []
    assert gate.gate_statuses(repo, pr.head_sha) == []


# -- events the routing turns into work -------------------------------------------

REQUIRED_CI = """\
version: 1
policy:
  approval: [nothing]
rules:
  - name: nothing
    requires: {approvals: 0}
checks:
  - name: ci / test
    app: github-actions
"""


def test_a_failing_then_passing_required_check(gate, fake):
    repo = new_repo(gate, "ci-gate", REQUIRED_CI)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending" and status.description.startswith("waiting for checks: ")

    fake.set_check_run(repo, pr.head_sha, "ci / test", conclusion="failure", app_slug="github-actions")
    gate.deliver("check_run", "completed", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "failure"
    assert status.description.startswith("required check failed: ci / test")
    assert gate.gate_run(repo, pr.head_sha).conclusion == "failure"

    fake.set_check_run(repo, pr.head_sha, "ci / test", conclusion="success", app_slug="github-actions")
    gate.deliver("check_run", "completed", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "success"
    # The completed check run cannot go back: a new verdict that is final updates it.
    assert gate.gate_run(repo, pr.head_sha).conclusion == "success"


def test_a_check_from_the_wrong_app_is_not_counted(gate, fake):
    repo = new_repo(gate, "ci-impostor", REQUIRED_CI)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    fake.set_check_run(repo, pr.head_sha, "ci / test", conclusion="success", app_slug="impostor-ci")
    gate.deliver("check_run", "completed", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending" and status.description.startswith("waiting for checks: ")
    assert "impostor-ci" in gate.gate_run(repo, pr.head_sha).output["summary"]


def test_someone_elses_success_under_the_bots_context_is_overwritten(gate, fake):
    repo = new_repo(gate, "forged-status", ONE_REVIEW_OR_COMMENT)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "pending"

    fake.set_status(repo, pr.head_sha, "gatebot: main", "success", creator="mallory",
                    description="all good, trust me")
    gate.deliver("status", None, repo, 1)
    latest = gate.gate_status(repo, pr.head_sha)
    assert (latest.state, latest.creator) == ("pending", fake.bot_login)
    assert "reviewed: needs 1 more approval" in latest.description
    assert [s.creator for s in gate.gate_statuses(repo, pr.head_sha)] == [
        fake.bot_login, "mallory", fake.bot_login,
    ]
    assert "'gatebot: main' on " + pr.head_sha[:12] + " written by mallory" in gate.proc.output()


def test_an_approval_comment_edited_by_someone_else_fails_the_gate(gate, fake):
    repo = new_repo(gate, "tamper", ONE_REVIEW_OR_COMMENT)
    for login in ("bob", "carol"):
        fake.set_role(repo, login, "admin" if login == "carol" else "write")
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    comment = fake.add_comment(repo, 1, "bob", "I will look at this tomorrow")
    gate.deliver("issue_comment", "created", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "pending"

    fake.edit_comment(repo, comment.id, "LGTM")
    gate.deliver(
        "issue_comment", "edited", repo, 1, sender="carol", comment_id=comment.id,
        changes={"body": {"from": "I will look at this tomorrow"}},
    )
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "failure"
    assert status.description.startswith(
        f"tampering: carol edited bob's approval comment {comment.id}"
    )

    # A push ends it; the edited comment still approves nothing.
    head = fake.push(repo, 1, contents={"src/app.py": "print(3)\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    assert gate.gate_status(repo, head).state == "pending"


def test_a_review_body_edited_by_someone_else_into_an_approval_fails_the_gate(gate, fake):
    repo = new_repo(gate, "tamper-review", ONE_REVIEW_OR_COMMENT)
    for login in ("bob", "carol"):
        fake.set_role(repo, login, "admin" if login == "carol" else "write")
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    review = fake.add_review(repo, 1, "bob", "COMMENTED", body="I will look at this tomorrow")
    gate.deliver("pull_request_review", "submitted", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "pending"

    fake.edit_review(repo, 1, review.id, "LGTM")
    gate.deliver(
        "pull_request_review", "edited", repo, 1, sender="carol", review_id=review.id,
        changes={"body": {"from": "I will look at this tomorrow"}},
    )
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "failure"
    assert status.description.startswith(
        f"tampering: carol edited bob's approving review body {review.id}"
    )
    assert fake.merges == []


def test_only_a_true_update_merge_keeps_an_approval(gate, fake):
    repo = new_repo(gate, "update-merges", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    approved = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, approved.head_sha).state == "success"

    # bob presses "Update branch": he wrote and pushed the merge that brings main
    # in, yet neither costs the PR his review nor makes him a contributor.
    fake.commit(repo, "main", {"docs/one.md": "from main\n"})
    updated = fake.update_branch(repo, 1, by="bob")
    gate.deliver("pull_request", "synchronize", repo, 1)
    assert gate.gate_status(repo, updated).state == "success"

    # A merge made locally, committed as `web-flow`, that slips in a file of its own.
    fake.commit(repo, "main", {"docs/two.md": "from main\n"})
    forged = fake.push_merge(repo, 1, pusher="alice", committer="web-flow",
                             contents={"src/backdoor.py": "evil()\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, forged)
    assert status.state == "pending"
    summary = gate.gate_run(repo, forged).output["summary"]
    assert (f"merge commit {forged[:7]} is not a pure update merge (it changes "
            "src/backdoor.py), so it counts as a push") in summary



def request_merge_group(gate: GateService, repo: str, numbers: list[int], **queue) -> str:
    """GitHub's merge queue builds a group of `numbers` and asks for checks on it."""
    fake = gate.fake
    group = fake.queue(repo, numbers, **queue)
    event, payload = fake.webhook("merge_group", "checks_requested", repo,
                                  head_sha=group.head_sha)
    response = gate.post(event, payload)
    assert response.status_code == 202, response.text
    gate.settle_group(repo, group.head_sha)
    return group.head_sha


def test_a_merge_group_passes_only_when_every_pr_passes_at_its_head(gate, fake):
    repo = new_repo(gate, "queue", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    for number in (1, 2):
        fake.open_pr(repo, number, contents={f"src/{number}.py": "1\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    gate.deliver("pull_request", "opened", repo, 2)

    both = request_merge_group(gate, repo, [1, 2])
    status = gate.gate_status(repo, both)
    assert status.state == "pending"
    assert status.description == f"#2 at {fake.pr(repo, 2).head_sha[:7]} is still pending"

    alone = request_merge_group(gate, repo, [1])
    status = gate.gate_status(repo, alone)
    assert status.state == "success"
    assert status.description == "every PR in the merge group passes at its head: #1"
    assert gate.gate_run(repo, alone).conclusion == "success"


def test_a_pr_ahead_in_the_queue_that_was_held_since_keeps_the_group_from_passing(gate, fake):
    """The group's branch and head commit name only #3; #2 rides along ahead of it."""
    repo = new_repo(gate, "queue-ahead", ONE_REVIEW_OR_COMMENT)
    for login in ("bob", "max"):
        fake.set_role(repo, login, "maintain" if login == "max" else "write")
    for number in (2, 3):
        fake.open_pr(repo, number, contents={f"src/{number}.py": "1\n"})
        fake.add_review(repo, number, "bob", "APPROVED")
        gate.deliver("pull_request", "opened", repo, number)
        assert gate.gate_status(repo, fake.pr(repo, number).head_sha).state == "success"
    next_second()
    fake.add_comment(repo, 2, "max", "/gate hold")
    gate.deliver("issue_comment", "created", repo, 2)
    held = fake.pr(repo, 2).head_sha
    assert gate.gate_status(repo, held).state == "pending"

    head = request_merge_group(gate, repo, [2, 3])
    assert fake.repo(repo).commits[head].message == "Pull request #3 (#3)"
    status = gate.gate_status(repo, head)
    assert status.state == "pending"
    assert status.description == f"#2 at {held[:7]} is still pending"
    assert gate.gate_run(repo, head).conclusion != "success"


def test_a_group_commit_that_belongs_to_no_pr_fails_the_group(gate, fake):
    repo = new_repo(gate, "queue-stray", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    fake.open_pr(repo, 1, contents={"src/1.py": "1\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)

    # A commit on top of the group's, titled as if it were #1's squash.
    head = request_merge_group(gate, repo, [1], stray={"src/backdoor.py": "1\n"},
                               stray_message="Pull request #1 (#1)")
    status = gate.gate_status(repo, head)
    assert status.state == "failure"
    assert status.description == (
        f"commit {head[:7]} in the merge group belongs to no open pull request"
    )
    assert gate.gate_run(repo, head).conclusion == "failure"


def test_a_fair_group_of_merges_passes(gate, fake):
    repo = new_repo(gate, "queue-fair", ONE_REVIEW_OR_COMMENT)
    fake.set_role(repo, "bob", "write")
    for number in (1, 2):
        fake.open_pr(repo, number, contents={f"src/{number}.py": "1\n"},
                     commits=[{}, {}])  # two commits each: the queue merges their heads
        fake.add_review(repo, number, "bob", "APPROVED")
        gate.deliver("pull_request", "opened", repo, number)
    head = request_merge_group(gate, repo, [1, 2], method="merge")
    status = gate.gate_status(repo, head)
    assert status.state == "success"
    assert status.description == "every PR in the merge group passes at its head: #1 and #2"


# -- start-up and secrets ------------------------------------------------------------


def test_a_broken_operator_file_stops_the_start_with_one_sentence(tmp_path, gate):
    required = tmp_path / "required.yml"
    required.write_text("version: 1\npolicy:\n  approval: [reviewed]\nrules: []\n")
    env = {**gate.env, "GATEBOT_REQUIRED_POLICY": str(required),
           "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'gatebot.sqlite3'}"}
    proc = GatebotProcess(["serve", "--port", "0"], env, cwd=tmp_path, log_path=tmp_path / "log")
    assert proc.proc.wait(30) != 0
    lines = [line for line in proc.output().splitlines() if "cannot start" in line]
    assert lines == [
        f"gatebot: cannot start: GATEBOT_REQUIRED_POLICY names {required}, which is not a valid"
        " policy: line 3: unknown rule `reviewed`; the file defines no rules."
    ]
    proc.stop()


def test_no_secret_reaches_the_log(gate, fake):
    """Runs last: the log then holds every test's deliveries, evaluations and failures."""
    repo = new_repo(gate, "leaky", ONE_REVIEW_OR_COMMENT)
    for number in (1, 2):
        fake.open_pr(repo, number, contents={"src/app.py": f"print({number})\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    token = fake.tokens[-1].token
    # An error whose text quotes a credential, as some error bodies do.
    fake.fail("graphql", status=401, body={"message": f"Bad credentials {token}"})
    assert gate.send("pull_request", "opened", repo, 2).status_code == 202
    wait_until(
        lambda: any(r.outcome == "error" for r in gate.runs(repo, 2)),
        timeout=20,
        message=gate.proc.output()[-3000:],
    )
    log = gate.proc.output()
    assert "github:acme/leaky#2: the forge failed (other 401 (GithubException))" in log

    pem_lines = [
        line for line in fake.private_key_pem.splitlines() if line and not line.startswith("-----")
    ]
    authorizations = {r.authorization.split(" ", 1)[1] for r in fake.requests if r.authorization}
    secrets = [
        fake.webhook_secret,
        gate.env["GATEBOT_SECRET_KEY"],
        *pem_lines,
        *(t.token for t in fake.tokens),
        *authorizations,  # installation tokens and App JWTs as sent
    ]
    leaked = [secret[:8] + "…" for secret in secrets if secret in log]
    assert leaked == []
