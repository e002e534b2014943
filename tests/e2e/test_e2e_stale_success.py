"""A success left behind is no way around the gate, end to end: `gatebot serve` as a real
process against the fake GitHub, signed webhooks.

When a PR's head leaves A (a push) or its base changes (a retarget), the
success the bot posted on A under the old context is withdrawn (`pending`),
so a head that comes back (A → B → A) or a retarget back finds no old success
for branch protection to read before the bot re-evaluates. And a person who
merges in that window gets no deployment: the recorded verdict predates the
return.

Each test works in a repository of its own; the service of the module is shared.
"""

from __future__ import annotations

import pytest
from support.e2e import GateService, github_fixtures, next_second
from support.policies import ONE_APPROVAL

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
    options:
      methods:
        comments: ["LGTM"]
deploy:
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment: {}
"""


gate, fake = github_fixtures("e2e-stale-success")


def approved_by_comment(gate: GateService, name: str) -> tuple[str, str]:
    """PR #1 into main with head A, approved by bob's `LGTM`: (repository, A)."""
    fake = gate.fake
    repo = f"acme/{name}"
    fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "print(1)\n"})
    fake.add_branch(repo, "dev", "main")
    for login in ("bob", "mia"):
        fake.set_role(repo, login, "write")
    head = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"}).head_sha
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()
    fake.add_comment(repo, 1, "bob", "LGTM")
    gate.deliver("issue_comment", "created", repo, 1)
    assert gate.gate_status(repo, head).state == "success"
    return repo, head


def merged_before_the_bot_looks(
    gate: GateService, repo: str, event: str, action: str, **details
) -> None:
    """The event reaches the web tier (which records it) while the worker has not read
    the PR yet; a person merges it in that window; then the bot carries on."""
    fake = gate.fake
    hold = fake.hold("graphql")  # the worker's read of the PR: one query
    assert gate.send(event, action, repo, 1, **details).status_code == 202
    assert hold.wait_arrived(20), gate.proc.output()[-3000:]
    fake.merge_pr(repo, 1, by="mia")
    hold.release()
    gate.settle(repo, 1)
    gate.deliver("pull_request", "closed", repo, 1)


def not_deployed(gate: GateService, repo: str) -> None:
    fake = gate.fake
    assert [d for d in fake.deployments if d.repo == repo] == []
    said = [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]
    assert len([c for c in said if c.startswith("Not deployed (`production`)")]) == 1


def retarget(gate: GateService, repo: str, to: str, came_from: str) -> dict:
    gate.fake.edit_pr(repo, 1, base_ref=to)
    return {"changes": {"base": {"ref": {"from": came_from},
                                 "sha": {"from": gate.fake.branch_sha(repo, came_from)}}}}


def test_a_success_left_by_a_push_is_withdrawn_and_not_back_when_the_head_returns(gate, fake):
    repo, first = approved_by_comment(gate, "stale-push")
    assert gate.gate_run(repo, first).conclusion == "success"

    next_second()
    fake.push(repo, 1, contents={"README.md": "typo fixed\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    left = gate.gate_status(repo, first)
    assert left.state == "pending"
    assert left.description == "superseded: no longer the head of #1"
    run = gate.gate_run(repo, first)
    assert run.status == "in_progress" and run.conclusion is None

    next_second()
    fake.force_push_to(repo, 1, first)
    # A is back as the head; before the bot has looked, nothing on A says success.
    assert gate.gate_status(repo, first).state == "pending"
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, first)
    assert status.state == "pending"  # bob's LGTM predates A's return
    assert "bob commented before the last push" in status.description


def test_a_merge_right_after_the_head_came_back_is_not_deployed(gate, fake):
    repo, first = approved_by_comment(gate, "stale-push-deploy")
    next_second()
    fake.push(repo, 1, contents={"README.md": "typo fixed\n"})
    gate.deliver("pull_request", "synchronize", repo, 1)
    next_second()
    fake.force_push_to(repo, 1, first)
    merged_before_the_bot_looks(gate, repo, "pull_request", "synchronize")
    not_deployed(gate, repo)


def test_a_success_left_by_a_retarget_is_withdrawn_and_a_merge_after_the_way_back_not_deployed(
    gate, fake
):
    repo, head = approved_by_comment(gate, "stale-retarget")
    next_second()
    gate.deliver("pull_request", "edited", repo, 1, **retarget(gate, repo, "dev", "main"))
    left = gate.gate_status(repo, head)
    assert left.state == "pending" and left.description.startswith(
        "re-evaluating after retarget"
    )
    assert gate.gate_run(repo, head).status == "in_progress"
    assert gate.gate_status(repo, head, "gatebot: dev").state == "pending"

    next_second()
    details = retarget(gate, repo, "main", "dev")
    # Back on main; before the bot has looked, nothing on the head says success there.
    assert gate.gate_status(repo, head).state == "pending"
    merged_before_the_bot_looks(gate, repo, "pull_request", "edited", **details)
    not_deployed(gate, repo)
