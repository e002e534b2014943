"""Push times per PR and retargets end to end: `gatebot serve` as a real process against
the fake GitHub and the fake GitLab, signed webhooks.

- A head that leaves and comes back (A → B → A) is judged from when it came
  back: an `LGTM` or an `/gate override` written while B was the head does
  not pass A.
- Push times are per PR: a commit pushed earlier to another PR brings no
  older time along.
- A retargeted PR keeps none of the approvals given for its old base.
- A GitLab approval given before the last push does not count, whatever the
  project's reset-on-push setting.

Each test works in a repository of its own; the services of the module are shared.
"""

from __future__ import annotations

import pytest
from support.e2e import GateService, github_fixtures, next_second
from support.e2e_gitlab import gitlab_fixtures
from support.policies import ONE_APPROVAL

pytestmark = pytest.mark.slow

REVIEW_OR_LGTM = ONE_APPROVAL + """\
    options:
      methods:
        review: true
        comments: ["LGTM"]
"""


gate, fake = github_fixtures("e2e-heads")


def new_repo(gate: GateService, name: str) -> str:
    repo = f"acme/{name}"
    gate.fake.add_repo(
        repo, files={".github/gatebot.yml": REVIEW_OR_LGTM, "src/app.py": "print(1)\n"}
    )
    for login, role in {"bob": "write", "frank": "admin"}.items():
        gate.fake.set_role(repo, login, role)
    return repo


def a_then_b(gate: GateService, repo: str) -> tuple[str, str]:
    """PR #1 opened with head A, then a harmless B pushed: (A, B), both evaluated."""
    fake = gate.fake
    first = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"}).head_sha
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    second = fake.push(repo, 1, contents={"README.md": "typo fixed\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    next_second()
    return first, second


def test_an_lgtm_written_while_another_head_was_pushed_does_not_pass_the_head_that_came_back(
    gate, fake
):
    repo = new_repo(gate, "aba-comment")
    first, second = a_then_b(gate, repo)
    fake.add_comment(repo, 1, "bob", "LGTM")
    gate.deliver("issue_comment", "created", repo, 1)
    assert gate.gate_status(repo, second).state == "success"  # bob looked at B

    next_second()
    fake.force_push_to(repo, 1, first)
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, first)
    assert status.state == "pending"
    assert "bob commented before the last push" in status.description


def test_an_override_written_while_another_head_was_pushed_does_not_pass_the_head_that_came_back(
    gate, fake
):
    repo = new_repo(gate, "aba-override")
    first, _ = a_then_b(gate, repo)
    # Written while B is the head; the bot hears of it only after A came back.
    written = fake.add_comment(repo, 1, "frank", "/gate override B is harmless")
    next_second()
    fake.force_push_to(repo, 1, first)
    gate.deliver("pull_request", "synchronize", repo, 1)
    gate.deliver("issue_comment", "created", repo, 1, comment_id=written.id)
    status = gate.gate_status(repo, first)
    assert status.state == "pending"
    assert not status.description.startswith("overridden")
    replies = [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]
    assert replies and "The override was not applied" in replies[-1]


def test_an_lgtm_written_while_an_unheard_of_head_was_pushed_does_not_pass_the_head_that_came_back(
    gate, fake
):
    # Found by the model (tests/model): B's `synchronize` is lost, so the only news
    # of A's return is a `synchronize` naming the head the bot already has.
    repo = new_repo(gate, "aba-unheard")
    first = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"}).head_sha
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    fake.push(repo, 1, contents={"README.md": "typo fixed\n"})  # B: never delivered
    next_second()
    written = fake.add_comment(repo, 1, "bob", "LGTM")
    next_second()
    fake.force_push_to(repo, 1, first)
    gate.deliver("pull_request", "synchronize", repo, 1)
    gate.deliver("issue_comment", "created", repo, 1, comment_id=written.id)
    status = gate.gate_status(repo, first)
    assert status.state == "pending"
    assert "bob commented before the last push" in status.description


def test_a_head_pushed_earlier_to_another_pr_brings_no_older_push_time(gate, fake):
    repo = new_repo(gate, "per-pr-push-time")
    shared = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    other = fake.open_pr(repo, 2, author="alice", contents={"docs/a.md": "harmless\n"})
    gate.deliver("pull_request", "opened", repo, 2)
    next_second()
    fake.add_comment(repo, 2, "bob", "LGTM")  # bob looked at the harmless head of #2
    gate.deliver("issue_comment", "created", repo, 2)
    assert gate.gate_status(repo, other.head_sha).state == "success"

    next_second()
    fake.force_push_to(repo, 2, shared.head_sha)
    gate.deliver("pull_request", "synchronize", repo, 2)
    # #2's verdict on the commit #1 brought in long before: bob's LGTM predates it.
    assert gate.runs(repo, 2)[-1].summary.startswith(f"pending on {shared.head_sha[:12]}")
    assert gate.gate_status(repo, shared.head_sha).state == "pending"


def test_a_retargeted_pr_keeps_none_of_the_approvals_given_for_its_old_base(gate, fake):
    repo = new_repo(gate, "retarget-approvals")
    fake.commit(repo, "dev", {"src/dev.py": "print('dev')\n"})
    pr = fake.open_pr(repo, 1, author="alice", base="dev", contents={"src/app.py": "print(2)\n"})
    fake.add_review(repo, 1, "bob", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, pr.head_sha, "gatebot: dev").state == "success"

    next_second()
    fake.edit_pr(repo, 1, base_ref="main")
    gate.deliver(
        "pull_request", "edited", repo, 1,
        changes={"base": {"ref": {"from": "dev"}, "sha": {"from": fake.branch_sha(repo, "dev")}}},
    )
    status = gate.gate_status(repo, pr.head_sha, "gatebot: main")
    assert status is not None and status.state == "pending"
    assert "bob approved before the PR was retargeted to main" in status.description


# -- GitLab ---------------------------------------------------------------------------------



lab, fakelab = gitlab_fixtures("e2e-heads-gitlab", names=("lab", "fakelab"))


def test_a_gitlab_approval_given_before_the_last_push_does_not_count(lab, fakelab):
    project = "acme/platform/stale-approval"
    fakelab.add_project(project, default_branch="main",
                        files={".gitlab/gatebot.yml": ONE_APPROVAL, "src/app.py": "1\n"})
    fakelab.set_access(project, "dev", 30)
    assert not fakelab.reset_approvals_on_push  # GitLab keeps the approval across the push
    first = fakelab.open_mr(project, 1, author="alice", source="feature", target="main",
                            contents={"src/f.py": "2\n"}).head_sha
    lab.deliver("merge_request", project, 1, action="open")
    fakelab.approve(project, 1, "dev")
    lab.deliver("merge_request", project, 1, action="approved")
    assert lab.gate_status(project, first).status == "success"

    second = fakelab.push(project, 1, contents={"src/f.py": "3\n"})
    lab.deliver("merge_request", project, 1, action="update")
    assert fakelab.approvals(project, 1) == ["dev"]
    status = lab.gate_status(project, second)
    assert status is not None and status.status == "pending"
    assert "dev approved before the last push" in status.description
