"""Comment commands end to end: `gatebot serve` as a real process, the fake GitHub as GitHub,
each command arriving as a signed `issue_comment` webhook.

Each test works in a repository of its own; the service of the module is shared.
"""

from __future__ import annotations

import pytest
from fakegithub import FakeGitHub
from support.e2e import GateService, github_fixtures, next_second
from support.policies import ONE_APPROVAL
from support.processes import wait_until

from bot.keys import PullKey
from bot.store import commands, overrides

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
deploy:
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment: {}
"""


gate, fake = github_fixtures("e2e-commands")


def new_pr(gate: GateService, name: str) -> tuple[str, str]:
    """A repository with people of every role and an evaluated PR #1 in it."""
    fake = gate.fake
    repo = f"acme/{name}"
    fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
    for login, role in {"wes": "write", "max": "maintain", "ada": "admin", "tom": "triage"}.items():
        fake.set_role(repo, login, role)
    pr = fake.open_pr(repo, 1, author="alice", contents={"src/f.py": "2\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    next_second()  # comments are dated to the second: write them after the head was seen
    return repo, pr.head_sha


def comment(gate: GateService, repo: str, who: str, body: str):
    """`who` writes a comment; GitHub sends the webhook; the bot finishes its work."""
    written = gate.fake.add_comment(repo, 1, who, body)
    gate.deliver("issue_comment", "created", repo, 1, comment_id=written.id)
    return written


def reactions(fake: FakeGitHub, repo: str, written) -> list[str]:
    return sorted(r.content for r in fake.reactions(repo, written.id))


def replies(fake: FakeGitHub, repo: str) -> list[str]:
    return [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]


def test_merge_from_a_writer_arms_then_merges_and_a_triager_is_refused(gate, fake):
    repo, head = new_pr(gate, "cmd-merge")
    refused = comment(gate, repo, "tom", "/gate merge")
    assert reactions(fake, repo, refused) == ["-1"]
    assert replies(fake, repo) == [
        "@tom may not run `merge`: it needs write permission or above "
        "(you have triage permission)"
    ]
    armed = comment(gate, repo, "wes", "Looks fine.\n\n/gate merge")
    assert reactions(fake, repo, armed) == ["+1"] and fake.merges == []
    assert "Merge armed" in replies(fake, repo)[-1]
    fake.add_review(repo, 1, "max", "APPROVED")
    gate.deliver("pull_request_review", "submitted", repo, 1)
    (merge,) = [m for m in fake.merges if m.repo == repo]
    assert merge.requested_sha == head


def test_edited_comments_and_bot_comments_never_run_commands(gate, fake):
    repo, head = new_pr(gate, "cmd-ignored")
    plain = comment(gate, repo, "wes", "just a remark")
    fake.edit_comment(repo, plain.id, "/gate hold")
    gate.deliver("issue_comment", "edited", repo, 1, comment_id=plain.id,
                 changes={"body": {"from": "just a remark"}})
    from_bot = comment(gate, repo, "helper[bot]", "/gate hold")
    assert reactions(fake, repo, plain) == [] and reactions(fake, repo, from_bot) == []
    assert replies(fake, repo) == []
    status = gate.gate_status(repo, head)
    assert status is not None and "hold" not in (status.description or "")


def test_override_passes_the_head_until_the_next_push(gate, fake):
    repo, head = new_pr(gate, "cmd-override")
    assert gate.gate_status(repo, head).state == "pending"
    written = comment(gate, repo, "ada", "/gate override the reviewers are out today")
    assert reactions(fake, repo, written) == ["+1"]
    status = gate.gate_status(repo, head)
    assert status.state == "success"
    assert status.description.startswith("overridden by ada: the reviewers are out today")
    assert "Override recorded" in replies(fake, repo)[-1]
    with gate.store.begin() as conn:
        (kept,) = overrides.for_pull(conn, PullKey("github", repo, 1))
        audit = [e for e in commands.audit_entries(conn, repo=repo) if e.command == "override"]
    assert kept.sha == head and [e.outcome for e in audit] == ["ran"]
    new_head = fake.push(repo, 1, pusher="alice")
    gate.deliver("pull_request", "synchronize", repo, 1)
    assert gate.gate_status(repo, new_head).state == "pending"


def test_deploy_asked_twice_and_redelivered_ships_one_deployment(gate, fake):
    repo, head = new_pr(gate, "cmd-deploy")
    merge_sha = fake.merge_pr(repo, 1, by="max")
    gate.deliver("pull_request", "closed", repo, 1)
    assert [d for d in fake.deployments if d.repo == repo] == []
    first = fake.add_comment(repo, 1, "max", "/gate deploy production")
    event, payload = fake.webhook("issue_comment", "created", repo, 1, comment_id=first.id)
    for _ in range(3):  # the same comment under new delivery ids
        assert gate.post(event, payload).status_code == 202
    gate.settle(repo, 1)
    comment(gate, repo, "max", "/gate deploy")
    wait_until(lambda: len(reactions(fake, repo, first)) == 1, timeout=10,
               message="the deploy command got no reaction")
    (deployment,) = [d for d in fake.deployments if d.repo == repo]
    assert deployment.sha == merge_sha and deployment.environment == "prod"
    assert any("already handled (deployed)" in body for body in replies(fake, repo))


def test_the_author_cannot_lift_a_maintainers_hold(gate, fake):
    repo, head = new_pr(gate, "unhold-rank")
    fake.set_role(repo, "alice", "write")
    fake.add_review(repo, 1, "wes", "APPROVED")
    comment(gate, repo, "max", "/gate hold")
    assert "on hold by max" in gate.gate_status(repo, head).description

    lifted = comment(gate, repo, "alice", "/gate unhold")
    assert reactions(fake, repo, lifted) == ["+1"]
    status = gate.gate_status(repo, head)
    assert status.state == "pending" and "on hold by max" in status.description
    assert any(
        body.startswith("@alice ") and "Still on hold by max (maintain)" in body
        for body in replies(fake, repo)
    )

    comment(gate, repo, "max", "/gate unhold")
    assert gate.gate_status(repo, head).state == "success"


def test_a_merge_armed_for_one_base_is_not_carried_to_another_by_a_retarget(gate, fake):
    repo, head = new_pr(gate, "cmd-merge-retarget")
    # `dev` asks for no approval and does not merge by itself; only an arming merges there.
    fake.add_branch(repo, "dev", "main")
    fake.commit(repo, "dev", {".github/gatebot.yml": POLICY.replace("approvals: 1", "approvals: 0")})
    armed = comment(gate, repo, "wes", "/gate merge")  # for main, once it is approved
    assert reactions(fake, repo, armed) == ["+1"]
    assert "Merge armed" in replies(fake, repo)[-1]

    next_second()
    fake.edit_pr(repo, 1, base_ref="dev")  # the author retargets to the lax branch
    gate.deliver(
        "pull_request", "edited", repo, 1,
        changes={"base": {"ref": {"from": "main"}, "sha": {"from": fake.branch_sha(repo, "main")}}},
    )
    status = gate.gate_status(repo, head, "gatebot: dev")
    assert status is not None and status.state == "success"
    assert [m for m in fake.merges if m.repo == repo] == []
    # Armed again for the new base, by a writer who saw it: that arming merges.
    next_second()
    comment(gate, repo, "wes", "/gate merge")
    (merge,) = [m for m in fake.merges if m.repo == repo]
    assert merge.requested_sha == head
