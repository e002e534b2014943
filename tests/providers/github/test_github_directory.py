"""Permissions and memberships of the people who matter, cached and invalidated."""

from __future__ import annotations

from github_helpers import REPO, Rig, request_lines, rig_fixture  # noqa: F401

from bot.core.policy.evaluate import needs_for
from bot.core.policy.loader import load_policy_file
from bot.core.policy.needs import SnapshotNeeds
from bot.providers.github import invalidation
from bot.providers.github.directory import DirectoryReader, permission_from


def _reader(rig: Rig, ev) -> DirectoryReader:
    return DirectoryReader(
        ev.client,
        rig.store,
        rig.forge.retries.read,
        ttl_seconds=rig.settings.directory_cache_seconds,
        clock=rig.clock,
    )


def _directory(rig: Rig, people, teams=(), organizations=()):
    mark = rig.fake.mark()
    with rig.open(7) as ev:
        found = _reader(rig, ev).directory(REPO, people, teams, organizations)
    lookups = [
        r
        for r in rig.fake.requests_since(mark)
        if r.operation_id != "apps/create-installation-access-token"
    ]
    return found, lookups


def _setup(rig: Rig) -> None:
    rig.fake.add_repo(REPO, files={"README.md": "x"})
    rig.fake.open_pr(REPO, 7, author="alice")


def test_role_names_keep_maintain_apart_from_write(rig):
    _setup(rig)
    rig.fake.set_role(REPO, "mia", "maintain")
    rig.fake.set_role(REPO, "wes", "write")
    rig.fake.set_role(REPO, "tia", "triage")
    rig.fake.set_role(REPO, "ada", "admin")
    rig.fake.set_role(REPO, "rey", "read")
    rig.fake.add_user("nobody")
    found, lookups = _directory(rig, ["mia", "wes", "tia", "ada", "rey", "nobody", "ghost-user"])
    assert found.permissions == {
        "mia": "maintain",
        "wes": "write",
        "tia": "triage",
        "ada": "admin",
        "rey": "read",
        "nobody": "none",
        "ghost-user": "none",
    }
    # The folded field says "write" for both: the role name is what was read.
    folded = {
        r.path.split("/")[-2]: r.response_json.get("permission") for r in lookups if r.status == 200
    }
    assert folded["mia"] == folded["wes"] == "write"
    assert len(lookups) == 7
    rig.fake.assert_all_valid()


def test_custom_roles_fall_back_to_their_strength(rig):
    _setup(rig)
    rig.fake.set_role(REPO, "sec", "security-reviewer", base="maintain")
    rig.fake.set_role(REPO, "doc", "docs-writer", base="triage")
    found, _ = _directory(rig, ["sec", "doc"])
    assert found.permissions == {"sec": "maintain", "doc": "triage"}


def test_permission_from_answers():
    assert permission_from({"role_name": "maintain", "permission": "write"}) == "maintain"
    assert permission_from({"role_name": "Custom", "permission": "write"}) == "write"
    assert (
        permission_from(
            {
                "role_name": "custom",
                "permission": "write",
                "user": {"permissions": {"admin": False, "maintain": True, "push": True}},
            }
        )
        == "maintain"
    )
    assert permission_from({"role_name": "custom", "permission": "none"}) == "none"
    assert permission_from({}) == "none"


def test_team_and_organisation_memberships(rig):
    _setup(rig)
    rig.fake.add_team("acme", "backend", members=["mia"], maintainers=["lee"], pending=["pam"])
    rig.fake.add_org_member("acme", "sam")
    for login in ("mia", "lee", "pam", "sam"):
        rig.fake.set_role(REPO, login, "write")
    found, lookups = _directory(rig, ["mia", "lee", "pam", "sam"], ["acme/backend"], ["acme"])
    assert found.teams == {"acme/backend": ("lee", "mia")}  # a pending invitation does not count
    assert set(found.organizations["acme"]) == {"lee", "mia", "sam"}
    ops = request_lines(lookups)
    assert ops.count("GET teams/get-membership-for-user-in-org") == 4
    assert ops.count("GET orgs/check-membership-for-user") == 4
    rig.fake.assert_all_valid()


def test_nobody_to_look_up_means_known_empty_teams_and_no_requests(rig):
    _setup(rig)
    found, lookups = _directory(rig, [], ["acme/backend"], ["acme"])
    assert found.teams == {"acme/backend": ()} and found.organizations == {"acme": ()}
    assert lookups == []


def test_answers_are_cached_until_they_expire(rig):
    _setup(rig)
    rig.fake.set_role(REPO, "mia", "maintain")
    rig.fake.add_team("acme", "backend", members=["mia"])
    _directory(rig, ["mia"], ["acme/backend"])
    found, lookups = _directory(rig, ["MIA"], ["acme/backend"])
    assert lookups == []
    assert found.permissions == {"MIA": "maintain"} and found.teams == {"acme/backend": ("MIA",)}

    rig.clock.advance(seconds=rig.settings.directory_cache_seconds + 1)
    _, lookups = _directory(rig, ["mia"], ["acme/backend"])
    assert len(lookups) == 2


def test_a_team_membership_change_is_seen_once_the_webhook_drops_the_cache(rig):
    _setup(rig)
    rig.fake.set_role(REPO, "mia", "write")
    rig.fake.add_team("acme", "backend", members=["mia"])
    found, _ = _directory(rig, ["mia"], ["acme/backend"])
    assert found.teams == {"acme/backend": ("mia",)}

    rig.fake.remove_team_member("acme", "backend", "mia")
    found, lookups = _directory(rig, ["mia"], ["acme/backend"])
    assert found.teams == {"acme/backend": ("mia",)} and lookups == []  # not told yet

    assert _invalidate(rig, invalidation.on_membership, "acme", "backend", "mia") == 2
    found, lookups = _directory(rig, ["mia"], ["acme/backend"])
    assert found.teams == {"acme/backend": ()}
    # The membership and (team access may grant it) the permission are asked again.
    assert sorted(request_lines(lookups)) == [
        "GET repos/get-collaborator-permission-level",
        "GET teams/get-membership-for-user-in-org",
    ]


def test_member_team_and_organization_events_drop_what_they_touch(rig):
    _setup(rig)
    for login in ("mia", "wes"):
        rig.fake.set_role(REPO, login, "write")
    rig.fake.add_team("acme", "backend", members=["mia", "wes"])
    _directory(rig, ["mia", "wes"], ["acme/backend"], ["acme"])

    rig.fake.set_role(REPO, "mia", "admin")
    assert _invalidate(rig, invalidation.on_member, REPO, "mia") == 1
    found, lookups = _directory(rig, ["mia", "wes"], ["acme/backend"], ["acme"])
    assert found.permissions["mia"] == "admin"
    assert request_lines(lookups) == ["GET repos/get-collaborator-permission-level"]

    dropped = _invalidate(rig, invalidation.on_team, "acme", "backend")
    assert dropped == 4  # 2 memberships, 2 permissions
    _, lookups = _directory(rig, ["mia", "wes"], ["acme/backend"], ["acme"])
    assert len(lookups) == 4

    rig.fake.remove_org_member("acme", "wes")
    assert _invalidate(rig, invalidation.on_organization, "acme", "wes") == 3
    found, lookups = _directory(rig, ["mia", "wes"], ["acme/backend"], ["acme"])
    assert found.organizations == {"acme": ("mia",)}
    assert len(lookups) == 3


def test_only_the_people_who_matter_are_looked_up(rig):
    rig.fake.add_repo(REPO, files={"README.md": "x"})
    rig.fake.open_pr(REPO, 7, author="alice")
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    rig.fake.add_review(REPO, 7, "noor", "CHANGES_REQUESTED")
    rig.fake.add_review(REPO, 7, "cat", "COMMENTED", body="nice")
    rig.fake.add_review(REPO, 7, "ci[bot]", "APPROVED")
    rig.fake.add_comment(REPO, 7, "dan", "/approve")
    rig.fake.add_comment(REPO, 7, "eve", "what about tests?")

    mark = rig.fake.mark()
    with rig.open(7) as ev:
        ev.snapshot(SnapshotNeeds())
    asked = sorted(
        r.path.split("/")[-2]
        for r in rig.fake.requests_since(mark)
        if r.operation_id == "repos/get-collaborator-permission-level"
    )
    assert asked == ["mia", "noor"]

    policy = load_policy_file(
        """version: 1
policy: {approval: [r]}
rules:
  - name: r
    requires: {approvals: 1, from: {organizations: [acme]}}
    options:
      allow_author: true
      methods: {comment_patterns: ["^/approve\\\\b"]}
""",
        ".github/gatebot.yml",
    ).policy
    needs = needs_for(policy)
    assert needs.comments and needs.author and needs.organizations == {"acme"}
    mark = rig.fake.mark()
    with rig.open(7) as ev:
        snap = ev.snapshot(needs)
    asked = sorted(
        r.path.split("/")[-1]
        for r in rig.fake.requests_since(mark)
        if r.operation_id == "orgs/check-membership-for-user"
    )
    assert asked == ["alice", "dan", "mia", "noor"]
    assert set(snap.directory.permissions) == {"alice", "dan", "mia", "noor"}


def _invalidate(rig, drop, *args, **kwargs):
    """Run an invalidation in its own transaction, as one webhook delivery would."""
    with rig.store.begin() as conn:
        return drop(conn, *args, **kwargs)
