"""Where a PR's policy comes from: the base branch, the fallbacks, `remote:`, the cache."""

from __future__ import annotations

from github_helpers import ONE_APPROVAL, REPO, Rig, request_lines, rig_fixture  # noqa: F401

from bot.core.policy.needs import SnapshotNeeds
from bot.providers.github import invalidation

PR_VERSION = ONE_APPROVAL.replace("approvals: 1", "approvals: 0")


def _sources(rig: Rig, number: int = 7, repo: str = REPO):
    mark = rig.fake.mark()
    with rig.open(number, repo) as ev:
        ev.pull()
        found = ev.policy_sources()
    contents = [r for r in rig.fake.requests_since(mark) if r.operation_id == "repos/get-content"]
    return found, contents


def _asked(contents) -> list[tuple[str, str | None]]:
    return [(r.path, r.query.get("ref", [None])[0]) for r in contents]


def test_the_policy_is_read_at_the_base_branch_never_the_pr_head(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.add_branch(REPO, "release", "main")
    rig.fake.open_pr(REPO, 7, base="release", contents={".github/gatebot.yml": PR_VERSION})
    found, contents = _sources(rig)
    assert found.policy is not None
    assert found.policy.text == ONE_APPROVAL
    assert found.policy.origin == "repository"
    assert found.policy.location == "acme/api:.github/gatebot.yml@release"
    assert _asked(contents) == [
        ("/repos/acme/api/contents/.github/gatebot.yml", "refs/heads/release")
    ]
    rig.fake.assert_all_valid()


def test_dot_gatebot_yml_is_the_second_place(rig):
    rig.fake.add_repo(REPO, files={".gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.filename == ".gatebot.yml"
    assert [(r.path, r.status) for r in contents] == [
        ("/repos/acme/api/contents/.github/gatebot.yml", 404),
        ("/repos/acme/api/contents/.gatebot.yml", 200),
    ]
    assert all(r.query["ref"] == ["refs/heads/main"] for r in contents)


def test_then_the_owners_dot_github_repository(rig):
    rig.fake.add_repo(REPO, files={"README.md": "x"})
    rig.fake.add_repo("acme/.github", files={"gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.origin == "owner"
    assert found.policy.text == ONE_APPROVAL
    assert _asked(contents) == [
        ("/repos/acme/api/contents/.github/gatebot.yml", "refs/heads/main"),
        ("/repos/acme/api/contents/.gatebot.yml", "refs/heads/main"),
        ("/repos/acme/.github/contents/gatebot.yml", None),
    ]
    rig.fake.assert_all_valid()


def test_then_the_operators_default_and_else_nothing(rig, tmp_path):
    rig.fake.add_repo(REPO, files={"README.md": "x"})
    rig.fake.open_pr(REPO, 7)
    found, contents = _sources(rig)
    assert found.policy is None and found.error is None
    assert len(contents) == 3  # both repository paths and the owner's .github, all 404

    default = tmp_path / "default.yml"
    default.write_text(ONE_APPROVAL)
    rig.make_forge(default_policy=default)
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.origin == "operator"
    assert found.policy.text == ONE_APPROVAL
    assert contents == []  # the three misses are cached


def test_a_remote_pointer_is_followed_once(rig):
    rig.fake.add_repo("acme/policies", files={"shared/gate.yml": ONE_APPROVAL})
    rig.fake.add_branch("acme/policies", "stable", "main")
    rig.fake.add_repo(
        REPO, files={".github/gatebot.yml": "remote: acme/policies/shared/gate.yml@stable\n"}
    )
    rig.fake.open_pr(REPO, 7)
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.origin == "remote"
    assert found.policy.text == ONE_APPROVAL
    assert found.pointer is not None and found.pointer.filename == ".github/gatebot.yml"
    assert _asked(contents)[-1] == ("/repos/acme/policies/contents/shared/gate.yml", "stable")


def test_a_tag_named_like_the_base_branch_never_answers_for_it(rig):
    # Anyone who can push a tag could otherwise shadow the branch's policy
    # (and CODEOWNERS): a bare `ref=main` finds the tag `main` first.
    rig.fake.add_repo(
        REPO, files={".github/gatebot.yml": ONE_APPROVAL, "CODEOWNERS": "* @acme/core\n"}
    )
    rig.fake.add_branch(REPO, "lax", "main")
    rig.fake.commit(REPO, "lax", {".github/gatebot.yml": PR_VERSION, "CODEOWNERS": "* @mallory\n"})
    rig.fake.add_tag(REPO, "main", "lax")
    rig.fake.open_pr(REPO, 7, contents={"src/a.py": "1"})
    found, _ = _sources(rig)
    assert found.policy is not None and found.policy.text == ONE_APPROVAL
    with rig.open(7) as ev:
        assert ev.snapshot(SnapshotNeeds(codeowners=True)).codeowners == "* @acme/core\n"
    rig.fake.assert_all_valid()


def test_a_remote_under_another_owner_is_refused_without_being_read(rig):
    # Public, so the installation could read it: only the owner rule stops it.
    rig.fake.add_repo("globex/secrets", files={".env": "DB_PASSWORD=hunter2\n"}, private=False)
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": "remote: globex/secrets/.env\n"})
    rig.fake.open_pr(REPO, 7)
    found, contents = _sources(rig)
    assert found.policy is None
    assert found.error == (
        "remote policy globex/secrets:.env refused: it is not under acme; only the same "
        "owner or the operator's GATEBOT_REMOTE_POLICY_ALLOW may be named"
    )
    assert [r.path for r in contents] == ["/repos/acme/api/contents/.github/gatebot.yml"]


def test_the_operator_allow_list_lets_a_pointer_reach_another_owner(rig):
    rig.fake.add_repo(
        "globex/policies", files={".github/gatebot.yml": ONE_APPROVAL}, private=False
    )
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": "remote: globex/policies\n"})
    rig.fake.open_pr(REPO, 7)
    rig.make_forge(remote_policy_allow="initech, Globex/Policies")
    found, _ = _sources(rig)
    assert found.policy is not None and found.policy.origin == "remote"
    assert found.policy.text == ONE_APPROVAL


def test_a_policy_file_over_a_megabyte_is_an_error_not_a_crash(rig):
    size = 1024 * 1024 + 10
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": "#" * size})
    rig.fake.open_pr(REPO, 7)
    found, _ = _sources(rig)
    assert found.policy is None
    assert found.error == f"the policy file is {size:,} bytes; the limit is 256 KiB"
    assert found.error_file == ".github/gatebot.yml"


def test_a_missing_remote_or_a_remote_of_a_remote_is_an_error(rig):
    rig.fake.add_repo("acme/policies", files={".github/gatebot.yml": "remote: acme/other\n"})
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": "remote: acme/policies/nope.yml\n"})
    rig.fake.open_pr(REPO, 7)
    found, _ = _sources(rig)
    assert found.policy is None
    assert found.error == (
        "the remote policy acme/policies:nope.yml named in "
        "acme/api:.github/gatebot.yml@main does not exist"
    )

    rig.fake.set_file(REPO, "main", ".github/gatebot.yml", "remote: acme/policies\n")
    _invalidate(rig, invalidation.on_push, REPO, "refs/heads/main", default_branch="main")
    found, _ = _sources(rig)
    assert found.policy is None
    assert "one level deep" in (found.error or "")


def test_the_chain_is_cached_until_the_base_branch_is_pushed(rig):
    rig.fake.add_repo(REPO, files={".gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    _sources(rig)
    found, contents = _sources(rig)
    assert contents == [] and found.policy is not None

    rig.fake.commit(REPO, "main", {".github/gatebot.yml": PR_VERSION})
    dropped = _invalidate(rig, invalidation.on_push, REPO, "refs/heads/main", default_branch="main")
    assert dropped > 0
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.text == PR_VERSION
    assert len(contents) == 1


def test_a_push_whose_delivery_was_lost_drops_the_cache_too(rig):
    rig.fake.add_repo(REPO, files={".gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    _sources(rig)
    mark = rig.fake.mark()
    found, contents = _sources(rig)
    assert contents == [] and found.policy is not None and found.policy.text == ONE_APPROVAL
    # Where the base branch is: asked with the commit the files were kept for.
    (asked,) = [r for r in rig.fake.requests_since(mark) if r.operation_id == "repos/get-commit"]
    main = rig.fake.world.repo(REPO).branches["main"]
    assert asked.path == f"/repos/{REPO}/commits/heads/main"
    assert asked.headers["Accept"] == "application/vnd.github.sha"
    assert asked.headers["If-None-Match"] == f'"{main}"' and asked.status == 304

    # Pushed to main; its delivery never arrives. The policy PRs evaluated now get
    # is the pushed one: GitHub says main moved, and the kept files go.
    rig.fake.commit(REPO, "main", {".github/gatebot.yml": PR_VERSION})
    found, contents = _sources(rig)
    assert found.policy is not None and found.policy.text == PR_VERSION
    assert len(contents) == 1
    rig.fake.assert_all_valid()


def test_a_push_to_another_branch_keeps_the_cache(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    _sources(rig)
    dropped = _invalidate(
        rig, invalidation.on_push, REPO, "refs/heads/feature-7", default_branch="main"
    )
    assert dropped == 0
    _, contents = _sources(rig)
    assert contents == []


def test_the_cache_expires(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7)
    _sources(rig)
    rig.clock.advance(seconds=rig.settings.forge_cache_seconds + 1)
    _, contents = _sources(rig)
    assert len(contents) == 1


def test_codeowners_only_when_a_rule_uses_code_owners_and_where_github_looks(rig):
    rig.fake.add_repo(
        REPO, files={".github/gatebot.yml": ONE_APPROVAL, "docs/CODEOWNERS": "* @acme/core\n"}
    )
    rig.fake.add_team("acme", "core", members=["mia"])
    rig.fake.open_pr(REPO, 7, contents={"src/a.py": "1"})
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")

    mark = rig.fake.mark()
    with rig.open(7) as ev:
        plain = ev.snapshot(SnapshotNeeds())
    assert plain.codeowners is None
    assert "GET repos/get-content" not in request_lines(rig.fake.requests_since(mark))

    mark = rig.fake.mark()
    with rig.open(7) as ev:
        owned = ev.snapshot(SnapshotNeeds(codeowners=True))
    asked = _asked(
        [r for r in rig.fake.requests_since(mark) if r.operation_id == "repos/get-content"]
    )
    assert asked == [
        ("/repos/acme/api/contents/.github/CODEOWNERS", "refs/heads/main"),
        ("/repos/acme/api/contents/CODEOWNERS", "refs/heads/main"),
        ("/repos/acme/api/contents/docs/CODEOWNERS", "refs/heads/main"),
    ]
    assert owned.codeowners == "* @acme/core\n"
    # The owning team's membership of the reviewer was looked up.
    assert owned.directory.teams == {"acme/core": ("mia",)}
    rig.fake.assert_all_valid()


def test_the_prs_own_version_of_a_file_is_read_at_its_head(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    pr = rig.fake.open_pr(REPO, 7, contents={".github/gatebot.yml": PR_VERSION})
    with rig.open(7) as ev:
        assert ev.file_at(".github/gatebot.yml", pr.head_sha) == PR_VERSION
        assert ev.file_at("missing.yml", pr.head_sha) is None


def _invalidate(rig, drop, *args, **kwargs):
    """Run an invalidation in its own transaction, as one webhook delivery would."""
    with rig.store.begin() as conn:
        return drop(conn, *args, **kwargs)
