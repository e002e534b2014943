"""Reading a PR's snapshot from the fake GitHub: one GraphQL query, its follow-up pages
and caps, and the REST reads for what GraphQL cannot tell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakegithub import FakeGitHub
from github import GithubException
from github_helpers import REPO, Rig, request_lines, rig_fixture, settings_for  # noqa: F401
from support.forge_rig import Clock, migrated_store

from bot.core.policy.needs import SnapshotNeeds
from bot.keys import PullKey
from bot.providers.github import snapshot as reads
from bot.store import heads, pull_heads

NOTHING_EXTRA = SnapshotNeeds()


def _repo(rig: Rig) -> None:
    rig.fake.add_repo(REPO, files={"README.md": "hello\n"})


def _snapshot(rig: Rig, number: int, needs: SnapshotNeeds = NOTHING_EXTRA):
    mark = rig.fake.mark()
    with rig.open(number) as ev:
        snap = ev.snapshot(needs)
    return snap, rig.fake.requests_since(mark)


def _pr_reads(requests) -> list[str]:
    """The requests reading the PR (not the token, the App's identity or permissions)."""
    return [
        line
        for line in request_lines(requests)
        if not line.split()[1].startswith("apps/") and "permission" not in line
    ]


def _follow_ups(requests, connection: str) -> int:
    """How many GraphQL queries asked for a further page of `connection`."""
    return sum(
        1
        for r in requests
        if r.operation_id == "graphql" and f"{connection}(first: 100, after:" in r.json["query"]
    )


def _pages(requests, operation):
    return [
        (r.query.get("per_page", [None])[0], r.query.get("page", ["1"])[0])
        for r in requests
        if r.operation_id == operation
    ]


def test_files_are_read_100_a_page_until_the_last(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, files=[f"src/f{i:03}.py" for i in range(250)])
    snap, requests = _snapshot(rig, 7)
    assert len(snap.files) == 250
    assert snap.files[0].path == "src/f000.py" and snap.files[-1].path == "src/f249.py"
    assert not snap.files_truncated
    assert snap.files_count == 250
    assert _pr_reads(requests) == ["POST graphql"] * 3  # the query, then 2 pages of files
    assert _follow_ups(requests, "files") == 2
    rig.fake.assert_all_valid()


def test_files_stop_at_githubs_3000_and_say_so(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, files=[f"gen/{i:04}.txt" for i in range(3005)])
    snap, requests = _snapshot(rig, 7)
    assert len(snap.files) == 3000
    assert snap.files_truncated
    assert snap.files_count == 3005  # GitHub's own count stays exact
    assert _pr_reads(requests) == ["POST graphql"] * 30
    assert _follow_ups(requests, "files") == 29
    rig.fake.assert_all_valid()


def test_renames_keep_the_old_path_and_line_counts(rig):
    _repo(rig)
    rig.fake.open_pr(
        REPO,
        7,
        files=[
            {
                "filename": "new/name.py",
                "previous_filename": "old/name.py",
                "status": "renamed",
                "additions": 3,
                "deletions": 1,
            },
            {"filename": "gone.py", "status": "removed", "additions": 0, "deletions": 9},
        ],
    )
    snap, requests = _snapshot(rig, 7)
    renamed, removed = snap.files
    assert (renamed.path, renamed.previous_path, renamed.status) == (
        "new/name.py",
        "old/name.py",
        "renamed",
    )
    assert (renamed.additions, renamed.deletions) == (3, 1)
    assert removed.status == "removed" and removed.deletions == 9
    # GraphQL's changed file has no previous path: a rename has the list read through REST.
    assert _pr_reads(requests) == ["POST graphql", "GET pulls/list-files"]
    rig.fake.assert_all_valid()


def test_files_without_a_rename_come_from_the_query_alone(rig):
    _repo(rig)
    rig.fake.open_pr(
        REPO, 7, files=[{"filename": "a.py", "status": "added", "additions": 2}, "b.py"]
    )
    snap, requests = _snapshot(rig, 7)
    assert [(f.path, f.status, f.additions) for f in snap.files] == [
        ("a.py", "added", 2), ("b.py", "modified", 1),
    ]
    assert _pr_reads(requests) == ["POST graphql"]


def test_commits_past_githubs_250_are_read_from_the_comparison(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, commits=[{"author": "alice"}] * 259 + [{"author": "zoe"}])
    snap, requests = _snapshot(rig, 7)
    assert len(snap.commits) == 260 and not snap.commits_truncated
    assert [c.sha for c in snap.commits] == pr.commits
    assert snap.commits[-1].author == "zoe"  # the contributor GitHub's PR list would hide
    assert snap.commits[1].parents == (snap.commits[0].sha,)
    assert _pages(requests, "pulls/list-commits") == []
    assert _pages(requests, "repos/compare-commits") == [("100", "1"), ("100", "2"), ("100", "3")]
    rig.fake.assert_all_valid()


def test_commits_the_comparison_cannot_list_in_full_are_flagged(rig, monkeypatch):
    monkeypatch.setattr(reads, "COMPARE_COMMITS_LIMIT", 200)
    _repo(rig)
    rig.fake.open_pr(REPO, 7, commits=[{"author": "alice"}] * 260)
    snap, requests = _snapshot(rig, 7)
    assert len(snap.commits) == 200
    assert snap.commits_truncated
    assert _pages(requests, "repos/compare-commits") == [("100", "1"), ("100", "2")]


def test_commits_carry_parents_author_and_committer(rig):
    _repo(rig)
    pr = rig.fake.open_pr(
        REPO,
        7,
        author="alice",
        commits=[{"author": "alice"}, {"author": "bob", "committer": "carol"}],
    )
    snap, _ = _snapshot(rig, 7)
    first, second = snap.commits
    assert second.sha == pr.head_sha and second.parents == (first.sha,)
    assert (first.author, first.committer) == ("alice", "alice")
    assert (second.author, second.committer) == ("bob", "carol")
    assert not snap.commits_truncated


def _compares(requests) -> list[str]:
    return [r.path.rsplit("/compare/", 1)[1] for r in requests
            if r.operation_id == "repos/compare-commits"]


def _merge(snap, sha):
    return next(c for c in snap.commits if c.sha == sha)


def test_an_update_merge_is_recognised_by_its_content(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    first = pr.head_sha
    base_tip = rig.fake.commit(REPO, "main", {"b.py": "2"})
    pressed = rig.fake.update_branch(REPO, 7, by="bob")
    snap, requests = _snapshot(rig, 7)
    merge = _merge(snap, pressed)
    assert merge.parents == (first, base_tip)
    assert merge.is_update_merge and merge.merge_note is None
    assert _compares(requests) == [
        f"{first}...{pressed}", f"{base_tip}...{pressed}", f"{base_tip}...{first}",
        f"{first}...{base_tip}",
    ]

    # a clean merge made and pushed by a person is one too: content, not names
    rig.fake.commit(REPO, "main", {"c.py": "3"})
    by_person = rig.fake.push_merge(REPO, 7, pusher="mallory")
    snap, _ = _snapshot(rig, 7)
    assert _merge(snap, by_person).is_update_merge
    rig.fake.assert_all_valid()


def test_a_merge_committed_as_web_flow_that_adds_a_file_is_not_an_update_merge(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    rig.fake.commit(REPO, "main", {"b.py": "2"})
    forged = rig.fake.push_merge(REPO, 7, pusher="alice", committer="web-flow",
                                 contents={"backdoor.py": "evil()"})
    snap, _ = _snapshot(rig, 7)
    merge = _merge(snap, forged)
    assert merge.committer == "web-flow"
    assert not merge.is_update_merge
    assert merge.merge_note == "it changes backdoor.py"


def test_a_merge_that_leaves_out_the_bases_changes_is_not_an_update_merge(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    rig.fake.commit(REPO, "main", {"README.md": "security fix\n"})
    ours = rig.fake.push_merge(REPO, 7, committer="web-flow", drop_base_changes=True)
    snap, _ = _snapshot(rig, 7)
    merge = _merge(snap, ours)
    assert not merge.is_update_merge
    assert merge.merge_note == "it leaves out the base branch's changes to README.md"


def test_a_merge_keeping_the_prs_side_of_a_file_the_base_also_changed_is_not_one(rig):
    # Both sides changed a.py; the merge keeps the PR's a.py, dropping the base's
    # fix in it: no path differs from the first parent, yet it is a resolution.
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "feature\n"})
    rig.fake.commit(REPO, "main", {"a.py": "security fix\n", "b.py": "2\n"})
    kept = rig.fake.push_merge(REPO, 7, committer="web-flow", contents={"a.py": "feature\n"})
    snap, _ = _snapshot(rig, 7)
    merge = _merge(snap, kept)
    assert not merge.is_update_merge
    assert merge.merge_note == "it leaves out the base branch's changes to a.py"


def test_merges_of_the_prs_own_commits_are_not_judged(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", commits=[{}, {}])
    world = rig.fake.world
    with world.lock:
        repo = world.repo(REPO)
        pr = world.pull(repo, 7)
        merge = world.add_commit(repo, [pr.head_sha, pr.commits[0]], committer="web-flow")
        pr.commits.append(merge.sha)
        world.set_head(repo, pr, merge.sha)
    snap, requests = _snapshot(rig, 7)
    assert not _merge(snap, merge.sha).is_update_merge
    assert _compares(requests) == []


def test_a_comparison_github_may_have_cut_fails_closed(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    rig.fake.commit(REPO, "main", {f"gen/{i:03}.txt": str(i) for i in range(300)})
    pressed = rig.fake.update_branch(REPO, 7)
    snap, _ = _snapshot(rig, 7)
    merge = _merge(snap, pressed)
    assert not merge.is_update_merge
    assert merge.merge_note is not None and "could not be read in full" in merge.merge_note


def test_a_merge_is_judged_once_and_a_pr_without_merges_costs_nothing(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", contents={"a.py": "1"})
    snap, requests = _snapshot(rig, 7)
    assert _compares(requests) == []

    rig.fake.commit(REPO, "main", {"b.py": "2"})
    pressed = rig.fake.update_branch(REPO, 7)
    snap, requests = _snapshot(rig, 7)
    assert len(_compares(requests)) == 4
    # a new head makes the PR's parts be read again, but not the merge's verdict
    rig.fake.push(REPO, 7, contents={"a.py": "2"})
    snap, requests = _snapshot(rig, 7)
    assert _merge(snap, pressed).is_update_merge
    assert _compares(requests) == []


def test_reviews_keep_their_commit_and_state(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    old_head = pr.head_sha
    rig.fake.add_review(REPO, 7, "mia", "APPROVED", body="looks good")
    new_head = rig.fake.push(REPO, 7, contents={"x.py": "2"})
    rig.fake.add_review(REPO, 7, "noor", "CHANGES_REQUESTED")
    rig.fake.add_review(REPO, 7, "ci-runner[bot]", "COMMENTED")
    snap, _ = _snapshot(rig, 7)
    by = {r.author.login: r for r in snap.reviews}
    assert by["mia"].commit_sha == old_head and by["mia"].state == "APPROVED"
    assert by["mia"].body == "looks good"
    assert by["noor"].commit_sha == new_head and by["noor"].state == "CHANGES_REQUESTED"
    assert by["ci-runner[bot]"].author.is_bot


def test_comments_are_read_only_when_the_policy_counts_them(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice")
    comment = rig.fake.add_comment(REPO, 7, "mia", "LGTM")
    rig.fake.add_comment(REPO, 7, "noor", "first")

    snap, requests = _snapshot(rig, 7)
    assert snap.comments == ()

    with rig.fake.world.lock:
        comment.updated_at = comment.created_at + timedelta(seconds=5)  # edited later
    snap, requests = _snapshot(
        rig, 7, SnapshotNeeds(comments=True, comment_phrases=frozenset({"LGTM"}))
    )
    assert _pr_reads(requests) == ["POST graphql"]  # the query reads them either way
    by = {c.author.login: c for c in snap.comments}
    assert by["mia"].body == "LGTM" and by["mia"].edited
    assert not by["noor"].edited


def test_comments_past_the_first_page_are_read_only_when_the_policy_counts_them(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice")
    for i in range(150):
        rig.fake.add_comment(REPO, 7, "ci-runner[bot]", f"build {i}")

    snap, requests = _snapshot(rig, 7)
    assert snap.comments == ()
    assert _pr_reads(requests) == ["POST graphql"]  # no page beyond the query's own

    snap, requests = _snapshot(rig, 7, SnapshotNeeds(comments=True))
    assert [c.body for c in snap.comments] == [f"build {i}" for i in range(150)]
    assert _pr_reads(requests) == ["POST graphql"] * 2
    assert _follow_ups(requests, "comments") == 1
    rig.fake.assert_all_valid()


def test_checks_are_every_check_run_and_status_of_the_head(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    sha = pr.head_sha
    rig.fake.set_check_run(REPO, sha, "ci / test", conclusion="failure", app_slug="ci")
    rig.fake.set_check_run(REPO, sha, "ci / test", conclusion="success", app_slug="ci")
    rig.fake.set_check_run(REPO, sha, "lint", status="in_progress", app_slug="lint-app")
    rig.fake.set_status(REPO, sha, "jenkins", "pending")
    rig.fake.set_status(REPO, sha, "jenkins", "success")

    snap, requests = _snapshot(rig, 7, SnapshotNeeds(checks=True))
    runs = sorted((c.name, c.state, c.app) for c in snap.checks if c.kind == "check_run")
    assert runs == [
        ("ci / test", "failure", "ci"),
        ("ci / test", "success", "ci"),
        ("lint", "in_progress", "lint-app"),
    ]
    # GraphQL lists the latest status per context, as GitHub's combined status does.
    statuses = [(c.name, c.state, c.app) for c in snap.checks if c.kind == "status"]
    assert statuses == [("jenkins", "success", "ci-bot")]
    assert _pr_reads(requests) == ["POST graphql"]
    query = next(r for r in requests if r.operation_id == "graphql").json["query"]
    assert "{checkType: ALL}" in query  # every run, not only the latest: the core picks
    rig.fake.assert_all_valid()

    snap, requests = _snapshot(rig, 7)
    assert snap.checks == ()


def test_checks_of_a_head_pushed_between_githubs_reads_come_from_rest(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    rig.fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion="success", app_slug="ci")
    world = rig.fake.world
    with world.lock:
        # The PR's head moved on, but the commit list GitHub serves still ends before it.
        repo = world.repo(REPO)
        pull = world.pull(repo, 7)
        newer = world.add_commit(repo, [pull.head_sha], contents={"x.py": "2"}, author="alice")
        pull.head_sha = newer.sha
    rig.fake.set_check_run(REPO, newer.sha, "ci / test", conclusion="failure", app_slug="ci")
    snap, requests = _snapshot(rig, 7, SnapshotNeeds(checks=True))
    assert snap.head_sha == newer.sha
    assert [(c.name, c.state) for c in snap.checks] == [("ci / test", "failure")]
    assert _pr_reads(requests) == [
        "POST graphql",
        "GET checks/list-for-ref",
        "GET repos/list-commit-statuses-for-ref",
    ]
    rig.fake.assert_all_valid()


def test_commits_of_a_bot_come_from_rest_which_names_it(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice", commits=[{"author": "renovate[bot]"}])
    snap, requests = _snapshot(rig, 7)
    assert snap.commits[0].author == "renovate[bot]"
    assert _pr_reads(requests) == ["POST graphql", "GET pulls/list-commits"]
    rig.fake.assert_all_valid()


def test_a_bot_and_a_deleted_account_are_named_as_rest_names_them(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="dependabot[bot]")
    rig.fake.add_comment(REPO, 7, "ci-runner[bot]", "done")
    snap, _ = _snapshot(rig, 7, SnapshotNeeds(comments=True))
    assert snap.author.login == "dependabot[bot]" and snap.author.is_bot
    assert snap.comments[0].author.login == "ci-runner[bot]" and snap.comments[0].author.is_bot


def test_labels_draft_and_author(rig):
    _repo(rig)
    rig.fake.open_pr(
        REPO,
        7,
        author="alice",
        draft=True,
        labels=["Ready", "backend"],
        title="Add things",
        body=None,
    )
    snap, _ = _snapshot(rig, 7)
    assert snap.labels == ("Ready", "backend")
    assert snap.draft
    assert snap.title == "Add things" and snap.body == ""
    assert snap.author.login == "alice" and not snap.author.is_bot
    assert snap.base_ref == "main" and snap.head_ref == "feature-7"


def test_push_times_and_pushers_come_from_the_store(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice", commits=[{}, {}])
    earlier = rig.clock.now - timedelta(minutes=10)
    key = PullKey("github", REPO, 7)
    with rig.store.begin() as conn:
        heads.record(conn, "github", REPO, pr.commits[0], earlier, pushed=True, pusher="alice")
        heads.record(conn, "github", REPO, pr.head_sha, rig.clock.now, pushed=True, pusher="bob")
        heads.record(conn, "github", REPO, "f" * 40, earlier, pushed=True, pusher="zed")
        pull_heads.note(conn, key, pr.commits[0], "main", earlier)
        pull_heads.note(conn, key, pr.head_sha, "main", rig.clock.now)
        # Another PR's history is not this one's.
        pull_heads.note(conn, PullKey("github", REPO, 8), pr.head_sha, "main", earlier)
    snap, _ = _snapshot(rig, 7)
    assert [(c.sha, c.base_ref, c.at) for c in snap.head_history] == [
        (pr.commits[0], "main", earlier), (pr.head_sha, "main", rig.clock.now)
    ]
    assert snap.pushers == ("alice", "bob")


def test_the_bot_knows_itself_and_the_time(rig):
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice")
    snap, requests = _snapshot(rig, 7)
    assert snap.bot.logins == ("gatebot[bot]",)
    assert snap.bot.context_prefix == "gatebot"
    assert snap.evaluated_at == rig.clock.now
    assert request_lines(requests).count("GET apps/get-authenticated") == 1
    _, again = _snapshot(rig, 7)
    assert "GET apps/get-authenticated" not in request_lines(again)  # read once per process


def test_github_enterprise_is_asked_at_api_graphql_beside_api_v3(tmp_path):
    with FakeGitHub(enterprise=True) as fake:
        settings = settings_for(fake, tmp_path, GITHUB_API_URL=fake.api_url)
        with migrated_store(settings) as store:
            rig = Rig(fake, store, settings, Clock())
            _repo(rig)
            rig.fake.open_pr(REPO, 7, author="alice", files=["a.py"])
            snap, requests = _snapshot(rig, 7)
    assert [f.path for f in snap.files] == ["a.py"]
    assert [r.path for r in requests if r.operation_id == "graphql"] == ["/api/graphql"]
    fake.assert_all_valid()


PROTECTED = """\
version: 1
policy:
  approval: [reviewed, deploy-owners]
rules:
  - name: reviewed
    requires:
      approvals: 1
      from: {permission: write}
  - name: deploy-owners
    if:
      changed_files:
        paths: ["deploy/**"]
    requires:
      approvals: 1
      from: {users: [olga]}
"""


def test_renaming_a_protected_file_out_of_its_directory_still_needs_its_owners(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": PROTECTED, "deploy/prod.yml": "a\n"})
    rig.fake.set_role(REPO, "mia", "write")
    moved = {
        "filename": "docs/prod.yml",
        "previous_filename": "deploy/prod.yml",
        "status": "renamed",
        "additions": 0,
        "deletions": 0,
    }
    rig.fake.open_pr(REPO, 7, author="alice", files=[moved])
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    done = rig.evaluate(7)
    # GraphQL lists only the new path: the old one comes from REST's file list.
    assert "GET pulls/list-files" in request_lines(done.requests)
    assert [(f.path, f.previous_path) for f in done.snapshot.files] == [
        ("docs/prod.yml", "deploy/prod.yml"),
    ]
    assert done.decision.state == "pending"
    assert "deploy-owners" in done.decision.description
    rig.fake.assert_all_valid()


def test_check_suites_and_runs_past_one_page_are_followed_in_graphql(rig):
    _repo(rig)
    pr = rig.fake.open_pr(REPO, 7, author="alice")
    for i in range(101):  # one App's suite with 101 runs
        rig.fake.set_check_run(REPO, pr.head_sha, f"job {i}", conclusion="success", app_slug="ci")
    for i in range(100):  # 101 suites in all
        rig.fake.set_check_run(
            REPO, pr.head_sha, "scan", conclusion="success", app_slug=f"app{i:03}",
            app_id=20_000 + i,
        )
    snap, requests = _snapshot(rig, 7, SnapshotNeeds(checks=True))
    runs = [c for c in snap.checks if c.kind == "check_run"]
    assert len(runs) == 201
    assert {c.app for c in runs} == {"ci", *(f"app{i:03}" for i in range(100))}
    queries = [r.json["query"] for r in requests if r.operation_id == "graphql"]
    assert _pr_reads(requests) == ["POST graphql"] * 3
    assert sum("checkSuites(first: 100, after:" in q for q in queries) == 1
    assert sum("node(id: $id)" in q for q in queries) == 1  # the 101st run of the big suite
    rig.fake.assert_all_valid()


def test_a_graphql_answer_with_errors_is_never_judged_in_part(rig):
    # GitHub answers 200 with `errors` beside whatever data it could give: a PR whose
    # reviews or author failed to resolve must not be judged from the rest.
    _repo(rig)
    rig.fake.open_pr(REPO, 7, author="alice")
    partial = {
        "data": {"repository": {"pullRequest": None}},
        "errors": [{"message": "Something went wrong while executing your query.",
                    "path": ["repository", "pullRequest", "reviews"]}],
    }
    rig.fake.fail("graphql", status=200, body=partial, times=10)
    with pytest.raises(GithubException) as raised:
        _snapshot(rig, 7)
    assert raised.value.status != 404  # an error, not "no such PR"
