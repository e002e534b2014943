"""Every predicate and combinator, table-driven on the one snapshot factory.

Each case is (condition YAML, snapshot overrides, expected truth, a phrase the
explanation must contain). The condition goes through the real loader as a
rule's `if`, so the tests exercise exactly what users write.
"""

from __future__ import annotations

import pytest
from factories import (
    BASE,
    HEAD,
    OLD_HEAD,
    actor,
    changed,
    check,
    commit,
    head_change,
    make_snapshot,
    policy,
)

from bot.core.policy.context import Context
from bot.core.policy.evaluate import prepare
from bot.core.policy.predicates import Scope
from bot.core.policy.result import Result, Status


def condition(yaml: str, **overrides) -> Result:
    """Evaluate `yaml` (a predicate mapping) as a rule's `if` against a snapshot."""
    text = (
        "version: 1\npolicy: {approval: [r]}\nrules:\n  - name: r\n"
        f"    if: {yaml}\n    requires: {{approvals: 0}}\n"
    )
    prepared = prepare(policy(text))
    predicate = prepared.rules["r"].if_
    assert predicate is not None
    result = predicate.evaluate(Scope(Context(make_snapshot(**overrides)), prepared.registry))
    # A one-key `if` is a group of one: the predicate itself is its only child.
    assert result.name == "if"
    return result.children[0] if len(result.children) == 1 else result


def check_case(yaml: str, overrides: dict, expected: bool, phrase: str) -> None:
    result = condition(yaml, **overrides)
    assert result.status is (Status.TRUE if expected else Status.FALSE), result.explanation
    assert phrase in result.explanation, result.explanation


FILES = {
    "api": (changed("services/api/client.py"),),
    "api+md": (changed("services/api/README.md"), changed("services/api/client.py")),
    "api-md": (changed("services/api/README.md"),),
    "docs": (changed("docs/guide.md"), changed("src/README.md")),
    "rename": (changed("lib/new.py", previous_path="services/api/old.py"),),
    "none": (),
}

CHANGED_FILES = [
    ('{changed_files: {paths: ["services/api/**"]}}', {}, True, "services/api/client.py matches services/api/**"),
    ('{changed_files: {paths: ["web/**"]}}', {}, False, "no changed file matches web/**"),
    ('{changed_files: {paths: ["services/**"], ignore: ["**/*.md"]}}',
     {"files": FILES["api-md"]}, False, "ignoring **/*.md"),
    ('{changed_files: {paths: ["services/**"], ignore: ["**/*.md"]}}',
     {"files": FILES["api+md"]}, True, "services/api/client.py"),
    # a rename counts as its old path too
    ('{changed_files: {paths: ["services/api/**"]}}',
     {"files": FILES["rename"]}, True, "services/api/old.py"),
    ('{changed_files: {paths: ["web/**"]}}',
     {"files_truncated": True}, True, "truncated"),
    ('{changed_files: {paths: ["*.py"]}}', {}, True, "client.py"),
    ('{changed_files: {paths: ["/client.py"]}}', {}, False, "no changed file"),
]

ONLY_CHANGED_FILES = [
    ('{only_changed_files: {paths: ["docs/**", "**/*.md"]}}', {"files": FILES["docs"]},
     True, "all 2 changed paths match"),
    ('{only_changed_files: {paths: ["docs/**"]}}', {"files": FILES["docs"]},
     False, "src/README.md does not match docs/**"),
    ('{only_changed_files: {paths: ["docs/**"]}}', {"files": FILES["none"]},
     False, "no files changed"),
    ('{only_changed_files: {paths: ["docs/**", "**/*.md"]}}',
     {"files": FILES["docs"], "files_truncated": True}, False, "truncated"),
    # the old path of a rename must match too
    ('{only_changed_files: {paths: ["lib/**"]}}', {"files": FILES["rename"]},
     False, "services/api/old.py does not match"),
]

NO_CHANGED_FILES = [
    ('{no_changed_files: {paths: ["web/**"]}}', {}, True, "no changed file matches web/**"),
    ('{no_changed_files: {paths: ["services/**"]}}', {}, False, "services/api/client.py match"),
    ('{no_changed_files: {paths: ["web/**"]}}', {"files_truncated": True}, False, "truncated"),
]

COUNTS = [
    ('{changed_files_count: "<= 1"}', {}, True, "1 file changed (needs <= 1)"),
    ('{changed_files_count: "> 1"}', {}, False, "1 file changed"),
    # A bare number means `==`, as docs/policy.md says.
    ('{changed_files_count: 1}', {}, True, "1 file changed (needs == 1)"),
    ('{changed_files_count: 2}', {}, False, "1 file changed (needs == 2)"),
    ('{modified_lines: {deletions: 3}}',
     {"files": (changed("a.py", additions=150, deletions=3),)}, True, "3 lines deleted"),
    ('{changed_files_count: "<= 50"}', {"files_truncated": True}, False, "at least 1 files"),
    ('{changed_files_count: "> 0"}', {"files_truncated": True}, True, "truncated"),
    ('{changed_files_count: "<= 5000"}', {"files_truncated": True, "files_count": 4000},
     True, "4000 files changed"),
    ('{modified_lines: {additions: "> 100"}}',
     {"files": (changed("a.py", additions=150, deletions=3),)}, True, "150 lines added"),
    ('{modified_lines: {total: "< 100"}}',
     {"files": (changed("a.py", additions=150, deletions=3),)}, False,
     "153 lines changed in total"),
    # Several keys must all hold (policy-bot ORs them): 150 > 100 but 3 > 100 fails.
    ('{modified_lines: {additions: "> 100", deletions: "> 100"}}',
     {"files": (changed("a.py", additions=150, deletions=3),)}, False, "3 lines deleted"),
    ('{modified_lines: {additions: "> 100", deletions: "> 100"}}',
     {"files": (changed("a.py", additions=150, deletions=120),)}, True, "120 lines deleted"),
    ('{modified_lines: {deletions: ">= 3", additions: "> 200"}}',
     {"files": (changed("a.py", additions=150, deletions=3),)}, False, "150 lines added"),
    ('{modified_lines: {additions: "< 10"}}',
     {"files_truncated": True}, False, "at least 1 lines added"),
    ('{modified_lines: {additions: "< 10"}}',
     {"files_truncated": True, "additions": 5, "deletions": 0}, True, "5 lines added"),
]

AUTHORS = [
    ("{author: {in: {users: [ADA]}}}", {}, True, "is listed by name"),
    ("{author: {in: {teams: [acme/backend]}}}", {}, False, "is not in acme/backend"),
    ("{author: {in: {teams: [acme/backend]}}}", {"author": actor("bob")}, True,
     "is in acme/backend"),
    ("{author: {in: {organizations: [acme]}}}", {}, True, "member of acme"),
    ("{author: {not_in: {users: [renovate]}}}", {}, True, "is not in renovate"),
    ("{author: {not_in: {organizations: [acme]}}}", {}, False, "member of acme"),
    ("{author_is_only_contributor: true}", {}, True, "ada is the only contributor"),
    ("{author_is_only_contributor: true}", {"pushers": ("ada", "bob")}, False,
     "bob pushed to the branch"),
    ("{author_is_only_contributor: true}",
     {"commits": (commit(), commit("e" * 40, author="carol"))}, False, "carol authored eeeeeee"),
    ("{author_is_only_contributor: true}",
     {"commits": (commit(committer="dave"),)}, False, "dave committed"),
    # a committer without an account (a rebase, a web edit) is not a person
    ("{author_is_only_contributor: true}", {"commits": (commit(committer=None),)}, True,
     "only contributor"),
    ("{author_is_only_contributor: true}", {"commits": (commit(author=None),)}, False,
     "no account"),
    ("{author_is_only_contributor: true}", {"commits_truncated": True}, False, "truncated"),
    ("{author_is_only_contributor: false}", {"commits_truncated": True}, True, "truncated"),
    # the bot's own update merges do not make the author share the PR
    ("{author_is_only_contributor: true}",
     {"commits": (commit(), commit("f" * 40, author="gatebot[bot]", committer="gatebot[bot]",
                                   update_merge=True)),
      "pushers": ("ada", "gatebot[bot]")}, True, "only contributor"),
    # so do update merges others made (recognised by content), and their pushes of them
    ("{author_is_only_contributor: true}",
     {"commits": (commit(OLD_HEAD), commit(author="bob", committer="web-flow",
                                           parents=(OLD_HEAD, BASE), update_merge=True)),
      "pushers": ("ada", "bob"),
      "head_history": (head_change(OLD_HEAD, -9, pusher="ada"),
                     head_change(HEAD, 0, pusher="bob"))},
     True, "only contributor"),
    # a merge of the base that is not an update merge is bob's own work
    ("{author_is_only_contributor: true}",
     {"commits": (commit(OLD_HEAD), commit(author="bob", committer="web-flow",
                                           parents=(OLD_HEAD, BASE)))},
     False, "bob authored"),
]

BRANCHES = [
    ('{target_branch: ["main"]}', {}, True, "target branch main matches main"),
    ('{target_branch: ["release/*"]}', {}, False, "does not match release/*"),
    ('{target_branch: ["release/*"]}', {"base_ref": "release/1.2"}, True, "release/1.2"),
    ('{target_branch: ["release/*"]}', {"base_ref": "release/1.2/hotfix"}, False, "does not"),
    ('{source_branch: ["feature/**"]}', {}, True, "source branch feature/retry matches"),
    ('{source_branch: ["dependabot/**"]}', {}, False, "source branch feature/retry"),
]

PULL = [
    ("{labels: {any: [Urgent, hotfix]}}", {"labels": ("HOTFIX",)}, True, "label hotfix"),
    ("{labels: {any: [urgent]}}", {"labels": ("bug",)}, False, "none of the labels urgent"),
    ("{labels: {all: [a, b]}}", {"labels": ("A", "b")}, True, "are present"),
    ("{labels: {all: [a, b]}}", {"labels": ("a",)}, False, "label b is missing"),
    ("{labels: {none: [blocked]}}", {"labels": ("Blocked",)}, False, "label blocked is present"),
    ("{labels: {none: [blocked]}}", {}, True, "none of the labels blocked"),
    ('{title: {matches: ["^WIP"]}}', {"title": "WIP: retry"}, True, "matches ^WIP"),
    # searched, not anchored
    ('{title: {matches: ["retry"]}}', {}, True, "the title matches retry"),
    # case-sensitive unless (?i)
    ('{title: {matches: ["RETRY"]}}', {}, False, "does not match RETRY"),
    ('{title: {matches: ["(?i)RETRY"]}}', {}, True, "matches (?i)RETRY"),
    ('{title: {not_matches: ["^WIP"]}}', {"title": "WIP: x"}, False, "the title matches ^WIP"),
    ('{title: {not_matches: ["^WIP"]}}', {}, True, "does not match ^WIP"),
    # Both keys must hold (policy-bot ORs them): a match among `matches` AND none
    # among `not_matches`.
    ('{title: {matches: ["^feat"], not_matches: ["WIP"]}}', {"title": "feat: WIP"}, False,
     "the title matches WIP"),
    ('{title: {matches: ["^feat"], not_matches: ["WIP"]}}', {"title": "fix: x"}, False,
     "does not match ^feat"),
    ('{title: {matches: ["^feat"], not_matches: ["WIP"]}}', {"title": "feat: x"}, True,
     "the title matches ^feat"),
    ("{draft: true}", {"draft": True}, True, "is a draft"),
    ("{draft: true}", {}, False, "is not a draft"),
    ("{draft: false}", {}, True, "is not a draft"),
]

CHECKS = [
    ('{checks: {success: ["ci / test"]}}', {"checks": (check("ci / test"),)}, True, "passed"),
    ('{checks: {success: ["ci / test"]}}', {"checks": ()}, False, "has not reported yet"),
    ('{checks: {success: ["ci / test"]}}',
     {"checks": (check("ci / test", "in_progress"),)}, False, "is in progress"),
    ('{checks: {failure: ["ci / *"]}}',
     {"checks": (check("ci / lint", "failure"),)}, True, "ci / lint failed"),
    ('{checks: {failure: ["ci / test"]}}', {"checks": (check("ci / test"),)}, False,
     "none of ci / test failed"),
]

COMBINATORS = [
    ('{all: [{draft: false}, {target_branch: ["main"]}]}', {}, True, "target branch main"),
    ('{all: [{draft: true}, {target_branch: ["main"]}]}', {}, False, "draft: the PR is not"),
    ('{any: [{draft: true}, {target_branch: ["main"]}]}', {}, True, "target branch main"),
    ('{any: [{draft: true}, {target_branch: ["dev"]}]}', {}, False, "none holds"),
    ("{not: {draft: true}}", {}, True, "not: draft"),
    ("{not: {draft: false}}", {}, False, "not: draft"),
    # several keys in one mapping: all must hold
    ('{draft: false, target_branch: ["dev"]}', {}, False, "does not match dev"),
    ('{draft: false, target_branch: ["main"]}', {}, True, "draft"),
    ('{any: [{all: [{draft: false}, {labels: {any: [x]}}]}, {not: {target_branch: ["dev"]}}]}',
     {}, True, "not: target_branch"),
]


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), CHANGED_FILES)
def test_changed_files(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), ONLY_CHANGED_FILES)
def test_only_changed_files(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), NO_CHANGED_FILES)
def test_no_changed_files(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), COUNTS)
def test_counts_and_lines(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), AUTHORS)
def test_authors(yaml, overrides, expected, phrase):
    check_case(yaml.replace("ADA", "Ada"), overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), BRANCHES)
def test_branches(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), PULL)
def test_labels_title_draft(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), CHECKS)
def test_checks_predicate(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


@pytest.mark.parametrize(("yaml", "overrides", "expected", "phrase"), COMBINATORS)
def test_combinators(yaml, overrides, expected, phrase):
    check_case(yaml, overrides, expected, phrase)


def test_truncated_file_list_is_reported_as_a_fact():
    result = condition('{changed_files: {paths: ["web/**"]}}', files_truncated=True)
    assert result.facts is not None and result.facts.truncated


def test_matching_paths_are_listed_as_evidence():
    files = tuple(changed(f"services/api/m{i}.py") for i in range(10))
    result = condition('{changed_files: {paths: ["services/**"]}}', files=files)
    assert result.facts.evidence == ("services/api/m0.py", "services/api/m1.py",
                                     "services/api/m2.py")
    assert "and 7 more" in result.explanation


def test_glob_matching_follows_gitignore_directories():
    # `docs` (no slash) matches the directory at any depth and everything below it
    result = condition('{changed_files: {paths: ["docs"]}}',
                       files=(changed("pkg/docs/a/b.txt"),))
    assert result.status is Status.TRUE


def test_head_sha_is_not_a_branch_name():
    # source_branch reads the head ref, never the SHA
    result = condition(f'{{source_branch: ["{HEAD}"]}}')
    assert result.status is Status.FALSE
