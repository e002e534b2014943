"""Command authorisation: defaults per command, policy overrides, refusals that name the need."""

from __future__ import annotations

import pytest
from factories import policy

from bot.core.authorize import Commenter, authorize, describe, may_lift, requirement
from bot.core.commands import COMMAND_NAMES

DEFAULTS = policy("""
version: 1
policy: {approval: [r]}
rules: [{name: r, requires: {approvals: 1}}]
""").commands

CUSTOM = policy("""
version: 1
policy: {approval: [r]}
rules: [{name: r, requires: {approvals: 1}}]
commands:
  allow:
    merge: {teams: [acme/release], users: [Alice]}
    deploy: {permission: write}
""").commands


def person(permission: str | None, login: str = "sam", teams: tuple[str, ...] = ()) -> Commenter:
    return Commenter(login=login, permission=permission, teams=frozenset(teams))


@pytest.mark.parametrize(
    ("command", "lowest_allowed", "highest_refused"),
    [
        ("help", "read", None),
        ("status", "read", None),
        ("recheck", "read", None),
        ("merge", "write", "triage"),
        ("cancel", "write", "triage"),
        ("hold", "write", "triage"),
        ("unhold", "write", "triage"),
        ("deploy", "maintain", "write"),
        ("override", "admin", "maintain"),
    ],
)
def test_default_permissions_per_command(command, lowest_allowed, highest_refused):
    assert authorize(command, person(lowest_allowed), DEFAULTS).allowed
    if highest_refused is not None:
        verdict = authorize(command, person(highest_refused), DEFAULTS)
        assert not verdict.allowed
        assert f"needs {requirement(command, DEFAULTS).permission}" in verdict.reason
    assert not authorize(command, person(None), DEFAULTS).allowed


def test_every_known_command_has_a_default():
    for name in COMMAND_NAMES:
        assert requirement(name, None).permission is not None


def test_maintain_and_write_differ():
    assert authorize("deploy", person("maintain"), DEFAULTS).allowed
    refused = authorize("deploy", person("write"), DEFAULTS)
    assert not refused.allowed
    assert refused.reason == (
        "@sam may not run `deploy`: it needs maintain permission or above "
        "(you have write permission)"
    )


def test_a_policy_entry_replaces_the_default():
    # merge: only acme/release members or Alice — an admin outside both is refused.
    assert not authorize("merge", person("admin"), CUSTOM).allowed
    assert authorize("merge", person("read", teams=("acme/release",)), CUSTOM).allowed
    assert authorize("merge", person(None, login="alice"), CUSTOM).allowed
    # deploy lowered to write.
    assert authorize("deploy", person("write"), CUSTOM).allowed
    # Commands the policy does not mention keep their defaults.
    assert not authorize("override", person("maintain"), CUSTOM).allowed


def test_refusals_name_every_alternative():
    verdict = authorize("merge", person("write"), CUSTOM)
    assert verdict.reason == (
        "@sam may not run `merge`: it needs membership of acme/release or being Alice "
        "(you have write permission)"
    )


def test_bots_never_run_commands():
    assert not authorize("help", Commenter("gatebot[bot]", "admin"), DEFAULTS).allowed
    assert not authorize("help", Commenter("ci", "admin", is_bot=True), DEFAULTS).allowed


def test_describe_an_empty_entry():
    empty = policy("""
version: 1
policy: {approval: [r]}
rules: [{name: r, requires: {approvals: 1}}]
commands: {allow: {override: {}}}
""").commands
    assert describe(requirement("override", empty)) == "nobody (the policy allows no one)"
    assert not authorize("override", person("admin"), empty).allowed


@pytest.mark.parametrize(
    ("holder", "holder_permission", "commenter", "permission", "lifts"),
    [
        ("max", "maintain", "wes", "write", False),  # a writer cannot lift a maintainer's hold
        ("max", "maintain", "alice", "write", False),  # nor can the PR's author
        ("wes", "write", "tess", "write", True),
        ("wes", "write", "max", "maintain", True),
        ("max", "maintain", "ada", "admin", True),
        ("max", "maintain", "MAX", "write", True),  # one's own hold, whatever one's role now
        ("rita", "none", "wes", "write", True),  # held through a team, without access
        ("old", None, "max", "maintain", False),  # not recorded: taken as an admin's
        ("old", None, "ada", "admin", True),
        ("max", "maintain", "nobody", None, False),
    ],
)
def test_unhold_lifts_only_holds_of_people_the_commenter_does_not_outrank(
    holder, holder_permission, commenter, permission, lifts
):
    assert may_lift(holder, holder_permission, Commenter(commenter, permission)) is lifts
