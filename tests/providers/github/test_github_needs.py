"""What an evaluation must read, as the policy's parts declare it (pure), and the client
settings."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from bot.core.policy import predicates as predicate_package
from bot.core.policy.evaluate import needs_for
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Predicates
from bot.core.policy.needs import SnapshotNeeds, owner_teams
from bot.core.policy.predicates import GlobRegistry, Predicate, compile_predicates
from bot.core.snapshot import ChangedFile
from bot.providers.counting import RequestTally
from bot.providers.github.client import ClientConfig, installation_client
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


def test_the_operator_floor_adds_what_it_needs():
    def load(text: str, path: str):
        loaded = load_policy_file(BASE + text, path)
        assert loaded.ok, loaded.problems
        return loaded.policy

    policy = load("rules:\n  - name: r\n    requires: {approvals: 1}\n", ".github/gatebot.yml")
    floor = load(
        "rules:\n  - name: r\n    requires: {approvals: 1, from: {teams: [Acme/Sec]}}\n"
        "checks: [ci]\n",
        "operator.yml",
    )
    assert needs_for(policy) == SnapshotNeeds()
    assert needs_for(policy, floor) == SnapshotNeeds(checks=True, teams=frozenset({"acme/sec"}))
    assert needs_for(None, None) == SnapshotNeeds()


# One condition per key of the policy language's `Predicates`, and what it needs read.
# A new predicate key fails `test_every_predicate_key_declares_what_it_needs` until
# it is listed here with the reads its predicate declares.
_ONE_OF_EACH: dict[str, tuple[object, SnapshotNeeds]] = {
    "changed_files": ({"paths": ["src/**"]}, SnapshotNeeds()),
    "only_changed_files": ({"paths": ["docs/**"]}, SnapshotNeeds()),
    "no_changed_files": ({"paths": ["docs/**"]}, SnapshotNeeds()),
    "changed_files_count": ("<= 5", SnapshotNeeds()),
    "modified_lines": ({"total": "< 100"}, SnapshotNeeds()),
    "author": (
        {"in": {"users": ["mia"], "teams": ["Acme/Core"]},
         "not_in": {"organizations": ["Contractors"]}},
        SnapshotNeeds(author=True, teams=frozenset({"acme/core"}),
                      organizations=frozenset({"contractors"})),
    ),
    "author_is_only_contributor": (True, SnapshotNeeds()),
    "target_branch": (["main"], SnapshotNeeds()),
    "source_branch": (["feature/*"], SnapshotNeeds()),
    "labels": ({"any": ["ready"]}, SnapshotNeeds()),
    "title": ({"matches": ["^fix"]}, SnapshotNeeds()),
    "draft": (False, SnapshotNeeds()),
    "checks": ({"success": ["ci"]}, SnapshotNeeds(checks=True)),
    "all": ([{"checks": {"failure": ["lint"]}}, {"draft": False}], SnapshotNeeds(checks=True)),
    "any": ([{"author": {"in": {"users": ["mia"]}}}], SnapshotNeeds(author=True)),
    "not": ({"checks": {"success": ["ci"]}}, SnapshotNeeds(checks=True)),
}


def test_every_predicate_key_declares_what_it_needs():
    keys = {field.alias or name for name, field in Predicates.model_fields.items()}
    assert keys == set(_ONE_OF_EACH), "list each predicate key in _ONE_OF_EACH with its needs"
    for key, (value, expected) in _ONE_OF_EACH.items():
        model = Predicates.model_validate({key: value})
        compiled = compile_predicates(model, GlobRegistry())
        assert compiled.needs() == expected, key


def _predicate_classes() -> set[type[Predicate]]:
    for module in pkgutil.iter_modules(predicate_package.__path__):
        importlib.import_module(f"{predicate_package.__name__}.{module.name}")
    found: set[type[Predicate]] = set()
    pending = list(Predicate.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", sorted(_predicate_classes(), key=lambda c: c.__qualname__),
                         ids=lambda c: c.__qualname__)
def test_every_predicate_class_declares_its_own_needs(cls: type[Predicate]):
    # `needs` is abstract on `Predicate`: a class that forgot it cannot be compiled.
    assert cls.needs is not Predicate.needs
    assert "needs" not in getattr(cls, "__abstractmethods__", ())


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
