"""The GitLab gate end to end: `gatebot serve` as a real process configured for GitLab
only, the fake GitLab as GitLab, webhooks with the token GitLab sends.

Each test works in a project of its own; the service of the module is shared.
"""

from __future__ import annotations

import pytest
import requests
from fakegitlab import FakeGitLab
from support.e2e import next_second
from support.e2e_gitlab import gitlab_fixtures
from support.policies import NO_APPROVAL, ONE_APPROVAL

from bot.store import evaluations

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
checks: ["unit"]
merge:
  auto: true
  trigger: {labels: [automerge]}
  method: squash
deploy:
  - name: production
    branches: [main]
    via:
      gitlab_pipeline:
        variables: {DEPLOY_SHA: "{merge_sha}", MR: "{number}"}
"""


gate, fake = gitlab_fixtures("e2e-gitlab")


def new_project(fake: FakeGitLab, name: str, policy: str = POLICY) -> str:
    project = f"acme/platform/{name}"  # a nested group, as GitLab allows
    fake.add_project(project, default_branch="main",
                     files={".gitlab/gatebot.yml": policy, "src/app.py": "1\n"})
    for login, level in {"dev": 30, "lead": 40, "owner": 50, "rep": 20}.items():
        fake.set_access(project, login, level)
    return project


def test_a_merge_request_gets_an_explained_status_that_follows_its_approvals(gate, fake):
    project = new_project(fake, "verdict")
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    status = gate.gate_status(project, mr.head_sha)
    assert status is not None and status.status == "pending"
    assert "needs 1 more approval" in status.description
    assert status.target_url and f"/details/gitlab/acme/platform/verdict/1?sha={mr.head_sha}&sig=" in status.target_url
    page = requests.get(status.target_url, timeout=10)
    assert page.status_code == 200 and "needs 1 more approval" in page.text
    assert f'href="{fake.url}/{project}/-/merge_requests/1"' in page.text
    base = fake.branch_sha(project, "main")
    assert f'href="{fake.url}/{project}/-/blob/{base}/.gitlab/gatebot.yml"' in page.text

    fake.approve(project, 1, "dev")
    fake.set_status(project, mr.head_sha, "unit", "success", author="ci-user")
    gate.deliver("merge_request", project, 1, action="approved")
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "success"
    assert fake.merges == []  # no automerge label


def test_the_policy_comes_from_the_target_branch_not_the_merge_request(gate, fake):
    project = new_project(fake, "base-policy")
    loose = "version: 1\npolicy:\n  approval: [nothing]\nrules:\n  - name: nothing\n" \
        "    requires:\n      approvals: 0\n"
    mr = fake.open_mr(project, 1, author="mallory", source="loosen", target="main",
                      contents={".gitlab/gatebot.yml": loose})
    gate.deliver("merge_request", project, 1, action="open")
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "pending" and "reviewed: needs 1 more approval" in status.description
    encoded = project.replace("/", "%2F")
    refs = [r.query["ref"][0] for r in fake.requests
            if encoded in r.path and r.path.endswith("gatebot.yml/raw")]
    # Read at the target branch to govern; at the MR's head only to be validated.
    assert refs == ["refs/heads/main", mr.head_sha]


def test_a_policy_pushed_to_the_target_governs_even_when_its_push_hook_is_lost(gate, fake):
    """Found by the model (tests/model): the bot kept the target's policy until a push
    hook said the branch moved; with that hook lost, an approval passed the gate under
    the old policy though the new one requires `unit`."""
    project = new_project(fake, "lost-policy-push", policy=POLICY.replace('checks: ["unit"]\n', ""))
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    fake.commit(project, "main", {".gitlab/gatebot.yml": POLICY}, author="owner")  # hook lost
    next_second()
    fake.approve(project, 1, "dev")
    gate.deliver("merge_request", project, 1, action="approved")
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "pending" and "unit" in status.description


def test_a_pusher_whose_push_hooks_were_lost_does_not_approve_their_own_push(gate, fake):
    """Found with the model's GitLab driver (tests/model), by a sequence written by hand
    after a run: `dev` pushes to alice's merge request, GitLab's
    push and update hooks for it are both lost, the bot reads the new head on another
    event, and `dev`'s own approval then passed the gate: the spec says whoever pushed
    never counts. GitLab's "added 1 commit" system note, written as `dev`, tells."""
    project = new_project(fake, "lost-pusher", policy=POLICY.replace('checks: ["unit"]\n', ""))
    fake.open_mr(project, 1, author="alice", source="feature", target="main",
                 contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    head = fake.push(project, 1, pusher="dev", contents={"src/f.py": "evil\n"})  # hooks lost
    fake.edit_mr(project, 1, by="lead", labels=["reviewing"])
    gate.deliver("merge_request", project, 1, action="update")  # the bot reads the new head
    next_second()
    fake.approve(project, 1, "dev")
    gate.deliver("merge_request", project, 1, action="approved")
    status = gate.gate_status(project, head)
    assert status.status == "pending" and "dev" in status.description


def test_automerge_merges_the_approved_head_then_deploys_through_a_pipeline(gate, fake):
    project = new_project(fake, "merge-deploy")
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"}, labels=["automerge"])
    gate.deliver("merge_request", project, 1, action="open")
    # Approved after the bot recorded the head: GitLab's approvals count by their time.
    fake.approve(project, 1, "lead")
    fake.set_status(project, mr.head_sha, "unit", "success", author="ci-user")
    gate.deliver("merge_request", project, 1, action="approved")
    (merge,) = [m for m in fake.merges if m.project == project]
    assert merge.requested_sha == mr.head_sha and merge.squash
    (pipeline,) = [p for p in fake.pipelines_created if p.project == project]
    assert pipeline.ref == "main"
    assert pipeline.variables == {"DEPLOY_SHA": fake.mr(project, 1).merge_commit_sha, "MR": "1"}
    gate.deliver("merge_request", project, 1, action="merge")
    assert len([p for p in fake.pipelines_created if p.project == project]) == 1


def test_a_gitlab_service_account_neither_approves_nor_runs_commands(gate, fake):
    """Found by the model (tests/model): the spec ignores bots' approvals and commands,
    but a GitLab service account (`bot: true`, any username) with Developer access
    approved and ran `/gate merge`."""
    project = new_project(fake, "service-account", policy=POLICY.replace('checks: ["unit"]\n', ""))
    fake.add_user("deps-bot", bot=True)
    fake.set_access(project, "deps-bot", 30)
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    next_second()
    fake.approve(project, 1, "deps-bot")
    gate.deliver("merge_request", project, 1, action="approved")
    assert gate.gate_status(project, mr.head_sha).status == "pending"
    fake.approve(project, 1, "lead")
    gate.deliver("merge_request", project, 1, action="approved")
    note = fake.add_note(project, 1, "deps-bot", "/gate merge")
    gate.deliver("note", project, 1, note_id=note.id)
    assert [m for m in fake.merges if m.project == project] == []
    assert not [a for a in fake.award_emoji(project, 1, note.id) if a.name == "thumbsup"]


def test_a_branch_anyone_can_create_declares_no_deploys_of_its_own(gate, fake):
    """`evil-base`'s own policy merges anything and deploys it: the bot may merge into
    that branch, but deploys come from the default branch's policy alone."""
    project = new_project(fake, "evil-base")
    fake.add_branch(project, "evil-base", "main")
    fake.commit(project, "evil-base", {".gitlab/gatebot.yml": NO_APPROVAL + """\
merge: {auto: true}
deploy:
  - name: production
    branches: ["*"]
    via: {gitlab_pipeline: {variables: {DEPLOY_SHA: "{merge_sha}"}}}
"""})
    fake.open_mr(project, 1, author="mallory", source="evil", target="evil-base",
                 contents={"src/app.py": "0\n"})
    gate.deliver("merge_request", project, 1, action="open")
    assert [m.project for m in fake.merges].count(project) == 1
    gate.deliver("merge_request", project, 1, action="merge")
    assert [p for p in fake.pipelines_created if p.project == project] == []


def test_comment_commands_on_gitlab_are_permission_checked_and_answered(gate, fake):
    project = new_project(fake, "commands")
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    next_second()
    refused = fake.add_note(project, 1, "rep", "/gate hold")
    gate.deliver("note", project, 1, note_id=refused.id)
    held = fake.add_note(project, 1, "dev", "/gate hold")
    gate.deliver("note", project, 1, note_id=held.id)
    assert [a.name for a in fake.award_emoji(project, 1, refused.id)] == ["thumbsdown"]
    assert [a.name for a in fake.award_emoji(project, 1, held.id)] == ["thumbsup"]
    bot_notes = [n.body for n in fake.notes(project, 1) if n.author == fake.bot_username]
    assert bot_notes == [
        "@rep may not run `hold`: it needs write permission or above "
        "(you have triage permission)"
    ]
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "pending" and "on hold by dev" in status.description
    with gate.store.begin() as conn:
        posted = evaluations.latest_for_pull(conn, "gitlab", project, 1)
    assert posted is not None and "on hold by dev" in posted.description
