"""What an evaluation must read, worked out from the policy (pure), and the client settings."""

from __future__ import annotations

from bot.core.policy.loader import load_policy_file
from bot.core.snapshot import ChangedFile
from bot.providers.counting import RequestTally
from bot.providers.github.client import ClientConfig, installation_client
from bot.providers.needs import SnapshotNeeds, needs_for, owner_teams
from bot.settings import Settings


def _needs(text: str) -> SnapshotNeeds:
    loaded = load_policy_file(text, ".github/gatebot.yml")
    assert loaded.ok, loaded.problems
    return needs_for(loaded.policy)


BASE = """version: 1
policy:
  approval: [r]
"""


def test_a_plain_approval_rule_needs_nothing_extra():
    needs = _needs(BASE + "rules:\n  - name: r\n    requires: {approvals: 1}\n")
    assert needs == SnapshotNeeds()


def test_checks_anywhere_need_check_runs_and_statuses():
    assert _needs(BASE + "rules:\n  - name: r\n    requires: {approvals: 0}\nchecks: [ci]\n").checks
    nested = (
        BASE
        + """rules:
  - name: r
    if:
      any:
        - not: {checks: {success: [lint]}}
    requires: {approvals: 0}
"""
    )
    assert _needs(nested).checks


def test_comment_methods_code_owners_teams_and_the_author():
    needs = _needs(
        """version: 1
policy:
  approval: [r]
  disapproval:
    from: {teams: [Acme/Security]}
    methods: {comments: [" /block "]}
rules:
  - name: r
    if:
      author: {not_in: {organizations: [Contractors]}}
    requires:
      approvals: 1
      from: {code_owners: true, teams: [acme/backend]}
    options:
      methods: {comments: [LGTM], comment_patterns: ["^/approve"]}
"""
    )
    assert needs.comments and needs.codeowners and needs.author and not needs.checks
    assert needs.teams == {"acme/security", "acme/backend"}
    assert needs.organizations == {"contractors"}
    assert needs.comment_phrases == {"/block", "LGTM"}
    assert needs.comment_matters("  LGTM ") and needs.comment_matters("/approve please")
    assert not needs.comment_matters("looks good")


def test_a_disabled_disapproval_needs_nothing():
    needs = _needs(
        BASE
        + "  disapproval: {enabled: false, methods: {comments: [/block]}}\n"
        + "rules:\n  - name: r\n    requires: {approvals: 1}\n"
    )
    assert not needs.comments


def test_owner_teams_are_those_of_the_touched_paths():
    codeowners = "* @acme/all\n/docs/ @acme/docs @writer\n/api/ @acme/api\n"
    files = [ChangedFile(path="docs/a.md"), ChangedFile(path="src/x.py", previous_path="api/x.py")]
    assert owner_teams(codeowners, files) == {"acme/docs", "acme/api", "acme/all"}
    assert owner_teams(None, files) == frozenset()


def test_clients_never_retry_on_their_own_and_pace_as_configured():
    settings = Settings.model_validate({})
    config = ClientConfig.from_settings(settings)
    assert (config.seconds_between_requests, config.seconds_between_writes) == (0.25, 1.0)
    client = installation_client(config, "ghs_" + "x" * 36, RequestTally())
    options = client.requester.kwargs
    assert options["retry"] is None
    assert options["per_page"] == 100
    assert options["seconds_between_requests"] == 0.25
    assert options["seconds_between_writes"] == 1.0
