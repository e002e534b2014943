"""GitLab bypasses end to end: a real `gatebot serve` against the fake GitLab.

Each test replays one way around the gate found on the merged GitLab work:

- an approval GitLab drops without a webhook or a touch of the MR's
  `updated_at` (a reviewer's "request changes") kept counting from the
  stored MR parts;
- a delivery naming the project under another spelling of its path (GitLab
  finds projects by path case-insensitively, and follows the redirect a
  renamed or transferred project leaves) was judged under a key of its own,
  without the holds, overrides, tampering marks and head history of the
  real one;
- a note edited by a maintainer (GitLab lets them edit anyone's note) and
  retold as new was confirmed by the API and ran with its author's rights.
"""

from __future__ import annotations

import pytest
from support.e2e import next_second
from support.e2e_gitlab import GitLabGate, gitlab_fixtures
from support.policies import ONE_APPROVAL

from bot.keys import PullKey
from bot.store import holds

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
checks: ["unit"]
merge:
  auto: true
"""


gate, fake = gitlab_fixtures("e2e-gitlab-bypasses")


def new_project(gate: GitLabGate, name: str) -> str:
    project = f"acme/{name}"  # under the group connected at start
    gate.fake.add_project(project, default_branch="main",
                          files={".gitlab/gatebot.yml": POLICY, "src/app.py": "1\n"})
    for login, level in {"dev": 30, "lead": 40, "owner": 50}.items():
        gate.fake.set_access(project, login, level)
    return project


def merges_of(gate: GitLabGate, project: str) -> list[object]:
    return [m for m in gate.fake.merges if m.project.lower() == project.lower()]


def test_an_approval_dropped_by_request_changes_stops_counting_at_once(gate, fake):
    project = new_project(gate, "revoked")
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    next_second()
    fake.approve(project, 1, "lead")
    gate.deliver("merge_request", project, 1, action="approved")
    assert "unit" in gate.gate_status(project, mr.head_sha).description  # waits for CI only
    # The reviewer asks for changes: GitLab drops the approval silently (no
    # webhook, the MR's updated_at unchanged). Then CI reports.
    fake.request_changes(project, 1, "lead")
    fake.set_status(project, mr.head_sha, "unit", "success")
    gate.deliver("pipeline", project, 1, status="success")
    assert merges_of(gate, project) == []
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "pending" and "needs 1 more approval" in status.description


def test_a_delivery_naming_the_project_in_other_letters_is_judged_as_the_project(gate, fake):
    project = new_project(gate, "held")
    alias = project.upper()  # GitLab's API finds the same project under `ACME/HELD`

    def retold() -> None:
        """The group's secret, the merge request's update retold under `alias`."""
        event, payload = fake.webhook("merge_request", project, 1, action="update")
        payload["project"]["path_with_namespace"] = alias
        assert gate.post(event, payload).status_code == 202
        gate.settle(alias, 1)

    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    retold()  # the alias first sees the head now, before the approval
    hold = fake.add_note(project, 1, "owner", "/gate hold")
    gate.deliver("note", project, 1, note_id=hold.id)
    next_second()
    fake.approve(project, 1, "lead")
    fake.set_status(project, mr.head_sha, "unit", "success")
    gate.deliver("merge_request", project, 1, action="approved")
    assert gate.gate_status(project, mr.head_sha).status == "pending"  # held
    assert merges_of(gate, project) == []

    # Under the alias the store knows no hold: the gate passed and the bot merged.
    retold()
    assert merges_of(gate, project) == []
    status = gate.gate_status(project, mr.head_sha)
    assert status.status == "pending" and "hold" in status.description
    with gate.store.begin() as conn:
        assert holds.for_pull(conn, PullKey("gitlab", project, 1))
    assert "is not this merge request's project" in gate.proc.output()


def test_a_note_a_maintainer_edited_and_retold_as_new_runs_nothing(gate, fake):
    project = new_project(gate, "edited")
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    # The owner's note from before the hook: the bot never received it.
    old = fake.add_note(project, 1, "owner", "Thanks, will look at it next week.")
    gate.deliver("merge_request", project, 1, action="open")
    hold = fake.add_note(project, 1, "owner", "/gate hold")
    gate.deliver("note", project, 1, note_id=hold.id)
    next_second()
    fake.approve(project, 1, "lead")
    fake.set_status(project, mr.head_sha, "unit", "success")
    gate.deliver("merge_request", project, 1, action="approved")
    assert gate.gate_status(project, mr.head_sha).status == "pending"  # held

    # A maintainer edits the owner's old note and tells the bot it is new, as
    # the owner wrote it: author, text and time all match the API.
    next_second()
    fake.edit_note(project, old.id, "/gate unhold")
    event, payload = fake.webhook("note", project, 1, note_id=old.id)
    payload["object_attributes"]["action"] = "create"
    assert gate.post(event, payload).status_code == 202
    gate.settle(project, 1)
    with gate.store.begin() as conn:
        assert holds.for_pull(conn, PullKey("gitlab", project, 1))
    assert merges_of(gate, project) == []
    assert "grants nothing: it was edited" in gate.proc.output()
