"""The fake GitLab, driven by the real python-gitlab client over HTTP."""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path

import gitlab
import pytest
import requests
from fakegitlab import DEVELOPER, GUEST, MAINTAINER, REPORTER, FakeGitLab

PROJECT = "acme/api"
POLICY = "version: 1\nrules: main\n"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gitlab"
MERGE = "PUT /projects/:id/merge_requests/:iid/merge"


def client(fake: FakeGitLab, token: str | None = None) -> gitlab.Gitlab:
    return gitlab.Gitlab(fake.url, private_token=token or fake.token, retry_transient_errors=False)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / "webhooks" / name).read_text())


@pytest.fixture
def fake(fake_gitlab: FakeGitLab) -> FakeGitLab:
    """acme/api with a policy and a module on main, and !7 from `feature`."""
    fake_gitlab.add_project(
        PROJECT,
        files={".gitlab/gatebot.yml": POLICY, "src/app.py": "1\n", "b.py": "b\n", "old.txt": "o\n"},
    )
    fake_gitlab.set_access(PROJECT, "mia", DEVELOPER)
    fake_gitlab.open_mr(
        PROJECT,
        7,
        author="alice",
        source="feature",
        files=[
            "src/app.py",
            {"path": "b.py", "deleted": True},
            {"path": "new.txt", "old_path": "old.txt"},
        ],
        contents={"src/f.py": "2\n"},
        labels=["backend"],
        title="Add the feature",
        description="Why it matters",
    )
    return fake_gitlab


@pytest.fixture
def gl(fake: FakeGitLab) -> gitlab.Gitlab:
    return client(fake)


# -- authentication and users -------------------------------------------------


def test_the_token_user_is_the_bot_and_urls_point_at_the_fake(
    fake: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python-gitlab warns on foreign base URLs
        gl.auth()
    assert gl.user is not None
    assert gl.user.username == fake.bot_username == "gatebot-bot"
    assert gl.user.bot is True
    assert fake.requests_for("GET /user")[0].user == "gatebot-bot"


def test_requests_without_a_valid_token_answer_401(fake: FakeGitLab) -> None:
    with pytest.raises(gitlab.GitlabAuthenticationError) as missing:
        gitlab.Gitlab(fake.url, retry_transient_errors=False).projects.get(PROJECT)
    with pytest.raises(gitlab.GitlabAuthenticationError):
        client(fake, "glpat-wrong").projects.get(PROJECT)
    bearer = gitlab.Gitlab(fake.url, oauth_token=fake.token, retry_transient_errors=False)

    assert missing.value.response_code == 401
    assert bearer.projects.get(PROJECT).path_with_namespace == PROJECT
    assert [r.status for r in fake.requests_for("GET /projects/:id")] == [401, 401, 200]


def test_users_lookup_by_username(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    found = gl.users.list(username="mia")
    assert [u.username for u in found] == ["mia"]
    assert found[0].id == fake.add_user("mia").id
    assert gl.users.list(username="nobody") == []


# -- projects and members ---------------------------------------------------------


def test_project_by_path_and_by_id(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.set_project(PROJECT, merge_method="ff", squash_option="always")
    project = gl.projects.get(PROJECT)
    again = gl.projects.get(project.id)

    assert again.path_with_namespace == project.path_with_namespace == PROJECT
    assert project.default_branch == "main"
    assert (project.merge_method, project.squash_option) == ("ff", "always")
    assert project.web_url == f"{fake.url}/acme/api"
    assert project.namespace["full_path"] == "acme"
    assert project.permissions["project_access"]["access_level"] == MAINTAINER


def test_projects_the_caller_cannot_see_answer_404(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.add_project("acme/secret", bot_access=None)
    for name in ("acme/secret", "acme/none"):
        with pytest.raises(gitlab.GitlabGetError) as error:
            gl.projects.get(name)
        assert error.value.response_code == 404
        assert error.value.error_message == "404 Project Not Found"


def test_members_all_include_inherited_access(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.add_project("acme/backend/svc")
    fake.add_group("acme", members={"owner": 50, "mia": REPORTER})
    fake.add_group("acme/backend", members={"lee": MAINTAINER})
    project = gl.projects.get("acme/backend/svc")
    lee, mia, owner = (fake.add_user(u).id for u in ("lee", "mia", "owner"))

    assert project.members_all.get(lee).access_level == MAINTAINER
    assert project.members_all.get(owner).access_level == 50
    assert (
        gl.projects.get(PROJECT).members_all.get(mia).access_level == DEVELOPER
    )  # the highest wins
    group = gl.groups.get("acme/backend", lazy=True)
    assert group.members_all.get(lee).username == "lee"
    assert group.members_all.get(mia).access_level == REPORTER
    with pytest.raises(gitlab.GitlabGetError) as error:
        gl.groups.get("acme", lazy=True).members_all.get(lee)
    assert error.value.error_message == "404 Not found"
    assert fake.requests_for("GET /groups/:id/members/all/:user_id")[0].path.startswith(
        "/api/v4/groups/acme%2Fbackend/"
    )


# -- merge requests ---------------------------------------------------------------


def test_merge_request_carries_the_state(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7)
    state = fake.mr(PROJECT, 7)

    assert (mr.iid, mr.title, mr.description, mr.state) == (
        7,
        "Add the feature",
        "Why it matters",
        "opened",
    )
    assert (mr.source_branch, mr.target_branch) == ("feature", "main")
    assert mr.sha == state.head_sha == fake.branch_sha(PROJECT, "feature")
    assert mr.diff_refs == {
        "base_sha": fake.branch_sha(PROJECT, "main"),
        "head_sha": state.head_sha,
        "start_sha": fake.branch_sha(PROJECT, "main"),
    }
    assert (mr.draft, mr.work_in_progress, mr.labels) == (False, False, ["backend"])
    assert mr.author["username"] == "alice"
    assert (mr.detailed_merge_status, mr.merge_status, mr.has_conflicts) == (
        "mergeable",
        "can_be_merged",
        False,
    )
    assert (mr.merged_at, mr.merge_commit_sha, mr.changes_count) == (None, None, "4")
    assert mr.web_url == f"{fake.url}/acme/api/-/merge_requests/7"


def test_merge_request_list_filters(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.add_branch(PROJECT, "release")
    fake.open_mr(PROJECT, 8, target="release")
    fake.open_mr(PROJECT, 9)
    fake.edit_mr(PROJECT, 9, state="closed")
    project = gl.projects.get(PROJECT, lazy=True)

    opened = project.mergerequests.list(state="opened", target_branch="main", get_all=True)
    assert [m.iid for m in opened] == [7]
    assert opened[0].sha == fake.mr(PROJECT, 7).head_sha
    assert [m.iid for m in project.mergerequests.list(state="all", get_all=True)] == [9, 8, 7]


def test_diffs_are_computed_from_the_trees_and_paginate(
    fake: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    project = gl.projects.get(PROJECT, lazy=True)
    diffs = gl.http_list(
        f"/projects/{project.encoded_id}/merge_requests/7/diffs", get_all=True, per_page=2
    )
    by_path = {d["new_path"]: d for d in diffs}
    pages = fake.requests_for("GET /projects/:id/merge_requests/:iid/diffs")

    assert sorted(by_path) == ["b.py", "new.txt", "src/app.py", "src/f.py"]
    assert by_path["b.py"]["deleted_file"] and by_path["b.py"]["diff"] == "@@ -1 +0,0 @@\n-b\n"
    assert by_path["new.txt"]["renamed_file"] and by_path["new.txt"]["old_path"] == "old.txt"
    assert by_path["src/f.py"]["new_file"]
    assert by_path["src/app.py"]["diff"] == "@@ -1 +1,2 @@\n 1\n+changed by !7\n"
    assert len(pages) == 2
    assert pages[0].response_headers["X-Total"] == "4"
    assert pages[0].response_headers["X-Next-Page"] == "2"
    assert pages[1].response_headers["X-Next-Page"] == ""


def test_commits_newest_first_with_parents(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    first = fake.mr(PROJECT, 7).head_sha
    second = fake.push(PROJECT, 7, pusher="bob", message="Fix it")
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7, lazy=True)
    commits = list(mr.commits(get_all=True))

    assert [c.id for c in commits] == [second, first]
    assert commits[0].parent_ids == [first]
    assert (commits[0].author_name, commits[0].author_email) == ("Bob", "bob@example.com")
    assert commits[0].title == commits[0].message == "Fix it"


def test_files_raw_and_json_at_a_ref(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    project = gl.projects.get(PROJECT, lazy=True)
    head = fake.mr(PROJECT, 7).head_sha

    assert project.files.raw(file_path=".gitlab/gatebot.yml", ref="main") == POLICY.encode()
    assert project.files.raw(file_path="src/f.py", ref=head) == b"2\n"
    shown = project.files.get(file_path="src/app.py", ref="feature")
    assert shown.decode() == b"1\nchanged by !7\n"
    assert (shown.commit_id, shown.last_commit_id) == (head, head)
    with pytest.raises(gitlab.GitlabGetError) as missing:
        project.files.raw(file_path="src/f.py", ref="main")
    assert missing.value.error_message == "404 File Not Found"
    with pytest.raises(gitlab.GitlabGetError) as no_ref:
        project.files.raw(file_path="src/f.py", ref="nope")
    assert no_ref.value.error_message == "404 Commit Not Found"


# -- approvals, notes, emoji ------------------------------------------------------


def test_approvals_and_approval_state(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.set_project(PROJECT, approvals_required=2)
    fake.approve(PROJECT, 7, "mia")
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7, lazy=True)

    approvals = mr.approvals.get()
    assert [a["user"]["username"] for a in approvals.approved_by] == ["mia"]
    assert (approvals.approvals_required, approvals.approvals_left) == (2, 1)
    assert mr.approval_state.get().rules[0]["approved"] is False
    assert (
        gl.projects.get(PROJECT, lazy=True).mergerequests.get(7).detailed_merge_status
        == "not_approved"
    )

    fake.push(PROJECT, 7)
    assert fake.approvals(PROJECT, 7) == ["mia"]  # GitLab's default keeps approvals
    fake.reset_approvals_on_push = True
    head = fake.push(PROJECT, 7)
    assert mr.approvals.get().approved_by == []

    as_lee = client(fake, fake.add_token("lee")).projects.get(PROJECT, lazy=True)
    fake.set_access(PROJECT, "lee", MAINTAINER)
    as_lee.mergerequests.get(7, lazy=True).approve(sha=head)
    assert fake.approvals(PROJECT, 7) == ["lee"]
    fake.unapprove(PROJECT, 7, "lee")
    assert fake.approvals(PROJECT, 7) == []


def test_notes_create_list_and_edit(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    theirs = fake.add_note(PROJECT, 7, "carol", "/gate hold")
    fake.add_system_note(PROJECT, 7, "added 1 commit")
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7, lazy=True)
    mine = mr.notes.create({"body": "Gate: waiting"})

    ordered = mr.notes.list(sort="asc", order_by="created_at", get_all=True, per_page=1)
    assert [n.id for n in ordered] == [n.id for n in fake.notes(PROJECT, 7)]
    assert [n.id for n in mr.notes.list(get_all=True)][0] == mine.id  # newest first by default
    assert mine.author["username"] == "gatebot-bot"
    assert mine.created_at == fake.notes(PROJECT, 7)[-1].created_at
    assert len(theirs.created_at) == len("2013-10-02T08:57:14.000Z")
    assert [n.system for n in ordered] == [False, True, False]
    assert gl.projects.get(PROJECT, lazy=True).mergerequests.get(7).user_notes_count == 2

    mine.body = "Gate: passed"
    mine.save()
    assert fake.notes(PROJECT, 7)[-1].body == "Gate: passed"
    other = mr.notes.get(theirs.id)
    other.body = "rewritten"
    with pytest.raises(gitlab.GitlabUpdateError) as error:
        other.save()
    assert error.value.response_code == 403


def test_award_emoji_on_a_note_and_the_duplicate_answer(
    fake: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    note = fake.add_note(PROJECT, 7, "carol", "/gate approve")
    shown = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7, lazy=True).notes.get(note.id)

    award = shown.awardemojis.create({"name": "eyes"})
    with pytest.raises(gitlab.GitlabCreateError) as duplicate:
        shown.awardemojis.create({"name": "eyes"})

    assert (award.name, award.user["username"], award.awardable_type) == (
        "eyes",
        "gatebot-bot",
        "Note",
    )
    assert duplicate.value.response_code == 404
    assert duplicate.value.error_message == "404 Award Emoji Name has already been taken Not Found"
    assert [(a.name, a.user) for a in fake.award_emoji(PROJECT, 7, note.id)] == [
        ("eyes", "gatebot-bot")
    ]
    assert [a.name for a in shown.awardemojis.list(get_all=True)] == ["eyes"]


# -- commit statuses and pipelines ------------------------------------------------


def test_commit_status_state_machine(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    sha = fake.mr(PROJECT, 7).head_sha
    statuses = gl.projects.get(PROJECT, lazy=True).commits.get(sha, lazy=True).statuses

    pending = statuses.create({"state": "pending", "name": "gatebot", "description": "waiting"})
    with pytest.raises(gitlab.GitlabCreateError) as again:
        statuses.create({"state": "pending", "name": "gatebot"})
    running = statuses.create({"state": "running", "name": "gatebot"})
    with pytest.raises(gitlab.GitlabCreateError) as running_again:
        statuses.create({"state": "running", "name": "gatebot"})
    done = statuses.create({"state": "success", "name": "gatebot", "target_url": "http://x/7"})
    repeated = statuses.create({"state": "success", "name": "gatebot"})

    assert again.value.response_code == 400
    assert again.value.error_message == (
        'Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")'
    )
    assert running_again.value.error_message.startswith(
        "Cannot transition status via :run from :running"
    )
    assert pending.id == running.id == done.id  # an open status moves along
    assert repeated.id != done.id  # a finished one is never reused
    assert (done.status, done.ref, done.author["username"]) == ("success", "feature", "gatebot-bot")
    assert [s.id for s in statuses.list(get_all=True)] == [repeated.id]
    assert [s.id for s in statuses.list(get_all=True, all=True)] == [done.id, repeated.id]


def test_statuses_of_others_and_the_read_side(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    sha = fake.mr(PROJECT, 7).head_sha
    fake.set_status(PROJECT, sha, "ci/test", "running", author="ci-user")
    fake.set_status(PROJECT, sha, "ci/test", "failed", author="ci-user", description="boom")
    listed = (
        gl.projects.get(PROJECT, lazy=True).commits.get(sha, lazy=True).statuses.list(get_all=True)
    )

    assert [(s.name, s.status, s.description, s.author["username"]) for s in listed] == [
        ("ci/test", "failed", "boom", "ci-user")
    ]
    assert [(s.name, s.status, s.author) for s in fake.statuses(PROJECT, sha)] == [
        ("ci/test", "failed", "ci-user")
    ]
    with pytest.raises(gitlab.GitlabListError) as unknown:
        gl.projects.get(PROJECT, lazy=True).commits.get("f" * 40, lazy=True).statuses.list()
    assert unknown.value.error_message == "404 Commit Not Found"


def test_pipelines_created_with_variables(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    project = gl.projects.get(PROJECT, lazy=True)
    pipeline = project.pipelines.create(
        {"ref": "main", "variables": [{"key": "DEPLOY", "value": "prod"}]}
    )
    created = fake.pipelines_created

    assert [(p.project, p.ref, p.variables, p.id) for p in created] == [
        (PROJECT, "main", {"DEPLOY": "prod"}, pipeline.id)
    ]
    assert pipeline.sha == fake.branch_sha(PROJECT, "main")
    assert [p.id for p in project.pipelines.list(sha=pipeline.sha, get_all=True)] == [pipeline.id]
    with pytest.raises(gitlab.GitlabCreateError):
        project.pipelines.create({"ref": "no-such-branch"})


# -- merging ------------------------------------------------------------------------


def test_merge_with_the_head_sha_squash_and_branch_removal(
    fake: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    head = fake.mr(PROJECT, 7).head_sha
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7)
    mr.merge(sha=head, squash=True, should_remove_source_branch=True)
    state = fake.mr(PROJECT, 7)

    assert (mr.state, state.state, mr.merge_commit_sha) == (
        "merged",
        "merged",
        state.merge_commit_sha,
    )
    assert mr.squash_commit_sha == state.squash_commit_sha is not None
    assert fake.branch_sha(PROJECT, "main") == state.merge_commit_sha
    assert fake.file(PROJECT, "main", "src/f.py") == "2\n"
    assert fake.file(PROJECT, "main", "b.py") is None
    [record] = fake.merges
    assert (record.project, record.iid, record.requested_sha, record.squash) == (
        PROJECT,
        7,
        head,
        True,
    )
    assert (record.merge_commit_sha, record.should_remove_source_branch) == (
        state.merge_commit_sha,
        True,
    )
    assert fake.deleted_branches == [(PROJECT, "feature")]
    assert mr.diff_refs["head_sha"] == head  # a merged request keeps its diff
    assert gl.projects.get(PROJECT, lazy=True).mergerequests.get(7).changes_count == "4"


def test_merge_refusals(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    mergerequests = gl.projects.get(PROJECT, lazy=True).mergerequests
    stale = fake.mr(PROJECT, 7).head_sha
    head = fake.push(PROJECT, 7)

    def refusal(iid: int, **options: object) -> tuple[int, str]:
        with pytest.raises(gitlab.GitlabMRClosedError) as error:
            mergerequests.get(iid, lazy=True).merge(**options)
        return error.value.response_code, error.value.error_message

    assert refusal(7, sha=stale) == (409, f"SHA does not match HEAD of source branch: {head}")
    fake.edit_mr(PROJECT, 7, draft=True)
    assert refusal(7) == (405, "405 Method Not Allowed")
    fake.edit_mr(PROJECT, 7, draft=False, state="closed")
    assert refusal(7) == (405, "405 Method Not Allowed")
    fake.open_mr(PROJECT, 8, contents={"src/app.py": "mine\n"})
    fake.commit(PROJECT, "main", {"src/app.py": "theirs\n"})
    assert mergerequests.get(8).detailed_merge_status == "conflict"
    assert refusal(8) == (422, "Branch cannot be merged")
    fake.set_merge_status(PROJECT, 8, "ci_must_pass")
    assert refusal(8) == (405, "405 Method Not Allowed")
    assert fake.merges == []


def test_merge_needs_developer_access(fake: FakeGitLab) -> None:
    fake.set_access(PROJECT, "rita", REPORTER)
    fake.set_access(PROJECT, "gus", GUEST)
    for user in ("rita", "gus"):
        mr = (
            client(fake, fake.add_token(user)).projects.get(PROJECT, lazy=True).mergerequests.get(7)
        )
        with pytest.raises(gitlab.GitlabAuthenticationError) as error:
            mr.merge()
        assert error.value.error_message == "401 Unauthorized"
    mr = client(fake, fake.add_token("mia")).projects.get(PROJECT, lazy=True).mergerequests.get(7)
    mr.merge()
    assert fake.merges[0].merged_by == "mia"
    assert fake.mr(PROJECT, 7).merged_by == "mia"


def test_fast_forward_project_rebases_then_merges(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.set_project(PROJECT, merge_method="ff")
    fake.commit(PROJECT, "main", {"docs.md": "moved on\n"})
    mr = gl.projects.get(PROJECT, lazy=True).mergerequests.get(7)
    old_head = mr.sha
    assert mr.detailed_merge_status == "need_rebase"

    assert mr.rebase() == {"rebase_in_progress": True}
    rebased = gl.projects.get(PROJECT, lazy=True).mergerequests.get(
        7, include_rebase_in_progress=True
    )
    [record] = fake.rebases
    assert rebased.rebase_in_progress is False
    assert rebased.sha == record.new_head_sha != old_head
    assert rebased.detailed_merge_status == "mergeable"
    assert fake.file(PROJECT, rebased.sha, "docs.md") == "moved on\n"

    rebased.merge(sha=rebased.sha)
    assert rebased.merge_commit_sha is None  # fast-forward: no merge commit
    assert fake.branch_sha(PROJECT, "main") == rebased.sha


def test_set_merge_status_and_branch_deletion(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    project = gl.projects.get(PROJECT, lazy=True)
    fake.set_merge_status(PROJECT, 7, "checking")
    assert project.mergerequests.get(7).detailed_merge_status == "checking"
    fake.set_merge_status(PROJECT, 7, "cannot_be_merged")
    conflicted = project.mergerequests.get(7)
    assert (conflicted.detailed_merge_status, conflicted.has_conflicts) == ("conflict", True)

    fake.add_branch(PROJECT, "stale")
    project.branches.delete("stale")
    assert fake.branch_sha(PROJECT, "stale") is None
    assert fake.deleted_branches == [(PROJECT, "stale")]
    with pytest.raises(gitlab.GitlabDeleteError) as protected:
        project.branches.delete("main")
    assert protected.value.response_code == 405


# -- webhooks -----------------------------------------------------------------------


def test_merge_request_hooks_follow_the_fixture_and_the_state(fake: FakeGitLab) -> None:
    template = fixture("merge_request.json")
    event, opened = fake.webhook("merge_request", PROJECT, 7, action="open")
    attributes = opened["object_attributes"]

    assert event == "Merge Request Hook"
    assert set(opened) == set(template)
    assert set(attributes) == set(template["object_attributes"]) | {"draft"}
    assert (attributes["iid"], attributes["action"], attributes["state"]) == (7, "open", "opened")
    assert attributes["last_commit"]["id"] == fake.mr(PROJECT, 7).head_sha
    assert attributes["created_at"].endswith("Z") and "." not in attributes["created_at"]
    assert opened["project"]["path_with_namespace"] == PROJECT
    assert opened["user"]["username"] == "alice"
    assert [label["title"] for label in opened["labels"]] == ["backend"]
    assert "oldrev" not in attributes

    before = fake.mr(PROJECT, 7).head_sha
    after = fake.push(PROJECT, 7, pusher="bob")
    _, pushed = fake.webhook("merge_request", PROJECT, 7, action="update")
    assert pushed["object_attributes"]["oldrev"] == before
    assert pushed["object_attributes"]["last_commit"]["id"] == after
    assert pushed["user"]["username"] == "bob"

    fake.edit_mr(PROJECT, 7, labels=["backend", "urgent"], by="mia")
    _, edited = fake.webhook("merge_request", PROJECT, 7, action="update")
    assert "oldrev" not in edited["object_attributes"]
    assert [x["title"] for x in edited["changes"]["labels"]["current"]] == ["backend", "urgent"]
    assert edited["changes"]["updated_at"]["current"].endswith(" UTC")

    fake.approve(PROJECT, 7, "mia")
    _, approved = fake.webhook("merge_request", PROJECT, 7, action="approved")
    assert approved["user"]["username"] == "mia"
    fake.merge_mr(PROJECT, 7, by="lee")
    _, merged = fake.webhook("merge_request", PROJECT, 7, action="merge")
    assert (merged["object_attributes"]["state"], merged["user"]["username"]) == ("merged", "lee")
    assert merged["changes"]["state_id"] == {"previous": 1, "current": 3}
    with pytest.raises(ValueError):
        fake.webhook("merge_request", PROJECT, 7, action="close")


def test_note_hook_carries_the_note(fake: FakeGitLab) -> None:
    note = fake.add_note(PROJECT, 7, "carol", "/gate hold")
    event, created = fake.webhook("note", PROJECT, 7)
    fake.edit_note(PROJECT, note.id, "/gate unhold")
    _, updated = fake.webhook("note", PROJECT, 7, note_id=note.id)
    template = fixture("note_merge_request_client_go.json")

    assert event == "Note Hook"
    assert set(created) == set(template)
    assert set(created["object_attributes"]) == set(template["object_attributes"])
    assert (created["object_attributes"]["id"], created["object_attributes"]["note"]) == (
        note.id,
        "/gate hold",
    )
    assert created["object_attributes"]["action"] == "create"
    assert created["object_attributes"]["created_at"].endswith(" UTC")
    assert created["merge_request"]["iid"] == 7
    assert created["merge_request"]["last_commit"]["id"] == fake.mr(PROJECT, 7).head_sha
    assert created["user"]["username"] == "carol"
    assert (updated["object_attributes"]["action"], updated["object_attributes"]["note"]) == (
        "update",
        "/gate unhold",
    )


def test_pipeline_push_and_emoji_hooks(fake: FakeGitLab) -> None:
    event, pipeline = fake.webhook(
        "pipeline", PROJECT, 7, status="success", builds=[{"name": "test", "stage": "test"}]
    )
    assert event == "Pipeline Hook"
    assert set(pipeline) == set(fixture("pipeline.json")) - {"source_pipeline"}
    assert pipeline["object_attributes"]["sha"] == fake.mr(PROJECT, 7).head_sha
    assert (pipeline["object_attributes"]["status"], pipeline["merge_request"]["iid"]) == (
        "success",
        7,
    )
    assert [b["name"] for b in pipeline["builds"]] == ["test"]

    before = fake.branch_sha(PROJECT, "main")
    after = fake.commit(PROJECT, "main", {"x.txt": "x\n"}, author="bob")
    event, push = fake.webhook("push", PROJECT, ref="refs/heads/main")
    assert event == "Push Hook"
    assert set(push) == set(fixture("push_client_go.json"))
    assert (push["before"], push["after"], push["checkout_sha"]) == (before, after, after)
    assert [c["id"] for c in push["commits"]] == [after]
    assert push["commits"][0]["added"] == ["x.txt"]
    assert (push["user_username"], push["ref_protected"]) == ("bob", True)

    note = fake.add_note(PROJECT, 7, "carol", "nice")
    fake.add_award(PROJECT, 7, "mia", "thumbsup", note_id=note.id)
    event, emoji = fake.webhook("emoji", PROJECT, 7)
    assert event == "Emoji Hook"
    assert set(emoji) == set(fixture("emoji_note_merge_request.json"))
    assert (emoji["object_attributes"]["name"], emoji["note"]["id"]) == ("thumbsup", note.id)


def test_webhook_request_headers(fake: FakeGitLab) -> None:
    event, payload = fake.webhook("merge_request", PROJECT, 7, action="open")
    body, headers = fake.webhook_request(event, payload)
    _, again = fake.webhook_request(event, payload, secret="other")
    _, redelivery = fake.webhook_request(event, payload, idempotency_key=headers["Idempotency-Key"])

    assert json.loads(body) == payload
    assert headers["X-Gitlab-Event"] == "Merge Request Hook"
    assert headers["X-Gitlab-Token"] == fake.webhook_secret
    assert headers["Content-Type"] == "application/json"
    assert again["X-Gitlab-Token"] == "other"
    assert again["Idempotency-Key"] != headers["Idempotency-Key"]
    assert redelivery["Idempotency-Key"] == headers["Idempotency-Key"]
    assert "X-Gitlab-Token" not in fake.webhook_request(event, payload, secret="")[1]


# -- the request log and faults ----------------------------------------------------


def test_faults_before_and_after_the_action(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.open_mr(PROJECT, 8)
    mergerequests = gl.projects.get(PROJECT, lazy=True).mergerequests
    fake.fail(route=MERGE, status=500, times=1)
    with pytest.raises(gitlab.GitlabMRClosedError) as before:
        mergerequests.get(7, lazy=True).merge()
    assert (before.value.response_code, before.value.error_message) == (
        500,
        "500 Internal Server Error",
    )
    assert fake.mr(PROJECT, 7).state == "opened"

    fake.fail(route=MERGE, status=502, after_action=True)
    with pytest.raises(gitlab.GitlabMRClosedError):
        mergerequests.get(8, lazy=True).merge()
    assert fake.mr(PROJECT, 8).state == "merged"
    assert [(r.status, r.injected, r.performed) for r in fake.requests_for(MERGE)] == [
        (500, "fault", False),
        (502, "fault", True),
    ]


def test_hold_parks_a_request_until_released(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    hold = fake.hold(MERGE)
    mark = fake.mark()
    worker = threading.Thread(
        target=lambda: gl.projects.get(PROJECT, lazy=True).mergerequests.get(7, lazy=True).merge()
    )
    worker.start()
    assert hold.wait_arrived(5)
    assert fake.mr(PROJECT, 7).state == "opened"
    hold.release()
    worker.join(5)
    assert fake.mr(PROJECT, 7).state == "merged"
    assert [r.route for r in fake.requests_since(mark)] == [MERGE]


def test_rate_limit_is_honoured_by_python_gitlab(fake: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake.rate_limit("GET /projects/:id/merge_requests/:iid", retry_after=0)
    assert gl.projects.get(PROJECT, lazy=True).mergerequests.get(7).iid == 7
    assert [r.status for r in fake.requests_for("GET /projects/:id/merge_requests/:iid")] == [
        429,
        200,
    ]


def test_unknown_routes_are_recorded_and_fail_assert_clean(fake: FakeGitLab) -> None:
    fake.assert_clean()
    response = requests.get(
        f"{fake.url}/api/v4/projects/1/merge_requests/7/discussions",
        headers={"PRIVATE-TOKEN": fake.token},
        timeout=5,
    )
    assert (response.status_code, response.json()) == (404, {"error": "404 Not Found"})
    assert [r.path for r in fake.unknown_requests] == [
        "/api/v4/projects/1/merge_requests/7/discussions"
    ]
    with pytest.raises(AssertionError, match="discussions"):
        fake.assert_clean()
    assert fake.request_count == 1


def test_hooks_are_kept_per_project_and_group_and_never_show_their_token(
    fake: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    fake.set_group_access("acme", fake.bot_username, 50)
    project = gl.projects.get("acme/api")
    hook = project.hooks.create({"url": "https://bot.example/webhooks/gitlab",
                                 "token": "t-1", "note_events": True})
    assert "token" not in hook.attributes
    assert (hook.push_events, hook.note_events, hook.job_events) == (True, True, False)
    group_hook = gl.groups.get("acme").hooks.create(
        {"url": "https://bot.example/webhooks/gitlab", "token": "t-2", "member_events": True}
    )
    assert group_hook.member_events is True
    assert [h.token for h in fake.hooks("acme/api")] == ["t-1"]
    assert [h.token for h in fake.hooks("acme")] == ["t-2"]
    _, payload = fake.webhook("push", "acme/api")
    assert fake.hook_token(payload) == "t-1"  # the project's own hook first
    project.hooks.delete(hook.id)
    assert fake.hook_token(payload) == "t-2"  # then the group's
    # Maintainers manage project hooks, only owners group hooks.
    fake.set_group_access("acme", fake.bot_username, None)
    with pytest.raises(gitlab.exceptions.GitlabListError) as refused:
        gl.groups.get("acme", lazy=True).hooks.list()
    assert refused.value.response_code in (403, 404)
