"""The policy loader: every problem kind with its code, line and column."""

from __future__ import annotations

import textwrap
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy, RemotePolicy
from bot.core.policy.problems import CODES, ProblemCode
from bot.core.policy.remotes import stays_inside
from bot.core.policy.yamlsource import MAX_BYTES, MAX_NODES

VALID = """\
version: 1
policy:
  approval:
    - reviewed
rules:
  - name: reviewed
    requires:
      approvals: 1
"""


def load(text: str, **kwargs):
    return load_policy_file(textwrap.dedent(text), "policy.yml", **kwargs)


def only_error(text: str, **kwargs):
    result = load(text, **kwargs)
    assert result.policy is None
    assert len(result.errors) == 1, [p.format() for p in result.problems]
    return result.errors[0]


def test_valid_policy_loads_with_defaults():
    result = load(VALID)
    assert result.ok and result.problems == ()
    policy = result.policy
    assert isinstance(policy, Policy)
    assert policy.mode == "enforce"
    assert policy.rules[0].requires.approvals == 1
    assert policy.rules[0].options.invalidate_on_push is True
    assert policy.rules[0].options.methods.review is True
    assert policy.commands.prefix == "/gate"


# (name, text, code, line, column, fragment of the message)
CASES = [
    (
        "yaml syntax",
        "version: 1\npolicy:\n  approval: [a\nrules: []\n",
        "yaml-syntax", 4, 6, "invalid YAML",
    ),
    (
        "tab indentation",
        "version: 1\npolicy:\n\tapproval: []\n",
        "yaml-syntax", 3, 1, "invalid YAML",
    ),
    (
        "duplicate key",
        VALID + "version: 1\n",
        "yaml-duplicate-key", 9, 1, "first defined at line 1",
    ),
    (
        "unsupported tag",
        "version: !!python/object:os.system 1\n",
        "yaml-syntax", 1, 10, "unsupported YAML tag",
    ),
    (
        "several documents",
        "version: 1\n---\nversion: 1\n",
        "yaml-syntax", 2, 1, "several YAML documents",
    ),
    ("empty file", "# only a comment\n", "yaml-empty", 1, 1, "empty"),
    ("top level list", "- version: 1\n", "wrong-type", 1, 1, "mapping starting with"),
    (
        "misspelt key",
        VALID.replace("approvals: 1", "approvals: 1\n      approvls: 2"),
        "unknown-key", 9, 7, "did you mean `approvals`?",
    ),
    (
        "unknown top-level key",
        VALID + "checkz: []\n",
        "unknown-key", 9, 1, "did you mean `checks`?",
    ),
    (
        "missing version",
        VALID.replace("version: 1\n", ""),
        "missing-key", 1, 1, "`version: 1` is required",
    ),
    (
        "missing requires",
        "version: 1\npolicy:\n  approval: [a]\nrules:\n  - name: a\n",
        "missing-key", 5, 5, "missing required key `requires`",
    ),
    ("unsupported version", VALID.replace("version: 1", "version: 2"),
     "unsupported-version", 1, 10, "use `version: 1`"),
    (
        "string where a number belongs",
        VALID.replace("approvals: 1", 'approvals: "1"'),
        "wrong-type", 8, 18, "expected a whole number",
    ),
    (
        "YAML 1.1 boolean is text",
        VALID + "merge:\n  auto: yes\n",
        "wrong-type", 10, 9, "expected true or false",
    ),
    (
        "bad enum value",
        VALID + "merge:\n  method: fast-forward\n",
        "invalid-value", 10, 11, "expected one of",
    ),
    (
        "misspelt permission",
        VALID.replace("approvals: 1", "approvals: 1\n      from: {permission: maintainer}"),
        "invalid-value", 9, 26, "did you mean `maintain`?",
    ),
    (
        "duplicate rule names",
        VALID + "  - name: reviewed\n    requires: {approvals: 2}\n",
        "duplicate-rule", 9, 11, "already defined at line 6",
    ),
    (
        "undefined rule reference",
        VALID.replace("- reviewed\n", "- reviewed\n    - or: [backend-owner]\n")
        + "  - name: backend-owners\n    requires: {approvals: 1}\n",
        "undefined-rule", 5, 12, "did you mean `backend-owners`?",
    ),
    (
        "empty or",
        VALID.replace("- reviewed\n", "- reviewed\n    - or: []\n"),
        "empty-combinator", 5, 11, "`or` needs at least one item",
    ),
    (
        "empty any",
        VALID.replace("    requires:", "    if:\n      any: []\n    requires:"),
        "empty-combinator", 8, 12, "`any` needs at least one item",
    ),
    (
        "empty condition",
        VALID.replace("    requires:", "    if: {}\n    requires:"),
        "empty-condition", 7, 9, "empty condition",
    ),
    (
        "bad glob",
        VALID.replace("    requires:", '    if:\n      changed_files: {paths: ["src/[ab"]}\n'
                      "    requires:"),
        "bad-glob", 8, 31, "src/[ab",
    ),
    (
        "bad RE2 regex",
        VALID.replace("    requires:", '    if:\n      title: {matches: ["(?P<x"]}\n    requires:'),
        "bad-regex", 8, 25, "not a valid RE2 regular expression",
    ),
    (
        "bad comparison",
        VALID.replace("    requires:", '    if:\n      changed_files_count: ">> 5"\n    requires:'),
        "bad-comparison", 8, 28, "is not a comparison",
    ),
    (
        "bad template",
        VALID + 'merge:\n  commit_title: "{title} ({sha})"\n',
        "bad-template", 10, 17, "unknown placeholder `{sha}`",
    ),
    (
        "URL as a deploy target",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n"
        '    via: {target: "https://deploy.example.com/hook"}\n',
        "url-not-allowed", 12, 19, "GATEBOT_DEPLOY_TARGETS",
    ),
    (
        "URL key in a deploy method",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n"
        "    via:\n      repository_dispatch: {event_type: deploy, url: x}\n",
        "url-not-allowed", 13, 49, "URLs are not allowed",
    ),
    (
        "secret in a workflow input",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n    via:\n"
        "      workflow_dispatch:\n        workflow: deploy.yml\n        ref: main\n"
        "        inputs: {token: ghp_0123456789abcdefghijABCDEFGHIJ0123}\n",
        "secret-not-allowed", 16, 25, "looks like a secret",
    ),
    (
        "token key in a deploy method",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n"
        "    via: {github_deployment: {token: abc}}\n",
        "secret-not-allowed", 12, 31, "secrets are not allowed",
    ),
    (
        "workflow dispatch on a SHA",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n    via:\n"
        "      workflow_dispatch: {workflow: d.yml, ref: 0123456789abcdef0123456789abcdef01234567}\n",
        "invalid-value", 13, 26, "needs a branch or tag",
    ),
    (
        "duplicate deploy names",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n    via: {github_deployment: {}}\n"
        "  - name: prod\n    branches: [main]\n    via: {github_deployment: {}}\n",
        "duplicate-deploy", 13, 11, "already defined at line 10",
    ),
    (
        "two deploy methods",
        VALID + "deploy:\n  - name: prod\n    branches: [main]\n"
        "    via: {github_deployment: {}, target: prod}\n",
        "invalid-value", 12, 10, "exactly one of",
    ),
    (
        "string where a list belongs",
        VALID.replace("    requires:", "    if:\n      target_branch: main\n    requires:"),
        "wrong-type", 8, 22, 'write `["main"]`',
    ),
    (
        "distinct teams larger than the team list",
        VALID.replace("approvals: 1", "approvals: 2\n      from: {teams: [acme/a]}\n"
                      "      distinct_teams: 2"),
        "invalid-value", 8, 7, "distinct_teams is 2 but `from.teams` lists 1",
    ),
    (
        "team without organisation",
        VALID.replace("approvals: 1", "approvals: 1\n      from: {teams: [backend]}"),
        "invalid-value", 9, 22, "`org/team-slug`",
    ),
    (
        "unknown command in allow",
        VALID + "commands:\n  allow:\n    mrege: {permission: write}\n",
        "invalid-value", 11, 5, "did you mean `merge`?",
    ),
    (
        "remote with other keys",
        "remote: acme/policies\nversion: 1\n",
        "unknown-key", 2, 1, "holds nothing else",
    ),
    (
        "bad remote",
        "remote: not a repo\n",
        "invalid-value", 1, 9, "owner/repo[/path][@ref]",
    ),
    (
        "approval item of the wrong shape",
        VALID.replace("- reviewed\n", "- reviewed\n    - {xor: [reviewed]}\n"),
        "wrong-type", 5, 7, "a rule name, `{and: [...]}` or `{or: [...]}`",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "line", "column", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_problem_kind_has_code_line_and_column(text, code, line, column, fragment):
    error = only_error(text)
    assert (error.code, error.line, error.column) == (code, line, column), error.format()
    assert fragment in error.message
    assert error.code in CODES
    assert error.format().startswith(f"policy.yml:{line}:{column}: {code} ")


def test_unreferenced_rule_is_a_warning_and_the_policy_still_loads():
    result = load(VALID + "  - name: spare\n    requires: {approvals: 1}\n")
    assert result.ok and result.policy is not None
    (warning,) = result.warnings
    assert (warning.code, warning.line, warning.column) == ("unused-rule", 9, 11)
    assert warning.format() == (
        "policy.yml:9:11: warning: unused-rule rule `spare` is not referenced in "
        "`policy.approval` and has no effect"
    )


def test_all_errors_are_reported_at_once_in_file_order():
    text = """\
        version: 1
        policy:
          approval: [reviewed, missing-rule]
        rules:
          - name: reviewed
            requires: {approvals: many}
        merge: {method: fast}
        """
    result = load(text)
    assert [(p.code, p.line) for p in result.errors] == [
        ("undefined-rule", 3),
        ("wrong-type", 6),
        ("invalid-value", 7),
    ]


def test_problems_inside_a_rule_name_the_rule():
    error = only_error(VALID.replace("approvals: 1", "approvals: -1"))
    assert error.message.startswith("rule `reviewed`: ")


def test_operator_targets_unknown_and_not_allowed():
    text = VALID + "deploy:\n  - name: prod\n    branches: [main]\n    via: {target: prod-jenkin}\n"
    targets = {"prod-jenkins": ["acme/*"]}
    error = only_error(text, deploy_targets=targets, repo="acme/api")
    assert (error.code, error.line, error.column) == ("unknown-target", 12, 19)
    assert "did you mean `prod-jenkins`?" in error.message

    allowed = text.replace("prod-jenkin}", "prod-jenkins}")
    assert load(allowed, deploy_targets=targets, repo="acme/api").ok
    error = only_error(allowed, deploy_targets=targets, repo="other/api")
    assert error.code == "target-not-allowed"
    assert "other/api" in error.message


def test_remote_pointer_loads():
    result = load("remote: acme/policies/gatebot/backend.yml@v2\n")
    assert result.ok and result.policy is None
    assert isinstance(result.remote, RemotePolicy)
    assert result.remote.remote == "acme/policies/gatebot/backend.yml@v2"


def test_yaml_12_scalars():
    result = load(VALID + "merge:\n  auto: True\n  delete_branch: false\n")
    assert result.ok
    assert result.policy.merge.auto is True and result.policy.merge.delete_branch is False
    # `on`/`yes` are text in YAML 1.2: a label named `on` is just a label.
    text = VALID.replace("    requires:", "    if:\n      labels: {any: [on, yes, no]}\n    requires:")
    assert load(text).policy.rules[0].if_.labels.any == ["on", "yes", "no"]


def test_size_cap():
    error = load_policy_file(b"#" * (MAX_BYTES + 1), "big.yml").errors[0]
    assert (error.code, error.line, error.column) == ("yaml-too-large", 1, 1)
    assert error.message == f"the policy file is {MAX_BYTES + 1:,} bytes; the limit is 256 KiB"
    text_error = load_policy_file("#" * (MAX_BYTES + 5), "big.yml").errors[0]
    assert text_error.message == f"the policy file is {MAX_BYTES + 5:,} bytes; the limit is 256 KiB"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1024,  # the attack: 1 KB of `[` (unclosed, so not even YAML)
        "[" * 5000 + "]" * 5000,
        "{a: " * 2000 + "x" + "}" * 2000,
        "- " * 3000 + "x\n",
    ],
    ids=["open-brackets", "closed-brackets", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_a_problem_with_a_line_not_a_crash(text):
    (error,) = load_policy_file(text, ".github/gatebot.yml").errors
    assert error.code == "yaml-too-complex"
    assert error.message == "nesting deeper than 64 levels"
    assert error.file == ".github/gatebot.yml" and error.line >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["[", "{a: ", "[x, ", "{", "- ", "&x [", "\n "]), max_size=1500),
    st.lists(st.sampled_from(["]", "}", ", *x", "\n"]), max_size=1500),
)
def test_arbitrary_nesting_never_raises(openers, closers):
    result = load_policy_file("".join(openers) + "x" + "".join(closers), "policy.yml")
    assert result.policy is not None or result.remote is not None or result.errors


def test_alias_expansion_cap():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    result = load_policy_file("\n".join(lines) + "\n", "bomb.yml")
    (error,) = result.errors
    assert error.code == "yaml-too-complex"
    assert str(MAX_NODES) in error.message.replace(",", "")
    assert 1 <= error.line <= len(lines)


def test_non_utf8_bytes():
    error = load_policy_file(b"version: 1\nname: \xff\n", "bin.yml").errors[0]
    assert (error.code, error.line) == ("yaml-syntax", 2)


def test_loader_does_not_raise_on_non_string_keys():
    error = only_error(VALID + "3: x\n")
    assert (error.code, error.line) == ("unknown-key", 9)


# Hypothesis: any text yields a policy or problems positioned inside the file.

_yaml_alphabet = st.sampled_from(
    list("abv:-[]{},&*!|>'\"#%@` \n\t0123456789.?~") + ["version", "rules", "policy", "\n  "]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_yaml_alphabet, max_size=60).map("".join))
def test_arbitrary_text_yields_policy_or_positioned_problems(text):
    result = load_policy_file(text, "fuzz.yml")
    lines = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
    assert result.policy is not None or result.errors or result.remote is not None
    for problem in result.problems:
        assert 1 <= problem.line <= lines, (problem.format(), text)
        assert problem.column >= 1
        assert problem.code in CODES


def test_every_problem_code_has_a_documented_meaning():
    # The type lists the codes; the table gives each its meaning in the docs.
    assert list(CODES) == list(get_args(ProblemCode))


_policy_words = st.sampled_from([
    "version: 1\n", "policy:\n", "  approval:\n", "    - a\n", "    - or: [a, b]\n",
    "rules:\n", "  - name: a\n", "  - name: b\n", "    requires:\n", "      approvals: 1\n",
    "    if:\n", "      changed_files: {paths: ['**']}\n", "      draft: true\n",
    "checks: [x]\n", "merge: {auto: true}\n", "      approvals: x\n", "  - 3\n", "mode: report\n",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_policy_words, max_size=14).map("".join))
def test_policy_shaped_text_never_raises(text):
    result = load_policy_file(text, "fuzz.yml")
    lines = max(text.count("\n"), 1)
    assert (result.policy is not None) != bool(result.errors)
    for problem in result.problems:
        assert 1 <= problem.line <= lines, (problem.format(), text)


@pytest.mark.parametrize(
    ("remote", "path", "inside"),
    [
        ("acme/policies", ".github/gatebot.yml", True),
        ("acme/sub/project", "gatebot/backend.yml", True),
        ("acme/app", "../../../globex/secrets/contents/.env", False),
        ("acme/..", "globex/x", False),
        ("acme/app", "./x.yml", False),
        ("acme/app", "a//b.yml", False),
        ("acme/app", "%2e%2e/x.yml", False),
        ("acme/app", "..\\x.yml", False),
        ("acme/app", "x.yml?ref=main", False),
    ],
)
def test_remote_pointers_that_could_name_another_repository_are_not_followed(
    remote: str, path: str, inside: bool
) -> None:
    assert stays_inside(remote, path) is inside
