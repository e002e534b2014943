"""The fake GitHub, driven by the real PyGithub client (and plain requests) over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading

import github
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakegithub import FakeGitHub, sign
from github import Auth

REPO = "acme/api"
POLICY_MAIN = "version: 1\nrules: main\n"
POLICY_PR = "version: 1\nrules: changed-by-the-pr\n"


def client(fake: FakeGitHub, token: str | None = None, *, lazy: bool = False) -> github.Github:
    return github.Github(
        base_url=fake.url,
        auth=Auth.Token(token or fake.mint_token(REPO)),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
        per_page=100,
        lazy=lazy,
    )


def http(
    fake: FakeGitHub, method: str, path: str, token: str | None = None, **kwargs
) -> requests.Response:
    headers = {
        "Authorization": f"token {token or fake.mint_token(REPO)}",
        "Accept": "application/vnd.github+json",
    }
    return requests.request(method, f"{fake.url}{path}", headers=headers, timeout=10, **kwargs)


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    """acme/api with a policy on main and PR #7 from `feature` changing it."""
    fake_github.add_repo(
        REPO, files={".github/gatebot.yml": POLICY_MAIN, "src/app.py": "print(1)\n"}
    )
    fake_github.open_pr(
        REPO,
        7,
        author="alice",
        title="Add the feature",
        head="feature",
        contents={".github/gatebot.yml": POLICY_PR, "src/app.py": "print(2)\n"},
    )
    return fake_github


# -- authentication -----------------------------------------------------------


def test_app_jwt_then_installation_token_through_github_integration(fake: FakeGitHub) -> None:
    integration = github.GithubIntegration(
        auth=Auth.AppAuth(fake.app_id, fake.private_key_pem),
        base_url=fake.url,
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    installation = integration.get_repo_installation("acme", "api")
    token = integration.get_access_token(installation.id)

    assert installation.id == fake.installation_id(REPO)
    assert token.token.startswith("ghs_")
    assert 3500 < (token.expires_at - dt.datetime.now(dt.UTC)).total_seconds() <= 3600
    assert client(fake, token.token).get_repo(REPO).full_name == REPO
    jwt_calls = fake.requests_for(path=r"^/(app|repos/acme/api/installation)")
    assert [r.auth_kind for r in jwt_calls] == ["app", "app"]
    assert all(r.auth_scheme == "bearer" for r in jwt_calls)
    assert fake.token_mints == 1


def test_app_installation_auth_mints_a_token_on_first_use(fake: FakeGitHub) -> None:
    auth = Auth.AppAuth(fake.app_id, fake.private_key_pem).get_installation_auth(
        fake.installation_id(REPO)
    )
    gh = github.Github(
        base_url=fake.url,
        auth=auth,
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )

    assert gh.get_repo(REPO).get_pull(7).title == "Add the feature"
    assert fake.token_mints == 1
    assert fake.requests[-1].auth_kind == "installation"


def test_a_jwt_from_another_key_or_app_id_is_refused(fake: FakeGitHub) -> None:
    other_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    for app_id, key in ((fake.app_id, other_key), (fake.app_id + 1, fake.private_key_pem)):
        integration = github.GithubIntegration(
            auth=Auth.AppAuth(app_id, key),
            base_url=fake.url,
            retry=None,
            seconds_between_requests=0,
        )
        with pytest.raises(github.GithubException) as caught:
            integration.get_access_token(fake.installation_id(REPO))
        assert caught.value.status == 401
    assert fake.token_mints == 0


def test_repository_calls_need_a_valid_installation_token(fake: FakeGitHub) -> None:
    url = f"{fake.url}/repos/{REPO}/pulls/7"
    assert requests.get(url, timeout=5).status_code == 401
    assert (
        requests.get(url, headers={"Authorization": "token ghs_wrong"}, timeout=5).status_code
        == 401
    )
    assert (
        requests.get(
            url, headers={"Authorization": f"Bearer {fake.mint_token(REPO)}"}, timeout=5
        ).status_code
        == 200
    )
    with pytest.raises(github.BadCredentialsException):
        client(fake, "ghs_not-a-token").get_repo(REPO)

    token = fake.mint_token(REPO)
    fake.expire_tokens()
    assert http(fake, "GET", f"/repos/{REPO}/pulls/7", token).json()["message"] == "Bad credentials"

    fake.add_repo("other/svc")
    assert http(fake, "GET", "/repos/other/svc", fake.mint_token(REPO)).status_code == 404
    assert [r.status for r in fake.requests] == [401, 401, 200, 401, 401, 404]


# -- pagination, files, content ------------------------------------------------


def test_250_files_come_in_three_pages_of_100_with_github_link_headers(fake: FakeGitHub) -> None:
    fake.open_pr(REPO, 8, files=[f"src/f{i:03}.py" for i in range(250)])
    files = list(client(fake).get_repo(REPO).get_pull(8).get_files())

    assert [f.filename for f in files] == [f"src/f{i:03}.py" for i in range(250)]
    pages = fake.requests_for("pulls/list-files")
    assert [len(r.response_json) for r in pages] == [100, 100, 50]
    base = f"{fake.url}/repos/{REPO}/pulls/8/files"
    assert pages[0].response_headers["Link"] == (
        f'<{base}?per_page=100&page=2>; rel="next", <{base}?per_page=100&page=3>; rel="last"'
    )
    assert pages[2].response_headers["Link"] == (
        f'<{base}?per_page=100&page=2>; rel="prev", <{base}?per_page=100&page=1>; rel="first"'
    )


def test_per_page_defaults_to_30_and_is_capped_at_100(fake: FakeGitHub) -> None:
    fake.open_pr(REPO, 9, files=[f"f{i}" for i in range(150)])
    default = http(fake, "GET", f"/repos/{REPO}/pulls/9/files")
    too_many = http(fake, "GET", f"/repos/{REPO}/pulls/9/files", params={"per_page": 500})

    assert len(default.json()) == 30
    assert 'page=5>; rel="last"' in default.headers["Link"]
    assert len(too_many.json()) == 100
    assert "Link" not in http(fake, "GET", f"/repos/{REPO}/pulls/7/files").headers


def test_pull_request_files_stop_at_3000(fake: FakeGitHub) -> None:
    fake.open_pr(REPO, 10, files=[f"f{i}" for i in range(3100)])

    last = http(fake, "GET", f"/repos/{REPO}/pulls/10/files", params={"per_page": 100, "page": 30})
    beyond = http(
        fake, "GET", f"/repos/{REPO}/pulls/10/files", params={"per_page": 100, "page": 31}
    )

    assert len(last.json()) == 100 and last.json()[-1]["filename"] == "f2999"
    assert beyond.json() == []
    assert http(fake, "GET", f"/repos/{REPO}/pulls/10").json()["changed_files"] == 3100


def test_get_content_honours_the_ref(fake: FakeGitHub) -> None:
    repo = client(fake).get_repo(REPO)
    head = fake.pr(REPO, 7).head_sha

    assert (
        repo.get_contents(".github/gatebot.yml", ref="main").decoded_content.decode() == POLICY_MAIN
    )
    assert repo.get_contents(".github/gatebot.yml", ref=head).decoded_content.decode() == POLICY_PR
    assert (
        repo.get_contents(".github/gatebot.yml", ref="feature").decoded_content.decode()
        == POLICY_PR
    )
    assert repo.get_contents(".github/gatebot.yml").decoded_content.decode() == POLICY_MAIN
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("CODEOWNERS", ref="main")
    with pytest.raises(github.GithubException) as caught:
        repo.get_contents(".github/gatebot.yml", ref="no-such-branch")
    assert (caught.value.status, caught.value.data["message"]) == (
        404,
        "No commit found for the ref no-such-branch",
    )
    assert [c.path for c in repo.get_contents(".github", ref="main")] == [".github/gatebot.yml"]

    fake.set_file(REPO, "main", "CODEOWNERS", "* @acme/core\n")
    assert repo.get_contents("CODEOWNERS", ref="main").decoded_content == b"* @acme/core\n"
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("CODEOWNERS", ref=head)


# -- people ----------------------------------------------------------------------


def test_role_name_is_unfolded_while_permission_is_folded(fake: FakeGitHub) -> None:
    fake.set_role(REPO, "mia", "maintain")
    fake.set_role(REPO, "tom", "triage")
    fake.set_role(REPO, "sec", "security-reviewer", base="write")
    fake.add_user("nobody")
    repo = client(fake).get_repo(REPO)

    assert (repo.get_collaborator_permission("mia"), repo.get_collaborator_role_name("mia")) == (
        "write",
        "maintain",
    )
    assert (repo.get_collaborator_permission("tom"), repo.get_collaborator_role_name("tom")) == (
        "read",
        "triage",
    )
    assert (repo.get_collaborator_permission("sec"), repo.get_collaborator_role_name("sec")) == (
        "write",
        "security-reviewer",
    )
    assert repo.get_collaborator_permission("nobody") == "none"
    user = fake.requests_for("repos/get-collaborator-permission-level")[0].response_json["user"]
    assert user["permissions"] == {
        "admin": False,
        "maintain": True,
        "push": True,
        "triage": True,
        "pull": True,
    }
    with pytest.raises(github.UnknownObjectException):
        repo.get_collaborator_permission("never-seen")


def test_team_and_organisation_membership(fake: FakeGitHub) -> None:
    fake.add_team("acme", "core", members=["mia"], maintainers=["lee"], pending=["new"])
    member = http(fake, "GET", "/orgs/acme/teams/core/memberships/mia")
    maintainer = http(fake, "GET", "/orgs/acme/teams/core/memberships/LEE")
    pending = http(fake, "GET", "/orgs/acme/teams/core/memberships/new")

    assert (member.status_code, member.json()["role"], member.json()["state"]) == (
        200,
        "member",
        "active",
    )
    assert maintainer.json()["role"] == "maintainer"
    assert pending.json()["state"] == "pending"
    assert http(fake, "GET", "/orgs/acme/teams/core/memberships/alice").status_code == 404
    assert http(fake, "GET", "/orgs/acme/teams/nope/memberships/mia").status_code == 404
    assert http(fake, "GET", "/orgs/acme/members/mia").status_code == 204
    assert http(fake, "GET", "/orgs/acme/members/alice").status_code == 404

    fake.remove_team_member("acme", "core", "mia")
    assert http(fake, "GET", "/orgs/acme/teams/core/memberships/mia").status_code == 404
    fake.assert_all_valid()


# -- merging -------------------------------------------------------------------------


def test_merge_with_the_head_sha_merges_onto_the_base(fake: FakeGitHub) -> None:
    pr = client(fake).get_repo(REPO).get_pull(7)
    base_before = fake.branch_sha(REPO, "main")

    result = pr.merge(sha=pr.head.sha, merge_method="merge", commit_title="Merge #7")

    assert result.merged and result.message == "Pull Request successfully merged"
    assert fake.branch_sha(REPO, "main") == result.sha
    assert fake.repo(REPO).commits[result.sha].parents == [base_before, pr.head.sha]
    assert fake.file(REPO, "main", ".github/gatebot.yml") == POLICY_PR
    assert [(m.number, m.method, m.requested_sha, m.merge_commit_sha) for m in fake.merges] == [
        (7, "merge", pr.head.sha, result.sha)
    ]
    reread = client(fake).get_repo(REPO).get_pull(7)
    assert (reread.merged, reread.state, reread.merge_commit_sha) == (True, "closed", result.sha)


def test_squash_and_rebase_create_commits_with_a_single_parent(fake: FakeGitHub) -> None:
    fake.open_pr(
        REPO, 8, commits=[{"message": "one"}, {"message": "two"}], contents={"b.txt": "b\n"}
    )
    repo = client(fake).get_repo(REPO)
    squash = repo.get_pull(7).merge(merge_method="squash")
    rebase = repo.get_pull(8).merge(merge_method="rebase")

    commits = fake.repo(REPO).commits
    assert len(commits[squash.sha].parents) == 1
    assert commits[rebase.sha].message == "two"
    assert commits[commits[rebase.sha].parents[0]].parents == [squash.sha]


def test_merge_with_a_stale_sha_is_a_409(fake: FakeGitHub) -> None:
    pr = client(fake).get_repo(REPO).get_pull(7)
    fake.push(REPO, 7, pusher="bob")

    with pytest.raises(github.GithubException) as caught:
        pr.merge(sha=pr.head.sha)

    assert caught.value.status == 409
    assert (
        caught.value.data["message"] == "Head branch was modified. Review and try the merge again."
    )
    assert not fake.pr(REPO, 7).merged and fake.merges == []


def test_merge_of_an_unmergeable_pull_request_is_a_405(fake: FakeGitHub) -> None:
    fake.set_mergeable(REPO, 7, False)
    pr = client(fake).get_repo(REPO).get_pull(7)
    with pytest.raises(github.GithubException) as caught:
        pr.merge(sha=pr.head.sha)
    assert (caught.value.status, caught.value.data["message"]) == (
        405,
        "Pull Request is not mergeable",
    )

    fake.set_mergeable(REPO, 7, True)
    fake.set_repo(REPO, merge_methods={"squash"})
    with pytest.raises(github.GithubException) as caught:
        pr.merge(merge_method="merge")
    assert (caught.value.status, caught.value.data["message"]) == (
        405,
        "Merge commits are not allowed on this repository.",
    )
    assert not fake.pr(REPO, 7).merged


def test_branch_protection_404_when_none_and_required_contexts_block_the_merge(
    fake: FakeGitHub,
) -> None:
    assert (
        http(fake, "GET", f"/repos/{REPO}/branches/main/protection").json()["message"]
        == "Branch not protected"
    )
    fake.protect_branch(REPO, "main", contexts=["gatebot: main"])
    repo = client(fake).get_repo(REPO)
    pr = repo.get_pull(7)

    protection = http(fake, "GET", f"/repos/{REPO}/branches/main/protection").json()
    assert protection["required_status_checks"]["contexts"] == ["gatebot: main"]
    with pytest.raises(github.GithubException) as caught:
        pr.merge(sha=pr.head.sha)
    assert caught.value.data["message"] == 'Required status check "gatebot: main" is expected.'

    repo.get_commit(pr.head.sha).create_status("success", context="gatebot: main")
    assert pr.merge(sha=pr.head.sha).merged
    fake.assert_all_valid()


def test_mergeable_is_null_on_the_first_read_after_a_push(fake: FakeGitHub) -> None:
    repo = client(fake).get_repo(REPO)

    def read() -> tuple[bool | None, str]:
        pr = repo.get_pull(7)
        return pr.mergeable, pr.mergeable_state

    assert read() == (None, "unknown")
    assert read() == (True, "clean")
    new_head = fake.push(REPO, 7, pusher="bob", contents={"src/app.py": "print(3)\n"})
    assert read() == (None, "unknown")
    assert read() == (True, "clean")
    assert repo.get_pull(7).head.sha == new_head
    assert [c.sha for c in repo.get_pull(7).get_commits()][-1] == new_head


def test_update_branch_honours_expected_head_sha(fake: FakeGitHub) -> None:
    fake.commit(REPO, "main", {"docs/new.md": "hello\n"}, message="Advance main")
    pr = client(fake).get_repo(REPO).get_pull(7)
    old_head = pr.head.sha

    assert pr.update_branch("0" * 40) is False
    assert fake.requests[-1].status == 422
    assert pr.update_branch(old_head) is True

    new_head = fake.pr(REPO, 7).head_sha
    assert fake.repo(REPO).commits[new_head].parents == [old_head, fake.branch_sha(REPO, "main")]
    assert fake.file(REPO, new_head, "docs/new.md") == "hello\n"
    assert fake.file(REPO, new_head, ".github/gatebot.yml") == POLICY_PR
    assert [(u.old_head_sha, u.new_head_sha) for u in fake.branch_updates] == [(old_head, new_head)]


def test_delete_ref_and_compare(fake: FakeGitHub) -> None:
    fake.commit(REPO, "main", {"x": "1"})
    compare = http(fake, "GET", f"/repos/{REPO}/compare/main...feature").json()
    assert (compare["status"], compare["ahead_by"], compare["behind_by"]) == ("diverged", 1, 1)
    assert sorted(f["filename"] for f in compare["files"]) == [".github/gatebot.yml", "src/app.py"]

    assert http(fake, "DELETE", f"/repos/{REPO}/git/refs/heads/feature").status_code == 204
    assert http(fake, "DELETE", f"/repos/{REPO}/git/refs/heads/feature").status_code == 422
    assert fake.branch_sha(REPO, "feature") is None and fake.deleted_refs == [
        (REPO, "heads/feature")
    ]
    fake.assert_all_valid()


# -- statuses, checks, conversation ---------------------------------------------------


def test_statuses_and_check_runs_per_sha(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    fake.set_status(REPO, head, "ci/build", "pending")
    fake.set_status(REPO, head, "ci/build", "success")
    fake.set_check_run(REPO, head, "tests", conclusion="failure")
    fake.set_check_run(REPO, head, "tests", conclusion="success")
    commit = client(fake).get_repo(REPO).get_commit(head)

    run = (
        client(fake)
        .get_repo(REPO)
        .create_check_run(name="gatebot: main", head_sha=head, status="in_progress")
    )
    run.edit(conclusion="success", output={"title": "Approved", "summary": "All rules pass"})
    commit.create_status("success", context="gatebot: main", description="Approved")

    combined = commit.get_combined_status()
    assert (combined.state, sorted(s.context for s in combined.statuses)) == (
        "success",
        ["ci/build", "gatebot: main"],
    )
    listed = http(fake, "GET", f"/repos/{REPO}/commits/{head}/statuses").json()
    assert [(s["context"], s["state"]) for s in listed] == [
        ("gatebot: main", "success"),
        ("ci/build", "success"),
        ("ci/build", "pending"),
    ]
    latest = {r.name: r.conclusion for r in commit.get_check_runs()}
    assert latest == {"tests": "success", "gatebot: main": "success"}
    assert len(list(commit.get_check_runs(filter="all"))) == 3
    assert [r.app_slug for r in fake.check_runs(REPO, head)] == ["ci", "ci", "gatebot"]
    assert [s.creator for s in fake.statuses(REPO, head)][-1] == "gatebot[bot]"
    fake.set_status(REPO, head, "ci/lint", "error")
    assert commit.get_combined_status().state == "failure"
    fake.assert_all_valid()


def test_comments_reactions_labels_and_reviews(fake: FakeGitHub) -> None:
    fake.add_review(REPO, 7, "mia", "CHANGES_REQUESTED", body="no")
    fake.add_review(REPO, 7, "mia", "APPROVED")
    human = fake.add_comment(REPO, 7, "carol", "/gatebot explain")
    pr = client(fake).get_repo(REPO).get_pull(7)

    mine = pr.create_issue_comment("Verdict: blocked")
    mine.edit("Verdict: approved")
    assert human.id in [c.id for c in pr.get_issue_comments()]
    reaction_status = [
        http(
            fake,
            "POST",
            f"/repos/{REPO}/issues/comments/{human.id}/reactions",
            json={"content": "eyes"},
        ).status_code
        for _ in range(2)
    ]
    assert reaction_status == [201, 200]
    assert [(r.user, r.content) for r in fake.reactions(REPO, human.id)] == [
        ("gatebot[bot]", "eyes")
    ]
    assert [c.body for c in fake.comments(REPO, 7)] == ["/gatebot explain", "Verdict: approved"]

    pr.add_to_labels("gatebot: approved", "needs-deploy")
    pr.remove_from_labels("needs-deploy")
    assert fake.labels(REPO, 7) == ["gatebot: approved"]
    reviews = list(pr.get_reviews())
    assert [(r.user.login, r.state, r.commit_id) for r in reviews] == [
        ("mia", "CHANGES_REQUESTED", pr.head.sha),
        ("mia", "APPROVED", pr.head.sha),
    ]
    fake.edit_comment(REPO, human.id, "/gatebot override")
    assert [c.body for c in pr.get_issue_comments()][0] == "/gatebot override"
    fake.assert_all_valid()


def test_deployments_follow_github_defaults(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    fake.set_status(REPO, head, "ci/build", "failure")
    repo = client(fake).get_repo(REPO)

    with pytest.raises(github.GithubException) as conflict:
        repo.create_deployment(ref=head, environment="staging")
    assert conflict.value.status == 409
    fake.commit(REPO, "main", {"x": "1"})
    auto = http(
        fake,
        "POST",
        f"/repos/{REPO}/deployments",
        json={"ref": "feature", "environment": "staging"},
    )
    assert auto.status_code == 202 and fake.deployments == []

    deployment = repo.create_deployment(
        ref=head, environment="staging", auto_merge=False, required_contexts=[]
    )
    deployment.create_status("success", environment_url="https://staging.example.com")
    assert [(d.sha, d.environment, [s.state for s in d.statuses]) for d in fake.deployments] == [
        (head, "staging", ["success"])
    ]
    assert [d.id for d in repo.get_deployments(environment="staging")] == [deployment.id]
    fake.assert_all_valid()


def test_dispatches_are_recorded_and_workflow_dispatch_needs_a_ref(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    refused = http(
        fake, "POST", f"/repos/{REPO}/actions/workflows/deploy.yml/dispatches", json={"ref": head}
    )
    accepted = http(
        fake,
        "POST",
        f"/repos/{REPO}/actions/workflows/deploy.yml/dispatches",
        json={"ref": "main", "inputs": {"pr": "7"}},
    )
    client(fake).get_repo(REPO).create_repository_dispatch("gatebot-approved", {"pr": 7})

    assert (refused.status_code, accepted.status_code) == (422, 204)
    assert [(d.kind, d.workflow_id, d.ref, d.inputs, d.event_type) for d in fake.dispatches] == [
        ("workflow", "deploy.yml", "main", {"pr": "7"}, None),
        ("repository", None, None, None, "gatebot-approved"),
    ]


# -- faults ----------------------------------------------------------------------------


def test_injected_500_then_success(fake: FakeGitHub) -> None:
    fake.fail("pulls/get", status=500)
    repo = client(fake).get_repo(REPO)

    with pytest.raises(github.GithubException) as caught:
        repo.get_pull(7)
    assert caught.value.status == 500
    assert repo.get_pull(7).number == 7
    assert [(r.status, r.injected) for r in fake.requests_for("pulls/get")] == [
        (500, "fault"),
        (200, None),
    ]


def test_a_merge_can_answer_500_after_it_happened(fake: FakeGitHub) -> None:
    fake.fail("pulls/merge", status=502, after_action=True)
    pr = client(fake).get_repo(REPO).get_pull(7)

    with pytest.raises(github.GithubException) as caught:
        pr.merge(sha=pr.head.sha)

    assert caught.value.status == 502
    assert fake.pr(REPO, 7).merged and len(fake.merges) == 1
    assert fake.requests_for("pulls/merge")[0].performed


def test_secondary_rate_limit_carries_retry_after(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit("pulls/list-files", retry_after=7)
    fake.secondary_rate_limit("pulls/get", retry_after=3, status=429)
    pr = client(fake, lazy=True).get_repo(REPO).get_pull(7)  # lazy: no request yet

    with pytest.raises(github.RateLimitExceededException) as caught:
        list(pr.get_files())
    assert caught.value.status == 403
    assert caught.value.headers["retry-after"] == "7"
    assert caught.value.headers["x-ratelimit-remaining"] != "0"
    answer = http(fake, "GET", f"/repos/{REPO}/pulls/7")
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "3")
    assert "secondary rate limit" in answer.json()["message"]
    assert http(fake, "GET", f"/repos/{REPO}/pulls/7").status_code == 200


def test_a_held_merge_waits_for_release(fake: FakeGitHub) -> None:
    hold = fake.hold("pulls/merge", after_action=True)
    pr = client(fake).get_repo(REPO).get_pull(7)
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(pr.merge(sha=pr.head.sha).merged))
    worker.start()

    assert hold.wait_arrived(5)
    assert fake.pr(REPO, 7).merged and results == []  # performed, answer still held
    # The server keeps answering other requests meanwhile, and they see the merge.
    assert http(fake, "GET", f"/repos/{REPO}/pulls/7").json()["merged"] is True
    hold.release()
    worker.join(5)
    assert results == [True]


def test_a_request_held_before_the_action_changes_nothing_until_released(fake: FakeGitHub) -> None:
    hold = fake.hold("pulls/merge")
    pr = client(fake).get_repo(REPO).get_pull(7)
    worker = threading.Thread(target=pr.merge)
    worker.start()

    assert hold.wait_arrived(5)
    assert not fake.pr(REPO, 7).merged
    hold.release()
    worker.join(5)
    assert fake.pr(REPO, 7).merged


# -- the contract ----------------------------------------------------------------------


def test_unknown_operation_is_answered_404_and_recorded(fake: FakeGitHub) -> None:
    with pytest.raises(github.UnknownObjectException):
        client(fake).get_user("alice").name  # noqa: B018 - the attribute read is the request

    assert [(r.method, r.path, r.status) for r in fake.unknown_requests] == [
        ("GET", "/users/alice", 404)
    ]
    assert (
        "no operation in rest-operations.json"
        in fake.unknown_requests[0].response_json["fake_github"]
    )
    with pytest.raises(AssertionError, match="not an operation in rest-operations.json"):
        fake.assert_all_valid()


def test_assert_all_valid_passes_on_a_typical_evaluation(fake: FakeGitHub) -> None:
    fake.set_role(REPO, "mia", "maintain")
    fake.add_review(REPO, 7, "mia")
    fake.add_comment(REPO, 7, "carol", "hello")
    fake.add_label(REPO, 7, "bug")
    head = fake.pr(REPO, 7).head_sha
    fake.set_check_run(REPO, head, "tests")
    repo = client(fake).get_repo(REPO)
    pr = repo.get_pull(7)
    (
        list(pr.get_files()),
        list(pr.get_commits()),
        list(pr.get_reviews()),
        list(pr.get_issue_comments()),
    )
    (
        list(pr.get_labels()),
        repo.get_contents(".github/gatebot.yml", ref="main"),
        repo.get_branch("main"),
    )
    commit = repo.get_commit(head)
    list(commit.get_check_runs()), commit.get_combined_status(), list(commit.get_pulls())
    repo.get_collaborator_role_name("mia")
    repo.get_pull(7).merge(sha=head)

    fake.assert_all_valid()
    assert fake.unknown_requests == []
    assert len({r.operation_id for r in fake.requests}) >= 14


def test_assert_all_valid_fails_on_a_corrupted_response(fake: FakeGitHub) -> None:
    fake.fail(
        "pulls/get", status=200, body={"number": "seven", "url": f"{fake.url}/repos/{REPO}/pulls/7"}
    )
    client(fake).get_repo(REPO).get_pull(7)

    with pytest.raises(AssertionError, match=r"pulls/get.*response body"):
        fake.assert_all_valid()


def test_an_invalid_request_body_is_refused_and_fails_validation(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    answer = http(
        fake, "POST", f"/repos/{REPO}/statuses/{head}", json={"state": "great", "context": "x"}
    )

    assert answer.status_code == 422
    assert fake.statuses(REPO, head) == []
    with pytest.raises(AssertionError, match=r"repos/create-commit-status.*state"):
        fake.assert_all_valid()


# -- webhooks and the fixtures -----------------------------------------------------------


def test_webhook_payloads_follow_the_state(fake: FakeGitHub) -> None:
    before = fake.pr(REPO, 7).head_sha
    after = fake.push(REPO, 7, pusher="bob")
    fake.add_review(REPO, 7, "mia", "APPROVED")

    event, payload = fake.webhook("pull_request", "synchronize", REPO, 7)
    assert event == "pull_request"
    assert (payload["action"], payload["before"], payload["after"]) == (
        "synchronize",
        before,
        after,
    )
    assert payload["pull_request"]["head"]["sha"] == after
    assert payload["pull_request"]["url"] == f"{fake.url}/repos/{REPO}/pulls/7"
    assert payload["repository"]["full_name"] == REPO and payload["sender"]["login"] == "bob"
    assert payload["installation"]["id"] == fake.installation_id(REPO)
    _, review = fake.webhook("pull_request_review", "submitted", REPO, 7)
    assert (review["review"]["state"], review["review"]["user"]["login"]) == ("approved", "mia")
    _, edited = fake.webhook("pull_request", "edited", REPO, 7, changes={"title": {"from": "Old"}})
    assert edited["action"] == "edited" and edited["changes"] == {"title": {"from": "Old"}}

    body, headers = fake.webhook_request(event, payload)
    expected = "sha256=" + hmac.new(fake.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == expected == sign(fake.webhook_secret, body)
    assert json.loads(body) == payload


def test_webhooks_for_checks_statuses_and_memberships(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    status = fake.set_status(REPO, head, "ci/build", "failure", creator="ci-bot")
    fake.set_check_run(REPO, head, "tests", conclusion="failure", app_slug="ci")
    fake.add_team("acme", "core", members=["mia"])

    _, status_payload = fake.webhook("status", None, REPO)
    _, suite = fake.webhook("check_suite", "completed", REPO, 7)
    _, run = fake.webhook("check_run", "completed", REPO)
    _, membership = fake.webhook("membership", "removed", REPO, team="core", member="mia")
    _, push = fake.webhook("push", None, REPO, 7)

    assert (status_payload["id"], status_payload["sha"], status_payload["state"]) == (
        status.id,
        head,
        "failure",
    )
    assert status_payload["branches"][0]["name"] == "feature"
    assert (suite["check_suite"]["head_sha"], suite["check_suite"]["conclusion"]) == (
        head,
        "failure",
    )
    assert suite["check_suite"]["pull_requests"][0]["number"] == 7
    assert (run["check_run"]["name"], run["check_run"]["app"]["slug"]) == ("tests", "ci")
    assert (membership["team"]["slug"], membership["member"]["login"]) == ("core", "mia")
    assert membership["organization"]["login"] == "acme"
    assert (push["ref"], push["after"], push["head_commit"]["id"]) == (
        "refs/heads/feature",
        head,
        head,
    )
    assert "Codertocat" not in json.dumps([status_payload, suite, run, membership, push])


def test_fixture_factory_takes_the_app_identity(make_fake_github) -> None:
    fake = make_fake_github(app_id=99, app_slug="gate-test")
    fake.add_repo(REPO)
    app = http(fake, "GET", "/app", token="unused")
    assert app.status_code == 401
    jwt = Auth.AppAuth(99, fake.private_key_pem).create_jwt()
    app = requests.get(
        f"{fake.url}/app", headers={"Authorization": f"Bearer {jwt}"}, timeout=5
    ).json()
    assert (app["id"], app["slug"]) == (99, "gate-test")
    assert fake.bot_login == "gate-test[bot]"


def test_every_operation_of_the_file_answers_schema_valid_bodies(fake: FakeGitHub) -> None:
    head = fake.pr(REPO, 7).head_sha
    fake.add_team("acme", "core", members=["mia"])
    fake.set_role(REPO, "mia", "admin")
    fake.add_review(REPO, 7, "mia", "APPROVED")
    fake.protect_branch(REPO, "main", contexts=["ci"], required_approving_review_count=1)
    fake.set_check_run(REPO, head, "ci")
    fake.add_manifest_code("manifest-code")
    comment = fake.add_comment(REPO, 7, "carol", "hi")
    jwt = {
        "Authorization": f"Bearer {Auth.AppAuth(fake.app_id, fake.private_key_pem).create_jwt()}"
    }
    installation = fake.installation_id(REPO)
    r = f"/repos/{REPO}"

    def call(method: str, path: str, **kwargs) -> int:
        return http(fake, method, path, **kwargs).status_code

    assert requests.get(f"{fake.url}/app", headers=jwt, timeout=5).status_code == 200
    assert (
        requests.post(f"{fake.url}/app-manifests/manifest-code/conversions", timeout=5).json()[
            "pem"
        ]
        == fake.private_key_pem
    )
    assert (
        requests.post(
            f"{fake.url}/app/installations/{installation}/access_tokens",
            headers=jwt,
            json={"repositories": ["api"]},
            timeout=5,
        ).status_code
        == 201
    )
    assert requests.get(f"{fake.url}{r}/installation", headers=jwt, timeout=5).status_code == 200
    delivery, _ = fake.send_webhook(*fake.webhook("pull_request", "opened", REPO, 7))
    hook = f"{fake.url}/app/hook/deliveries"
    assert requests.get(hook, headers=jwt, timeout=5).status_code == 200
    assert requests.get(f"{hook}/{delivery.id}", headers=jwt, timeout=5).status_code == 200
    assert (
        requests.post(f"{hook}/{delivery.id}/attempts", headers=jwt, timeout=5).status_code
        == 202
    )
    fake.wait_redeliveries()
    answers = [
        call("GET", "/orgs/acme/members/mia"),
        call("GET", "/orgs/acme/teams/core/memberships/mia"),
        call("GET", r),
        call("GET", f"{r}/branches/main"),
        call("GET", f"{r}/branches/main/protection"),
        call("GET", f"{r}/collaborators/mia/permission"),
        call("GET", f"{r}/commits/{head}/pulls"),
        call("GET", f"{r}/commits/{head}"),
        call("GET", f"{r}/commits/{head}/check-runs"),
        call("GET", f"{r}/commits/{head}/status"),
        call("GET", f"{r}/commits/{head}/statuses"),
        call("GET", f"{r}/contents/src/app.py", params={"ref": "feature"}),
        call("GET", f"{r}/contents/src"),
        call("GET", f"{r}/compare/main...feature"),
        call("GET", f"{r}/pulls", params={"state": "all"}),
        call("GET", f"{r}/pulls/7"),
        call("GET", f"{r}/pulls/7/commits"),
        call("GET", f"{r}/pulls/7/files"),
        call("GET", f"{r}/pulls/7/reviews"),
        call("GET", f"{r}/issues/7/comments"),
        call("GET", f"{r}/issues/7/labels"),
        call("POST", f"{r}/issues/7/labels", json={"labels": ["bug"]}),
        call("DELETE", f"{r}/issues/7/labels/bug"),
        call("POST", f"{r}/issues/7/comments", json={"body": "verdict"}),
        call("PATCH", f"{r}/issues/comments/{comment.id}", json={"body": "edited"}),
        call("POST", f"{r}/issues/comments/{comment.id}/reactions", json={"content": "rocket"}),
        call("POST", f"{r}/statuses/{head}", json={"state": "success", "context": "gatebot: main"}),
        call(
            "POST",
            f"{r}/pulls/7/requested_reviewers",
            json={"reviewers": ["mia"], "team_reviewers": ["core"]},
        ),
        call(
            "PUT",
            f"{r}/pulls/7/reviews/{fake.reviews(REPO, 7)[0].id}/dismissals",
            json={"message": "stale"},
        ),
        call("PUT", f"{r}/pulls/7/update-branch", json={"expected_head_sha": head}),
        call(
            "POST",
            f"{r}/deployments",
            json={"ref": "main", "auto_merge": False, "required_contexts": []},
        ),
        call("GET", f"{r}/deployments"),
        call("POST", f"{r}/actions/workflows/deploy.yml/dispatches", json={"ref": "main"}),
        call("POST", f"{r}/dispatches", json={"event_type": "approved"}),
    ]
    run = http(
        fake,
        "POST",
        f"{r}/check-runs",
        json={"name": "gatebot: main", "head_sha": head, "status": "in_progress"},
    )
    answers.append(
        call("PATCH", f"{r}/check-runs/{run.json()['id']}", json={"conclusion": "success"})
    )
    answers.append(
        call(
            "POST", f"{r}/deployments/{fake.deployments[0].id}/statuses", json={"state": "success"}
        )
    )
    answers.append(call("GET", f"{r}/deployments/{fake.deployments[0].id}/statuses"))
    answers.append(call("GET", f"{r}/actions/runs/{fake.workflow_runs[0].id}"))
    fake.add_review(REPO, 7, "mia", "APPROVED")
    answers.append(call("PUT", f"{r}/pulls/7/merge", json={"merge_method": "squash"}))
    answers.append(call("DELETE", f"{r}/git/refs/heads/feature"))

    assert all(status < 400 for status in answers), answers
    assert {rec.operation_id for rec in fake.requests} == set(fake.operations.by_id)
    fake.assert_all_valid()


def test_deployment_statuses_are_listed_newest_first_and_dispatched_runs_move_on(
    fake: FakeGitHub,
) -> None:
    r = f"/repos/{REPO}"
    created = http(fake, "POST", f"{r}/deployments",
                   json={"ref": "main", "auto_merge": False, "required_contexts": []}).json()
    fake.set_deployment_status(REPO, created["id"], "in_progress")
    fake.set_deployment_status(REPO, created["id"], "success", log_url="https://ci.example/1")
    listed = http(fake, "GET", f"{r}/deployments/{created['id']}/statuses").json()
    assert [s["state"] for s in listed] == ["success", "in_progress"]
    assert listed[0]["log_url"] == "https://ci.example/1"
    answer = http(fake, "POST", f"{r}/actions/workflows/deploy.yml/dispatches",
                  json={"ref": "main", "return_run_details": True}).json()
    run_id = answer["workflow_run_id"]
    assert http(fake, "GET", f"{r}/actions/runs/{run_id}").json()["status"] == "queued"
    fake.finish_run(REPO, run_id, "failure")
    run = http(fake, "GET", f"{r}/actions/runs/{run_id}").json()
    assert (run["status"], run["conclusion"], run["event"]) == (
        "completed", "failure", "workflow_dispatch"
    )
    event, payload = fake.webhook("workflow_run", "completed", REPO, run_id=run_id)
    assert (event, payload["workflow_run"]["id"]) == ("workflow_run", run_id)
    event, payload = fake.webhook("deployment_status", "created", REPO)
    assert payload["deployment"]["id"] == created["id"]
    assert payload["deployment_status"]["state"] == "success"
    assert http(fake, "GET", f"{r}/actions/runs/{run_id + 1000}").status_code == 404
    fake.assert_all_valid()
