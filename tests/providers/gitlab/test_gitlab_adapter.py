"""The GitLab adapter against the fake GitLab over HTTP: what it reads, what it writes,
how it answers GitLab's refusals and failures, and what it counts."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests as http
from fakegitlab import DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER, FakeGitLab
from github_helpers import Rig as GitHubRig
from github_helpers import settings_for as github_settings
from gitlab_helpers import (
    ONE_APPROVAL,
    ONE_APPROVAL_AND_CI,
    PROJECT,
    Rig,
    gitlab_rig_fixture,  # noqa: F401 - the `rig` fixture
    routes,
    settings_for,
)
from support.forge_rig import Clock, migrated_store

from bot.core.gate import decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.loader import load_policy, load_policy_file
from bot.core.policy.needs import SnapshotNeeds
from bot.core.render import STATUS_LIMIT, status_description
from bot.keys import PullKey
from bot.pipeline.deploy import DeployStep, MergedPull
from bot.pipeline.errors import ForgeUnavailable, guarded
from bot.providers.base import PipelineRun
from bot.providers.counting import RequestTally
from bot.providers.gitlab.client import GitLabError, redact
from bot.providers.gitlab.forge import GitLabForge, NotThisProject
from bot.providers.gitlab.policy_source import parse_remote
from bot.providers.gitlab.snapshot import confirmed_note, login_from_address, pushers_of
from bot.retry import RetryPolicies, classify
from bot.settings import ConfigurationError, Settings
from bot.store import Store, evaluations, heads, pull_heads, requests

MR = "GET /projects/:id/merge_requests/:iid"
RAW_FILE = "GET /projects/:id/repository/files/:file_path/raw"
STATUS_POST = "POST /projects/:id/statuses/:sha"
MERGE = "PUT /projects/:id/merge_requests/:iid/merge"

REPORT_ONLY = "version: 1\nmode: report\n" + ONE_APPROVAL.removeprefix("version: 1\n")
TEAM_POLICY = """\
version: 1
policy:
  approval: [backend]
rules:
  - name: backend
    requires:
      approvals: 1
      from: {teams: [acme/backend]}
"""
COMMENT_POLICY = """\
version: 1
policy:
  approval: [lgtm]
rules:
  - name: lgtm
    requires:
      approvals: 1
      from: {permission: write}
    options:
      methods: {comments: ["LGTM"]}
"""


def _project(rig: Rig, policy: str = ONE_APPROVAL_AND_CI, **options: object) -> None:
    files = {".gitlab/gatebot.yml": policy, "README.md": "hello\n"}
    rig.fake.add_project(PROJECT, files=files, **options)  # type: ignore[arg-type]
    rig.fake.set_access(PROJECT, "mia", DEVELOPER)


def _ready_mr(rig: Rig, policy: str = ONE_APPROVAL_AND_CI, **options: object) -> str:
    """MR !7 by alice, approved by mia, with a green `ci/test`: its head SHA."""
    _project(rig, policy, **options)
    mr = rig.fake.open_mr(PROJECT, 7, author="alice", source="feature")
    rig.fake.approve(PROJECT, 7, "mia")
    rig.fake.set_status(PROJECT, mr.head_sha, "ci/test", "success")
    return mr.head_sha


def _gitlab_requests(rig: Rig, mark: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in rig.fake.requests_since(mark)]


# -- the policy, from the target branch ------------------------------------------


def test_the_policy_is_read_from_the_head_of_the_target_branch(rig):
    _project(rig, ONE_APPROVAL)
    rig.fake.add_branch(PROJECT, "release", "main")
    rig.fake.commit(PROJECT, "release", {".gitlab/gatebot.yml": ONE_APPROVAL_AND_CI})
    # The MR's own copy of the policy never governs it.
    rig.fake.open_mr(
        PROJECT, 7, source="feature", target="release",
        contents={".gitlab/gatebot.yml": "version: 1\n"},
    )
    mark = rig.fake.mark()
    with rig.open() as ev:
        sources = ev.policy_sources()
    reads = rig.fake.requests_since(mark)
    assert routes(reads) == [MR, RAW_FILE]
    # Fully qualified: a tag named `release` never answers for the branch.
    assert reads[1].query["ref"] == ["refs/heads/release"]
    assert reads[1].path.endswith("/repository/files/.gitlab%2Fgatebot.yml/raw")
    assert sources.policy is not None
    assert sources.policy.origin == "repository"
    assert sources.policy.text == ONE_APPROVAL_AND_CI
    assert sources.policy.location == f"{PROJECT}:.gitlab/gatebot.yml@release"


def test_a_target_push_whose_hook_never_came_still_brings_the_new_policy(rig):
    """Found by the model (tests/model): the policy was kept until a push hook said the
    target moved, so a lost hook left the old policy governing for the cache's TTL."""
    _project(rig, ONE_APPROVAL)
    rig.fake.open_mr(PROJECT, 7, source="feature")
    with rig.open() as ev:
        assert ev.policy_sources().policy.text == ONE_APPROVAL
    rig.fake.commit(PROJECT, "main", {".gitlab/gatebot.yml": ONE_APPROVAL_AND_CI})  # no hook
    with rig.open() as ev:
        assert ev.policy_sources().policy.text == ONE_APPROVAL_AND_CI
    # Kept again while the target stays where it is.
    mark = rig.fake.mark()
    with rig.open() as ev:
        assert ev.policy_sources().policy.text == ONE_APPROVAL_AND_CI
    assert routes(rig.fake.requests_since(mark)) == [MR]


def test_the_policy_falls_back_to_the_root_file_then_to_the_operator_default(rig, tmp_path):
    rig.fake.add_project(PROJECT, files={".gatebot.yml": ONE_APPROVAL})
    rig.fake.add_project("acme/bare", files={"README.md": "x\n"})
    rig.fake.open_mr(PROJECT, 7)
    rig.fake.open_mr("acme/bare", 1)

    mark = rig.fake.mark()
    with rig.open() as ev:
        found = ev.policy_sources()
    file_reads = [r for r in rig.fake.requests_since(mark) if r.route == RAW_FILE]
    assert [(r.path.rsplit("/files/", 1)[1], r.status) for r in file_reads] == [
        (".gitlab%2Fgatebot.yml/raw", 404),
        (".gatebot.yml/raw", 200),
    ]
    assert all(r.query["ref"] == ["refs/heads/main"] for r in file_reads)
    assert found.policy is not None and found.policy.filename == ".gatebot.yml"

    with rig.open(1, "acme/bare") as ev:
        assert ev.policy_sources().policy is None

    default = tmp_path / "default.yml"
    default.write_text(ONE_APPROVAL_AND_CI)
    rig.make_forge(default_policy=default)
    mark = rig.fake.mark()
    with rig.open(1, "acme/bare") as ev:
        operator = ev.policy_sources()
    assert operator.policy is not None
    assert operator.policy.origin == "operator" and operator.policy.text == ONE_APPROVAL_AND_CI
    # The absence of both files was remembered: only the MR itself was read.
    assert routes(rig.fake.requests_since(mark)) == [MR]


def test_a_remote_pointer_names_a_subgroup_project_with_the_dash_separator(rig):
    rig.fake.add_project("acme/platform/policies", files={"shared/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_access("acme/platform/policies", rig.fake.bot_username, REPORTER)
    _project(rig, "remote: acme/platform/policies/-/shared/gatebot.yml@main\n")
    rig.fake.open_mr(PROJECT, 7)
    with rig.open() as ev:
        sources = ev.policy_sources()
    assert sources.error is None
    assert sources.policy is not None and sources.policy.origin == "remote"
    assert sources.policy.text == ONE_APPROVAL
    assert sources.pointer is not None and sources.pointer.origin == "repository"
    fetched = rig.fake.requests_for(RAW_FILE)[-1]
    assert fetched.path.startswith("/api/v4/projects/acme%2Fplatform%2Fpolicies/")


def test_a_remote_in_another_top_level_group_is_refused_without_being_read(rig):
    # The token reads every project its user is a member of, other tenants' too.
    rig.fake.add_project("globex/secrets", files={".env": "DB_PASSWORD=hunter2\n"})
    _project(rig, "remote: globex/secrets/.env\n")
    rig.fake.open_mr(PROJECT, 7)
    mark = rig.fake.mark()
    with rig.open() as ev:
        sources = ev.policy_sources()
    assert sources.policy is None
    assert sources.error is not None and "refused: it is not under acme;" in sources.error
    assert "hunter2" not in sources.error
    assert not any("globex" in r.path for r in rig.fake.requests_since(mark))

    rig.make_forge(remote_policy_allow="globex/secrets")
    with rig.open() as ev:
        allowed = ev.policy_sources()
    assert allowed.policy is not None and allowed.policy.origin == "remote"


def test_remote_values_name_a_project_a_path_and_a_ref():
    assert parse_remote("acme/policies") == ("acme/policies", ".gitlab/gatebot.yml", None)
    assert parse_remote("acme/policies/team/a.yml@v2") == ("acme/policies", "team/a.yml", "v2")
    assert parse_remote("acme/platform/policies/-/gatebot.yml") == (
        "acme/platform/policies", "gatebot.yml", None,
    )
    assert parse_remote("acme/platform/policies/-/@main") == (
        "acme/platform/policies", ".gitlab/gatebot.yml", "main",
    )


# -- the snapshot -------------------------------------------------------------------


def test_files_commits_and_approvals_become_the_snapshot(rig):
    rig.fake.add_project(
        PROJECT,
        files={".gitlab/gatebot.yml": ONE_APPROVAL, "old.txt": "kept\n", "gone.txt": "a\nb\n",
               "app.py": "one\n"},
    )
    rig.fake.set_access(PROJECT, "mia", DEVELOPER)
    rig.fake.set_access(PROJECT, "sam", DEVELOPER)
    mr = rig.fake.open_mr(
        PROJECT, 7, author="alice", source="feature", labels=["backend"], draft=True,
        files=[{"path": "gone.txt", "deleted": True}, {"path": "new.txt", "old_path": "old.txt"}],
        contents={"app.py": "one\ntwo\nthree\n", "src/added.py": "x = 1\n"},
        commits=["first", {"message": "second", "author": "bob"}],
        title="Add things", description="Why",
    )
    rig.fake.approve(PROJECT, 7, "mia")
    rig.fake.approve(PROJECT, 7, "sam")
    rig.fake.unapprove(PROJECT, 7, "sam")
    with rig.open() as ev:
        snap = ev.snapshot(SnapshotNeeds())
    files = {f.path: f for f in snap.files}
    assert files["gone.txt"].status == "removed" and files["gone.txt"].deletions == 2
    assert files["new.txt"].status == "renamed" and files["new.txt"].previous_path == "old.txt"
    assert (files["app.py"].status, files["app.py"].additions, files["app.py"].deletions) == (
        "modified", 2, 0,
    )
    assert files["src/added.py"].status == "added" and files["src/added.py"].additions == 1
    assert snap.files_count == 4 and not snap.files_truncated
    # Oldest first, each child of the one before; GitLab names no account for a commit.
    assert len(snap.commits) == 2 and snap.commits[1].sha == mr.head_sha
    assert snap.commits[1].parents == (snap.commits[0].sha,)
    assert snap.commits[0].parents == (rig.fake.branch_sha(PROJECT, "main"),)
    assert all(c.author is None and c.committer is None for c in snap.commits)
    # GitLab's approvals name no commit: the policy ties them to the head by their time.
    assert [(r.author.login, r.state, r.commit_sha) for r in snap.reviews] == [
        ("mia", "APPROVED", None)
    ]
    assert (snap.title, snap.body, snap.author.login, snap.draft) == (
        "Add things", "Why", "alice", True,
    )
    assert snap.labels == ("backend",)
    assert (snap.base_ref, snap.head_ref, snap.head_sha) == ("main", "feature", mr.head_sha)
    assert snap.base_sha == rig.fake.branch_sha(PROJECT, "main")
    assert snap.bot.logins == ("gatebot-bot",)
    assert snap.comments == () and snap.checks == ()


def test_gitlab_private_commit_addresses_name_their_user():
    assert login_from_address("4242-mia@users.noreply.gitlab.com") == "mia"
    assert login_from_address("17-lee.k@users.noreply.gitlab.example.org") == "lee.k"
    assert login_from_address("mia@example.com") is None
    assert login_from_address(None) is None


def test_notes_people_wrote_are_comments_and_read_only_when_they_can_count(rig):
    _project(rig, COMMENT_POLICY)
    mr = rig.fake.open_mr(PROJECT, 7, author="alice")
    # A comment counts after the head's push, which the web tier records.
    with rig.store.begin() as conn:
        pushed = rig.clock.now - timedelta(minutes=1)
        heads.record(conn, "gitlab", PROJECT, mr.head_sha, pushed, pushed=True, pusher="alice")
    said = rig.fake.add_note(PROJECT, 7, "mia", "LGTM")
    edited = rig.fake.add_note(PROJECT, 7, "bob", "looks fine")
    rig.fake.edit_note(PROJECT, edited.id, "looks fine to me")
    rig.fake.add_system_note(PROJECT, 7, "added 1 commit")

    evaluated = rig.evaluate()
    comments = evaluated.snapshot.comments
    assert [(c.id, c.author.login, c.body, c.edited) for c in comments] == [
        (said.id, "mia", "LGTM", False),
        (edited.id, "bob", "looks fine to me", True),
    ]
    assert comments[1].edited_at is not None and comments[1].edited_at > comments[1].created_at
    notes_read = [r for r in evaluated.requests if r.route.endswith("/notes")]
    assert notes_read[0].query["sort"] == ["asc"]
    assert evaluated.decision.state == "success"  # mia's LGTM, with write permission

    with rig.open() as ev:
        mark = rig.fake.mark()
        ev.snapshot(SnapshotNeeds())
    assert not [r for r in rig.fake.requests_since(mark) if r.route.endswith("/notes")]


def test_checks_are_the_latest_status_per_name_without_the_bots_own(rig):
    head = _ready_mr(rig)
    rig.fake.set_status(PROJECT, head, "lint", "failed")
    rig.fake.set_status(PROJECT, head, "lint", "running")  # a retry of the job
    rig.fake.set_status(PROJECT, head, "deploy-preview", "canceled")
    rig.fake.set_status(PROJECT, head, "gatebot: main", "failed", author=rig.fake.bot_username)
    rig.fake.set_status(PROJECT, head, "gatebot: main", "success", author="mallory")
    with rig.open() as ev:
        snap = ev.snapshot(SnapshotNeeds(checks=True))
    found = {c.name: (c.state, c.app, c.kind) for c in snap.checks}
    assert found == {
        "ci/test": ("success", "ci-user", "status"),
        "lint": ("in_progress", "ci-user", "status"),
        "deploy-preview": ("cancelled", "ci-user", "status"),
    }


def test_a_failed_check_fails_the_gate(rig):
    head = _ready_mr(rig)
    rig.fake.set_status(PROJECT, head, "ci/test", "failed")
    evaluated = rig.evaluate()
    assert evaluated.decision.state == "failure"
    assert rig.fake.statuses(PROJECT, head)[-1].status == "failed"


def test_access_levels_are_role_names_and_groups_are_teams(rig):
    _project(rig, TEAM_POLICY)
    rig.fake.add_group("acme/backend", members={"lee": DEVELOPER})
    rig.fake.add_group("acme/backend/db", members={"dina": MAINTAINER})
    for name, level in [("olga", OWNER), ("max", MAINTAINER), ("rita", REPORTER),
                        ("gus", GUEST), ("lee", REPORTER)]:
        rig.fake.set_access(PROJECT, name, level)
    rig.fake.open_mr(PROJECT, 7, author="alice")
    for name in ("olga", "max", "mia", "rita", "gus", "lee", "dina", "nobody"):
        rig.fake.approve(PROJECT, 7, name)
    evaluated = rig.evaluate()
    directory = evaluated.snapshot.directory
    assert directory.permissions == {
        "olga": "admin", "max": "maintain", "mia": "write", "rita": "triage",
        "gus": "read", "lee": "triage", "dina": "none", "nobody": "none",
    }
    # A subgroup's member is not a member of its parent.
    assert directory.teams == {"acme/backend": ("lee",)}
    assert evaluated.decision.state == "success"  # lee, of acme/backend, approved
    asked = [r.path for r in evaluated.requests if r.route.startswith("GET /groups")]
    assert asked and all(p.startswith("/api/v4/groups/acme%2Fbackend/members/all/") for p in asked)

    # The answers are kept: the next evaluation asks GitLab nothing about people.
    again = rig.evaluate()
    assert not [r for r in again.requests if "members" in r.path or r.path.endswith("/users")]


def test_push_times_pushers_holds_and_the_bots_own_identity_come_from_the_store(rig):
    head = _ready_mr(rig)
    with rig.store.begin() as conn:
        heads.record(conn, "gitlab", PROJECT, head, rig.clock.now, pushed=True, pusher="bob")
        pull_heads.note(conn, rig.key(), head, "main", rig.clock.now)
    with rig.open() as ev:
        snap = ev.snapshot(SnapshotNeeds())
    assert [(c.sha, c.at) for c in snap.head_history] == [(head, rig.clock.now)]
    assert snap.pushers == ("bob",)
    assert snap.holds == () and snap.overrides == () and snap.tampering == ()


def test_a_large_diff_is_read_page_by_page(rig):
    _project(rig, ONE_APPROVAL)
    rig.fake.open_mr(PROJECT, 7, files=[f"src/f{n:03}.py" for n in range(130)])
    with rig.open() as ev:
        snap = ev.snapshot(SnapshotNeeds())
    assert len(snap.files) == 130 and snap.files_count == 130
    pages = [r.query.get("page") for r in rig.fake.requests_for("GET /projects/:id/merge_requests/:iid/diffs")]
    assert pages == [["1"], ["2"]]


def test_a_failed_read_is_retried_and_a_lasting_one_leaves_the_mr_marked(rig):
    _ready_mr(rig)
    rig.fake.fail("GET /projects/:id/merge_requests/:iid/diffs", status=502)
    rig.fake.rate_limit("GET /projects/:id/merge_requests/:iid/approvals", retry_after=3)
    evaluated = rig.evaluate()
    assert evaluated.decision.state == "success"
    assert 3.0 in rig.sleeps and len(rig.sleeps) == 2

    rig.fake.fail(MR, status=503, times=10)
    with pytest.raises(ForgeUnavailable, match="server 503"), rig.open() as ev:
        guarded(rig.key(), ev.pull)


# -- publishing -----------------------------------------------------------------------


def test_the_verdict_is_posted_once_and_not_again_while_unchanged(rig):
    head = _ready_mr(rig)
    first = rig.evaluate()
    assert first.outcome is not None and first.outcome.status_posted
    assert first.outcome.context == "gatebot: main" and not first.outcome.check_run_posted
    posted = [s for s in rig.fake.statuses(PROJECT, head) if s.name == "gatebot: main"]
    assert [(s.status, s.author, s.target_url, s.ref) for s in posted] == [
        ("success", "gatebot-bot", "https://gatebot.example/gitlab/acme/api/7", "feature")
    ]
    assert posted[0].description == status_description(first.decision)

    second = rig.evaluate()
    assert second.outcome is not None and second.outcome.unchanged
    assert STATUS_POST not in routes(second.requests)

    # A verdict that changes is posted again.
    rig.fake.unapprove(PROJECT, 7, "mia")
    third = rig.evaluate()
    assert third.decision.state == "pending" and third.outcome.status_posted
    assert rig.fake.statuses(PROJECT, head)[-1].status == "pending"


def test_a_status_someone_else_wrote_under_the_bots_name_is_overwritten(rig):
    head = _ready_mr(rig)
    rig.evaluate()
    rig.fake.set_status(PROJECT, head, "gatebot: main", "failed", author="mallory")
    again = rig.evaluate()
    assert again.outcome is not None and again.outcome.overwrote == ("mallory",)
    latest = rig.fake.statuses(PROJECT, head)[-1]
    assert (latest.name, latest.status, latest.author) == ("gatebot: main", "success", "gatebot-bot")


def test_gitlab_refusing_the_same_state_twice_is_no_error(rig):
    _project(rig, ONE_APPROVAL)
    mr = rig.fake.open_mr(PROJECT, 7, author="alice")
    first = rig.evaluate()
    assert first.decision.state == "pending" and first.outcome.status_posted

    # The store forgot what it posted: the same pending status is sent again,
    # GitLab answers 400, and what it shows is already right.
    with rig.store.begin() as conn:
        evaluations.forget(conn, "gitlab", PROJECT, mr.head_sha, "gatebot: main")
    again = rig.evaluate()
    assert [r.status for r in again.requests if r.route == STATUS_POST] == [400]
    assert again.outcome.unchanged and not again.outcome.status_posted
    assert [s.status for s in rig.fake.statuses(PROJECT, mr.head_sha)] == ["pending"]

    # Recorded as what is there: the same verdict is not sent again.
    third = rig.evaluate()
    assert third.outcome.unchanged and STATUS_POST not in routes(third.requests)


def test_a_verdict_gitlab_shows_but_the_store_never_recorded_is_not_posted_again(rig):
    head = _ready_mr(rig)  # its policy reads statuses (a CI check)
    first = rig.evaluate()
    assert first.outcome.status_posted
    # A run that posted the verdict and died before recording it.
    with rig.store.begin() as conn:
        evaluations.forget(conn, "gitlab", PROJECT, head, "gatebot: main")
    again = rig.evaluate()
    assert STATUS_POST not in routes(again.requests)
    assert not again.outcome.status_posted
    assert [s.status for s in rig.fake.statuses(PROJECT, head) if s.name == "gatebot: main"] == [
        "success"
    ]
    # Recorded now: the next run compares with the record.
    third = rig.evaluate()
    assert third.outcome.unchanged and STATUS_POST not in routes(third.requests)


def test_a_pending_status_whose_words_changed_is_replaced(rig):
    _project(rig, ONE_APPROVAL)
    mr = rig.fake.open_mr(PROJECT, 7, author="alice")
    first = rig.evaluate(details_url=None)
    # Another pending verdict with other words (a policy naming a team, say).
    with rig.open() as ev:
        ev.pull()
        loaded = load_policy_file(TEAM_POLICY, "policy.yml")
        snap = ev.snapshot(SnapshotNeeds(teams=frozenset({"acme/backend"})))
        decision = decide(evaluate(loaded.policy, snap), snap)
        outcome = ev.publish(decision, details_url=None)
    assert decision.state == "pending"
    assert decision.description != first.decision.description
    assert outcome.status_posted and not outcome.unchanged
    posts = [(r.status, r.json["state"]) for r in rig.fake.requests_for(STATUS_POST)]
    assert posts == [(201, "pending"), (400, "pending"), (201, "canceled"), (201, "pending")]
    shown = [s for s in rig.fake.statuses(PROJECT, mr.head_sha) if not s.retried]
    assert [(s.status, s.description) for s in shown] == [
        ("pending", status_description(decision))
    ]


def test_report_mode_shows_the_verdict_without_blocking(rig):
    _project(rig, REPORT_ONLY)
    mr = rig.fake.open_mr(PROJECT, 7, author="alice")
    evaluated = rig.evaluate()
    assert evaluated.decision.state == "pending" and evaluated.decision.report_only
    status = rig.fake.statuses(PROJECT, mr.head_sha)[-1]
    assert status.status == "success"
    assert status.description.startswith("report only — pending: ")
    assert len(status.description) <= STATUS_LIMIT


# -- merging --------------------------------------------------------------------------


def test_merge_state_maps_gitlabs_merge_status(rig):
    head = _ready_mr(rig, merge_method="ff")
    with rig.open() as ev:
        state = ev.merge_state()
        assert (state.mergeable, state.mergeable_state, state.head_sha) == (True, "clean", head)
        assert (state.base_ref, state.head_ref, state.author, state.from_fork) == (
            "main", "feature", "alice", False,
        )
        rig.fake.set_merge_status(PROJECT, 7, "checking")
        assert (ev.merge_state().mergeable, ev.merge_state().mergeable_state) == (None, "unknown")
        rig.fake.set_merge_status(PROJECT, 7, "cannot_be_merged")
        assert (ev.merge_state().mergeable, ev.merge_state().mergeable_state) == (False, "dirty")
        rig.fake.set_merge_status(PROJECT, 7, "ci_must_pass")
        assert (ev.merge_state().mergeable, ev.merge_state().mergeable_state) == (True, "blocked")
        rig.fake.set_merge_status(PROJECT, 7, None)
        rig.fake.commit(PROJECT, "main", {"other.txt": "x\n"})
        behind = ev.merge_state()
        assert (behind.mergeable, behind.mergeable_state) == (True, "behind")
        rig.fake.edit_mr(PROJECT, 7, state="closed")
        closed = ev.merge_state()
        assert (closed.state, closed.merged, closed.mergeable) == ("closed", False, False)
    assert len(rig.fake.requests_for(MR)) == 9  # every merge_state is a fresh read


def test_allowed_merge_methods_follow_the_project_settings_and_are_cached(rig):
    _ready_mr(rig)
    with rig.open() as ev:
        assert ev.allowed_merge_methods() == {"merge", "squash"}
        assert ev.allowed_merge_methods() == {"merge", "squash"}
    assert len(rig.fake.requests_for("GET /projects/:id")) == 1
    for merge_method, squash_option, expected in [
        ("ff", "never", {"merge", "rebase"}),
        ("rebase_merge", "always", {"merge", "squash", "rebase"}),
    ]:
        rig.fake.set_project(PROJECT, merge_method=merge_method, squash_option=squash_option)
        rig.make_forge()
        with rig.open() as ev:
            assert ev.allowed_merge_methods() == expected


def test_a_merge_merges_exactly_the_head_with_the_message(rig):
    head = _ready_mr(rig)
    with rig.open() as ev:
        assert ev.commit_messages() == ("Change for !7",)
        answer = ev.merge(head, "merge", "Title (!7)", "Body")
    assert answer.kind == "merged"
    [merged] = rig.fake.merges
    assert merged.requested_sha == head and not merged.squash
    assert merged.merge_commit_message == "Title (!7)\n\nBody"
    assert answer.merge_sha == merged.merge_commit_sha == rig.fake.branch_sha(PROJECT, "main")
    with rig.open() as ev:
        after = ev.pull()
    assert (after.state, after.merged, after.merge_sha) == ("closed", True, answer.merge_sha)


def test_a_squash_merge_sends_the_squash_message(rig):
    head = _ready_mr(rig, squash_option="default_off")
    with rig.open() as ev:
        answer = ev.merge(head, "squash", "Squashed (!7)", None)
    [merged] = rig.fake.merges
    assert answer.kind == "merged" and merged.squash
    assert merged.squash_commit_message == "Squashed (!7)"


def test_merge_answers_become_merge_answer_kinds(rig):
    head = _ready_mr(rig)
    with rig.open() as ev:
        moved = ev.merge("0" * 40, "merge", None, None)
    assert (moved.kind, moved.status) == ("head_moved", 409)

    rig.fake.edit_mr(PROJECT, 7, draft=True)
    with rig.open() as ev:
        draft = ev.merge(head, "merge", None, None)
    assert (draft.kind, draft.status, draft.message) == ("refused", 405, "405 Method Not Allowed")

    rig.fake.edit_mr(PROJECT, 7, draft=False)
    rig.fake.set_merge_status(PROJECT, 7, "conflict")
    with rig.open() as ev:
        conflict = ev.merge(head, "merge", None, None)
    assert (conflict.kind, conflict.status, conflict.message) == (
        "refused", 422, "Branch cannot be merged",
    )
    assert rig.fake.merges == []


def test_a_merge_answered_500_is_never_repeated_and_the_caller_rereads(rig):
    head = _ready_mr(rig)
    rig.fake.fail(MERGE, status=500, after_action=True)
    with rig.open() as ev:
        answer = ev.merge(head, "merge", None, None)
        assert (answer.kind, answer.status) == ("unknown", 500)
        after = ev.merge_state()
    assert len(rig.fake.requests_for(MERGE)) == 1 and rig.sleeps == []
    assert after.merged and after.merge_sha == rig.fake.merges[0].merge_commit_sha


def test_a_merge_with_no_answer_is_unknown(rig):
    head = _ready_mr(rig)
    hold = rig.fake.hold(MERGE, after_action=True, timeout=5)
    rig.forge.config = dataclasses.replace(rig.forge.config, timeout=0.5)
    with rig.open() as ev:
        answer = ev.merge(head, "merge", None, None)
    hold.release()
    assert answer.kind == "unknown" and "timeout" in answer.message
    deadline = time.monotonic() + 5
    while not rig.fake.requests_for(MERGE) and time.monotonic() < deadline:
        time.sleep(0.02)  # the fake logs the held request once it has answered
    assert len(rig.fake.requests_for(MERGE)) == 1


def test_update_branch_rebases_the_head_that_was_judged(rig):
    head = _ready_mr(rig, merge_method="ff")
    rig.fake.commit(PROJECT, "main", {"other.txt": "x\n"})
    with rig.open() as ev:
        assert ev.merge_state().mergeable_state == "behind"
        assert ev.update_branch("f" * 40) == f"the head moved to {head[:12]}"
        assert rig.fake.rebases == []
        assert ev.update_branch(head) is None
    [rebase] = rig.fake.rebases
    assert rebase.old_head_sha == head and rebase.new_head_sha == rig.fake.mr(PROJECT, 7).head_sha
    assert rebase.by == "gatebot-bot"


def test_branches_open_mrs_comments_and_reactions(rig):
    _ready_mr(rig)
    rig.fake.open_mr(PROJECT, 8, source="stacked", target="feature")
    rig.fake.open_mr(PROJECT, 9, source="other")
    asked = rig.fake.add_note(PROJECT, 7, "mia", "/gate status")
    with rig.open() as ev:
        assert ev.open_pulls_into("feature") == (8,)
        assert sorted(ev.open_pulls_into("main")) == [7, 9]
        note_id = ev.comment("Merged abc with the `merge` method.")
        ev.react(asked.id, "ran")
        ev.react(asked.id, "ran")  # already given: fine
        ev.react(asked.id, "limited")
        assert ev.delete_branch("other") is True
        assert ev.delete_branch("other") is False
        with pytest.raises(GitLabError) as missing:
            ev.react(999999, "ran")
    assert missing.value.status == 404
    note = rig.fake.notes(PROJECT, 7)[-1]
    assert (note.id, note.author, note.body) == (
        note_id, "gatebot-bot", "Merged abc with the `merge` method.",
    )
    assert [(a.name, a.user) for a in rig.fake.award_emoji(PROJECT, 7, asked.id)] == [
        ("thumbsup", "gatebot-bot"), ("eyes", "gatebot-bot"),
    ]
    assert rig.fake.deleted_branches == [(PROJECT, "other")]


def test_a_comment_answered_502_is_not_posted_twice(rig):
    _ready_mr(rig)
    rig.fake.fail("POST /projects/:id/merge_requests/:iid/notes", status=502, after_action=True)
    with rig.open() as ev, pytest.raises(GitLabError) as failed:
        ev.comment("hello")
    assert classify(failed.value, 0).kind == "server"
    assert [n.body for n in rig.fake.notes(PROJECT, 7)] == ["hello"]


# -- comment commands -------------------------------------------------------------------


def test_the_commenter_is_known_by_role_name_and_group_membership(rig):
    _ready_mr(rig)
    rig.fake.add_group("acme/release", members={"mia": REPORTER})
    rig.fake.add_group("acme/ops")
    rig.fake.set_access(PROJECT, "max", MAINTAINER)
    with rig.open() as ev:
        assert ev.bot_login == "gatebot-bot"
        mia = ev.commenter("mia", ["acme/release", "acme/ops"])
        stranger = ev.commenter("stranger", ["acme/release"])
        maintainer = ev.commenter("max", [])
        bot = ev.commenter("gatebot-bot", [])
    assert (mia.permission, mia.teams, mia.is_bot) == ("write", {"acme/release"}, False)
    assert (stranger.permission, stranger.teams) == (None, frozenset())
    assert maintainer.permission == "maintain"
    assert bot.is_bot


# -- deploying ---------------------------------------------------------------------------


def test_a_pipeline_is_created_on_the_ref_with_the_variables(rig):
    _ready_mr(rig)
    with rig.open() as ev:
        created = ev.deploy(PipelineRun("main", {"DEPLOY_SHA": "abc", "ENV": "prod"}))
        missing = ev.deploy(PipelineRun("no-such-branch", {}))
    [pipeline] = rig.fake.pipelines_created
    assert (pipeline.ref, pipeline.variables) == ("main", {"DEPLOY_SHA": "abc", "ENV": "prod"})
    assert created.kind == "created"
    assert created.link is not None and created.link.endswith(f"/pipelines/{pipeline.id}")
    assert (missing.kind, missing.message) == ("refused", "base Reference not found")


def test_a_pipeline_answered_500_is_unknown_and_not_sent_again(rig):
    _ready_mr(rig)
    rig.fake.fail("POST /projects/:id/pipeline", status=500, after_action=True)
    with rig.open() as ev:
        answer = ev.deploy(PipelineRun("main", {}))
    assert answer.kind == "unknown"
    assert len(rig.fake.requests_for("POST /projects/:id/pipeline")) == 1
    assert len(rig.fake.pipelines_created) == 1


GITHUB_DEPLOYS = """\
  - name: production
    branches: [main]
    via:
      github_deployment: {}
  - name: aws
    branches: [main]
    via:
      workflow_dispatch: {workflow: deploy.yml, ref: main}
  - name: notify
    branches: [main]
    via:
      repository_dispatch: {event_type: deploy}
"""


GITLAB_PIPELINE = """\
  - name: pipeline
    branches: [main]
    via:
      gitlab_pipeline: {}
"""


def _deploy_by_command(rig: Rig | GitHubRig, entries: str) -> None:
    """`/gate deploy` of PR 7's (pretended) merge, with the policy's `deploy` `entries`."""
    loaded = load_policy(f"{ONE_APPROVAL}deploy:\n{entries}")
    assert loaded.ok, loaded.problems
    sha = "a" * 40
    merged = MergedPull(rig.key(7), "main", sha, sha, "main")
    with rig.open(7) as ev:
        ev.pull()
        DeployStep(rig.store, rig.clock, {}).by_command(ev, loaded.policy, merged, None, "mia")


def test_github_deploy_methods_are_refused_on_gitlab(rig):
    _ready_mr(rig)
    with rig.open() as ev:
        assert ev.deploy_methods == {"gitlab_pipeline"}
        assert ev.deployments_of("a" * 40, "prod") == ()
    mark = rig.fake.mark()
    _deploy_by_command(rig, GITHUB_DEPLOYS)
    answers = [n.body for n in rig.fake.notes(PROJECT, 7) if n.author == "gatebot-bot"]
    assert len(answers) == 3 and all(a.startswith("Could not deploy") for a in answers)
    assert all("is a GitHub deploy method; this is a GitLab project" in a for a in answers)
    # Nothing was asked of GitLab but the merge request and the three notes.
    assert set(_gitlab_requests(rig, mark)) <= {
        "GET /api/v4/projects/acme%2Fapi/merge_requests/7",
        "POST /api/v4/projects/acme%2Fapi/merge_requests/7/notes",
    }


def test_the_github_forge_refuses_gitlab_pipelines(fake_github, tmp_path):
    settings = github_settings(fake_github, tmp_path)
    fake_github.add_repo(PROJECT, files={".github/gatebot.yml": ONE_APPROVAL})
    fake_github.open_pr(PROJECT, 7)
    with migrated_store(settings) as store:
        github = GitHubRig(fake_github, store, settings, Clock())
        with github.open(7) as ev:
            assert "gitlab_pipeline" not in ev.deploy_methods
        mark = fake_github.mark()
        _deploy_by_command(github, GITLAB_PIPELINE)
    [answer] = [c.body for c in fake_github.comments(PROJECT, 7) if c.user == fake_github.bot_login]
    assert answer.startswith("Could not deploy")
    assert answer.endswith(
        "`gitlab_pipeline` is a GitLab deploy method; this is a GitHub repository"
    )
    # Nothing was asked of GitHub but the PR and the comment.
    assert {f"{r.method} {r.operation_id}" for r in fake_github.requests_since(mark)} <= {
        "POST apps/create-installation-access-token", "POST graphql", "GET pulls/get",
        "POST issues/create-comment",
    }


# -- counting and secrets -----------------------------------------------------------------


def test_every_request_is_counted_and_stored_with_the_evaluation(rig):
    _ready_mr(rig)
    evaluated = rig.evaluate()
    # Reads sent together may be logged by the fake in another order than they were
    # answered to the client: compared as collections.
    sent = sorted(f"{r.method} {r.path} {r.status}" for r in evaluated.requests)
    counted = sorted(
        "{} {}".format(line.split("?", 1)[0].rsplit(" -> ", 1)[0], line.rsplit(" ", 1)[1])
        for line in evaluated.tally
    )
    assert counted == sent
    with rig.store.begin() as conn:
        [stored] = requests.for_pull(conn, "gitlab", PROJECT, 7)
    assert stored.total == len(sent) and list(stored.requests) == evaluated.tally
    assert stored.head_sha == evaluated.snapshot.head_sha


def test_the_request_budget_of_an_evaluation(rig):
    # The figures the closing notes quote: a typical MR (one approval rule, one
    # required check), first in a process, then evaluated again unchanged.
    _ready_mr(rig)
    first = rig.evaluate()
    again = rig.evaluate()
    mr = "GET /projects/:id/merge_requests/:iid"
    first_routes = routes(first.requests)
    assert first_routes[:2] == [mr, "GET /projects/:id/repository/files/:file_path/raw"]
    # Then, sent together (`bot.providers.parallel`), in whatever order they arrive:
    together = [
        f"{mr}/diffs",
        f"{mr}/commits",
        # Who pushed the commits: no push hook recorded one here, so GitLab's
        # "added N commits" notes are asked (kept with the commits, once per head).
        f"{mr}/notes",
        f"{mr}/approvals",
        "GET /projects/:id/repository/commits/:sha/statuses",
    ]
    assert sorted(first_routes[2:7]) == sorted(together)
    assert first_routes[7:] == [
        "GET /users",
        "GET /users/:user_id",  # is the approver a bot? (once per process)
        "GET /projects/:id/members/all/:user_id",
        "GET /user",
        "POST /projects/:id/statuses/:sha",
    ]
    # The policy file, the approver's role and the MR's files and commits come from
    # the store, and the verdict is already posted: 3 requests. Approvals are read
    # every time: GitLab can drop one without moving the MR's updated_at.
    again_routes = routes(again.requests)
    assert again_routes[0] == mr
    assert sorted(again_routes[1:]) == [
        f"{mr}/approvals",
        "GET /projects/:id/repository/commits/:sha/statuses",
    ]


def _sha(prefix: str) -> str:
    return prefix + "0" * (40 - len(prefix))


def test_system_notes_name_the_pushers_of_the_commits_they_list():
    def note(author: str, items: str, *, system: bool = True) -> dict[str, object]:
        return {"system": system, "author": {"username": author},
                "body": f"added 12 commits\n\n<ul>{items}</ul>\n\n[Compare with previous version](/x)"}

    notes = [
        # Past ten commits GitLab folds the earliest into a range; with three dots
        # it starts at the previous head, which someone else may have pushed.
        note("dev", "<li>aaaaaaaa...bbbbbbbb - 2 earlier commits</li><li>cccccccc - fix</li>"),
        note("lee", "<li>dddddddd..eeeeeeee - 2 earlier commits</li>"),
        note("eve", "<li>ffffffff - mine</li>", system=False),  # anyone can write this
        {"system": True, "author": {"username": "max"}, "body": "approved this merge request"},
    ]
    assert pushers_of(notes, [_sha("aaaaaaaa")]) == ()
    assert pushers_of(notes, [_sha("bbbbbbbb")]) == ("dev",)
    assert pushers_of(notes, [_sha("cccccccc"), _sha("dddddddd")]) == ("dev", "lee")
    assert pushers_of(notes, [_sha("ffffffff")]) == ()
    assert pushers_of(notes, [_sha("12345678")]) == ()  # no longer in the merge request


def test_notes_are_not_read_for_pushers_the_push_hooks_recorded(rig):
    head = _ready_mr(rig)
    with rig.store.begin() as conn:
        heads.record(conn, "gitlab", PROJECT, head, rig.clock.now, pushed=True, pusher="alice")
    evaluated = rig.evaluate()
    assert "GET /projects/:id/merge_requests/:iid/notes" not in routes(evaluated.requests)
    assert evaluated.snapshot.pushers == ("alice",)


def test_a_push_whose_hooks_were_lost_is_known_from_gitlabs_system_note(rig):
    head = _ready_mr(rig)
    with rig.store.begin() as conn:
        heads.record(conn, "gitlab", PROJECT, head, rig.clock.now, pushed=True, pusher="alice")
    pushed = rig.fake.push(PROJECT, 7, pusher="dev", message="Tweak <li>0000000a - x")
    (note,) = [n for n in rig.fake.notes(PROJECT, 7) if n.system and n.body.startswith("added")]
    assert note.author == "dev" and f"<li>{pushed[:8]} - Tweak &lt;li&gt;" in note.body
    # GitLab refuses an edit of a system note, even by its author.
    rig.fake.set_access(PROJECT, "dev", DEVELOPER)
    edit = http.put(
        f"{rig.fake.url}/api/v4/projects/{quote(PROJECT, safe='')}/merge_requests/7/notes/{note.id}",
        headers={"PRIVATE-TOKEN": rig.fake.add_token("dev")},
        json={"body": "added 1 commit"},
        timeout=5,
    )
    assert edit.status_code == 403
    evaluated = rig.evaluate()
    assert evaluated.snapshot.pushers == ("alice", "dev")
    # Kept with the commits: an unchanged evaluation asks no notes.
    again = rig.evaluate()
    assert "GET /projects/:id/merge_requests/:iid/notes" not in routes(again.requests)
    assert again.snapshot.pushers == ("alice", "dev")


def test_an_approval_gitlab_drops_without_touching_the_mr_is_gone_at_once(rig):
    # A reviewer's "request changes" removes their approval with no system note:
    # the MR's head and updated_at stay, the stored parts would still be fresh.
    _ready_mr(rig)
    assert {r.author.login for r in rig.evaluate().snapshot.reviews} == {"mia"}
    updated = rig.fake.mr(PROJECT, 7).updated
    rig.fake.request_changes(PROJECT, 7, "mia")
    assert rig.fake.mr(PROJECT, 7).updated == updated
    again = rig.evaluate()
    assert again.snapshot.reviews == ()
    assert "GET /projects/:id/merge_requests/:iid/diffs" not in routes(again.requests)


def test_stored_parts_are_read_again_when_an_approval_or_a_push_moves_the_mr(rig):
    _ready_mr(rig)
    rig.evaluate()
    approvals = "GET /projects/:id/merge_requests/:iid/approvals"
    # A second approval (its system note touches the MR) is read, not the stored list.
    rig.fake.approve(PROJECT, 7, "lee")
    approved = rig.evaluate()
    assert approvals in routes(approved.requests)
    assert {r.author.login for r in approved.snapshot.reviews} == {"mia", "lee"}
    # A withdrawn one is gone at once.
    rig.fake.unapprove(PROJECT, 7, "mia")
    withdrawn = rig.evaluate()
    assert {r.author.login for r in withdrawn.snapshot.reviews} == {"lee"}
    # A push brings new files and commits.
    sha = rig.fake.push(PROJECT, 7, pusher="alice", contents={"src/new.py": "x\n"})
    pushed = rig.evaluate()
    assert pushed.snapshot.head_sha == sha
    assert "src/new.py" in {f.path for f in pushed.snapshot.files}
    assert sha in {c.sha for c in pushed.snapshot.commits}
    # Parts stored by an evaluation outlive it only within the forge cache's TTL.
    rig.clock.advance(seconds=rig.settings.forge_cache_seconds + 1)
    assert approvals in routes(rig.evaluate().requests)


def test_retried_and_failed_requests_are_counted_too(rig):
    _ready_mr(rig)
    rig.fake.fail("GET /projects/:id/merge_requests/:iid/commits", status=500)
    evaluated = rig.evaluate(publish=False)
    commits = [line for line in evaluated.tally if "/commits?" in line]
    assert [line.rsplit(" ", 1)[1] for line in commits] == ["500", "200"]


def test_no_token_reaches_a_log_an_error_or_a_repr(rig, caplog):
    _ready_mr(rig)
    rig.fake.fail("GET /projects/:id/merge_requests/:iid/diffs", status=500, times=10)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(GitLabError) as raised,
        rig.open() as ev,
    ):
        ev.snapshot(SnapshotNeeds())
    token = rig.fake.token
    assert "diffs" in caplog.text  # the debug log was on
    for text in [caplog.text, str(raised.value), repr(raised.value), repr(rig.forge),
                 repr(ev), repr(ev.client), str(ev.tally.sent), repr(rig.settings)]:
        assert token not in text
    assert redact(f"PRIVATE-TOKEN: {token}") == "[redacted]"
    assert redact(f"sent {token} and glrt-abcdefghijklmnopqrst") == "sent [redacted] and [redacted]"


def test_a_forge_needs_a_token(tmp_path):
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    )
    store = Store(settings.database_url)
    try:
        with pytest.raises(ConfigurationError, match="GITLAB_TOKEN"):
            GitLabForge(settings, store)
    finally:
        store.close()


def test_the_bot_username_is_read_once_per_forge(rig):
    _ready_mr(rig)
    tally = RequestTally()
    assert rig.forge.bot_username(tally) == "gatebot-bot"
    assert rig.forge.bot_username(tally) == "gatebot-bot"
    rig.evaluate()
    assert len(rig.fake.requests_for("GET /user")) == 1
    assert tally.lines() == ["GET /api/v4/user -> 200"]


def test_a_project_the_token_cannot_see_answers_404(tmp_path):
    with FakeGitLab(bot_username="review-bot") as fake:
        fake.add_project(PROJECT, files={".gitlab/gatebot.yml": ONE_APPROVAL}, bot_access=None)
        fake.open_mr(PROJECT, 7)
        settings = settings_for(fake, tmp_path)
        store = Store(settings.database_url)
        store.migrate()
        try:
            forge = GitLabForge(
                settings, store, retries=RetryPolicies.build(sleep=lambda _: None)
            )
            with (
                pytest.raises(GitLabError) as hidden,
                forge.evaluation(PullKey("gitlab", PROJECT, 7), None) as ev,
            ):
                ev.pull()
        finally:
            store.close()
    assert hidden.value.status == 404
    assert classify(hidden.value, 0).kind == "other"


# -- what a delivery names, checked against the API ---------------------------------


def test_a_key_spelling_the_project_otherwise_reads_nothing_more(rig):
    # GitLab finds `ACME/API` as `acme/api`; under that key the store would hold
    # none of the MR's holds, overrides or head history.
    _ready_mr(rig)
    mark = rig.fake.mark()
    with rig.open(project=PROJECT.upper()) as ev, pytest.raises(NotThisProject) as raised:
        ev.pull()
    assert f"{PROJECT.upper()} is not this merge request's project" in str(raised.value)
    assert f"GitLab says {PROJECT}" in str(raised.value)
    assert _gitlab_requests(rig, mark) == [
        f"GET /api/v4/projects/{PROJECT.upper().replace('/', '%2F')}/merge_requests/7"
    ]
    assert rig.evaluate().snapshot.head_sha  # the project's own path is fine


def test_a_note_is_confirmed_only_unedited():
    created = "2026-03-01T10:00:00.000Z"
    note = {"id": 5, "author": {"username": "Owner"}, "body": "/gate unhold",
            "created_at": created, "updated_at": created, "system": False}
    when = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert confirmed_note(note, "owner", "/gate unhold", when) == ("Owner", "/gate unhold", when)
    # A maintainer may edit anyone's note: an edited one commands nothing.
    edited = {**note, "updated_at": "2026-03-02T09:00:00.000Z"}
    assert confirmed_note(edited, "owner", "/gate unhold", when) == "it was edited"
    # Resolving its thread is no edit of its text.
    resolved = {**edited, "resolved_at": "2026-03-02T09:00:00.000Z"}
    assert confirmed_note(resolved, "owner", "/gate unhold", when) == ("Owner", "/gate unhold", when)
