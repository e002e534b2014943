"""The shipped policies, the published schema and the `validate` / `schema` commands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from bot.core.policy.comparison import parse_comparison
from bot.core.policy.loader import load_policy_file
from bot.core.policy.schema import policy_json_schema
from bot.core.policy.yamlsource import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").rglob("*.yml"))
EXAMPLES = sorted((ROOT / "policies" / "examples").glob("*.yml"))


def test_there_are_a_default_and_at_least_six_examples():
    assert (ROOT / "policies" / "default.yml") in POLICIES
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_shipped_policy_validates_without_warnings(path):
    result = load_policy_file(path.read_bytes(), str(path))
    assert result.problems == (), [p.format() for p in result.problems]
    assert result.policy is not None


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_shipped_policy_has_a_header_and_a_schema_hint(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# yaml-language-server: $schema=")
    hint = lines[0].split("$schema=", 1)[1]
    assert (path.parent / hint).resolve() == ROOT / "policies" / "schema.json"
    comment = [line for line in lines[1:] if line.startswith("#")]
    assert len(" ".join(comment)) > 80, "explain when to use this policy"


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_shipped_policies_agree_with_the_published_schema(path):
    schema = json.loads((ROOT / "policies" / "schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(parse_yaml(path.read_bytes()).data)


def test_published_schema_is_current(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == policy_json_schema()
    committed = json.loads((ROOT / "policies" / "schema.json").read_text())
    assert committed == printed, "policies/schema.json is stale: run `gatebot schema`"


def test_schema_rejects_unknown_keys_like_the_loader():
    schema = policy_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    good = {"version": 1, "policy": {"approval": ["a"]}, "rules": []}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "checkz": []})
    assert not validator.is_valid({"version": 1, "policy": {"approval": []}})


BARE_COUNT = (
    "version: 1\npolicy:\n  approval: [small]\nrules:\n  - name: small\n"
    "    if:\n      changed_files_count: {count}\n    requires: {{approvals: 1}}\n"
)


@pytest.mark.parametrize(("count", "valid"), [("50", True), ('"50"', True), ("true", False),
                                              ("-3", False), ("1.5", False)])
def test_a_bare_number_is_a_comparison_for_the_loader_and_the_schema(count, valid):
    text = BARE_COUNT.format(count=count)
    loaded = load_policy_file(text, "bare.yml")
    assert (loaded.policy is not None) is valid, [p.format() for p in loaded.problems]
    schema = json.loads((ROOT / "policies" / "schema.json").read_text())
    assert jsonschema.Draft202012Validator(schema).is_valid(parse_yaml(text).data) is valid
    if valid:
        [rule] = loaded.policy.rules
        assert str(parse_comparison(rule.if_.changed_files_count)) == "== 50"


def test_schema_descriptions_come_from_the_docstrings():
    defs = policy_json_schema()["$defs"]
    options = defs["RuleOptions"]["properties"]
    assert options["allow_author"]["description"] == "Let the PR author's approval count."
    assert "alternatives" in defs["Approvers"]["description"]


def test_validate_accepts_good_files(capsys):
    assert main(["validate", *map(str, POLICIES)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == len(POLICIES)


def test_validate_reports_errors_with_positions_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\npolicy:\n  approval: [reviewd]\nrules:\n  - name: reviewed\n"
                   "    requires: {approvals: 1}\n")
    good = tmp_path / "good.yml"
    good.write_text((ROOT / "policies" / "default.yml").read_text())
    assert main(["validate", str(good), str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{good}: ok" in lines
    assert f"{bad}:3:14: undefined-rule unknown rule `reviewd` — did you mean `reviewed`?" in lines
    assert f"{bad}:5:11: warning: unused-rule rule `reviewed` is not referenced in " \
           "`policy.approval` and has no effect" in lines


def test_validate_warnings_alone_exit_0(tmp_path, capsys):
    path = tmp_path / "warn.yml"
    path.write_text((ROOT / "policies" / "default.yml").read_text()
                    + "  - name: spare\n    requires: {approvals: 1}\n")
    assert main(["validate", str(path)]) == 0
    assert "warning: unused-rule" in capsys.readouterr().out


def test_validate_missing_file_is_an_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yml")]) == 1
    assert "nope.yml" in capsys.readouterr().err


def test_every_problem_code_is_documented():
    from bot.core.policy.problems import CODES

    doc = (ROOT / "docs" / "policy.md").read_text()
    for code, meaning in CODES.items():
        assert f"| `{code}` | {meaning} |" in doc, code


# -- workflow files -------------------------------------------------------------------------
# A required check reported by `github-actions` comes from a workflow the PR itself can
# edit, so every shipped GitHub policy asks a code owner (or, where CODEOWNERS names
# none, a maintainer) to approve workflow changes; the GitLab example does the same for
# the pipeline definition.

GITHUB_POLICIES = [p for p in POLICIES if p.name != "gitlab-pipeline-deploy.yml"]


def _verdict(path: Path, files: list[str], reviewers: list[str], codeowners: str | None = None):
    from factories import changed, make_snapshot, review

    from bot.core.gate import decide
    from bot.core.policy.evaluate import evaluate

    policy = load_policy_file(path.read_bytes(), str(path)).policy
    snapshot = make_snapshot(
        files=tuple(changed(f) for f in files),
        reviews=tuple(review(login) for login in reviewers),
        codeowners=codeowners,
    )
    return decide(evaluate(policy, snapshot), snapshot)


@pytest.mark.parametrize("path", GITHUB_POLICIES, ids=lambda p: p.name)
def test_a_workflow_change_needs_a_code_owner_or_a_maintainer(path):
    # Everyone else in the factory's cast approved: writers, teams, the admin.
    writers = ["bob", "dave"]
    changed_workflow = _verdict(path, [".github/workflows/ci.yml"], writers)
    assert "workflow-owners: needs 1 more approval" in changed_workflow.description

    by_maintainer = _verdict(path, [".github/workflows/ci.yml"], [*writers, "carol"])
    assert "workflow-owners:" not in " ".join(by_maintainer.blockers)

    # Where CODEOWNERS names the workflows' owners, only they can approve them.
    owned = _verdict(path, [".github/actions/setup/action.yml"], [*writers, "carol"],
                     codeowners="/.github/ @frank\n")
    assert "workflow-owners: needs a code owner's approval" in owned.description
    assert "workflow-owners:" not in " ".join(_verdict(
        path, [".github/actions/setup/action.yml"], [*writers, "carol", "frank"],
        codeowners="/.github/ @frank\n",
    ).blockers)


def test_the_gitlab_example_asks_the_same_of_pipeline_changes():
    path = ROOT / "policies" / "examples" / "gitlab-pipeline-deploy.yml"
    assert "pipeline-owners: needs 1 more approval" in _verdict(
        path, [".gitlab-ci.yml"], ["bob"]
    ).description
    assert "pipeline-owners:" not in " ".join(_verdict(path, ["src/app.py"], ["bob"]).blockers)


TARGETS = (
    "deploy-hook:\n  type: webhook\n  url: https://deploy.example.com/hook\n"
    "  secret: s3cr3t-value\n  repos: [acme/*]\n"
)
DEPLOYS_TO = (
    "version: 1\npolicy:\n  approval: [reviewed]\nrules:\n  - name: reviewed\n"
    "    requires: {{approvals: 1}}\ndeploy:\n  - name: prod\n    branches: [main]\n"
    "    via: {{target: {target}}}\n"
)


@pytest.fixture
def targets_file(tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(TARGETS)
    return path


def test_validate_checks_target_names_against_the_given_targets_file(
    tmp_path, targets_file, capsys, monkeypatch
):
    monkeypatch.delenv("GATEBOT_DEPLOY_TARGETS", raising=False)
    policy = tmp_path / "policy.yml"
    policy.write_text(DEPLOYS_TO.format(target="nope"))
    assert main(["validate", "--deploy-targets", str(targets_file), str(policy)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{policy}:10:19: unknown-target unknown deploy target `nope`; the operator declares "
        "targets in GATEBOT_DEPLOY_TARGETS"
    ]
    policy.write_text(DEPLOYS_TO.format(target="deploy-hok"))
    assert main(["validate", "--deploy-targets", str(targets_file), str(policy)]) == 1
    assert "did you mean `deploy-hook`?" in capsys.readouterr().out
    policy.write_text(DEPLOYS_TO.format(target="deploy-hook"))
    assert main(["validate", "--deploy-targets", str(targets_file), str(policy)]) == 0
    assert main(["validate", "--deploy-targets", str(targets_file), "--repo", "other/app",
                 str(policy)]) == 1
    assert "not allowed for other/app" in capsys.readouterr().out
    # Without a targets file the names cannot be checked.
    policy.write_text(DEPLOYS_TO.format(target="nope"))
    assert main(["validate", str(policy)]) == 0


def test_validate_reads_the_configured_targets_file(tmp_path, targets_file, capsys, monkeypatch):
    policy = tmp_path / "policy.yml"
    policy.write_text(DEPLOYS_TO.format(target="nope"))
    monkeypatch.setenv("GATEBOT_DEPLOY_TARGETS", str(targets_file))
    assert main(["validate", str(policy)]) == 1
    assert "unknown deploy target `nope`" in capsys.readouterr().out


def test_validate_refuses_an_unusable_targets_file_in_one_sentence(tmp_path, capsys):
    broken = tmp_path / "targets.yml"
    broken.write_text("deploy-hook:\n  type: ftp\n  url: https://x.example\n  secret: s3cr3t-value\n")
    policy = tmp_path / "policy.yml"
    policy.write_text(DEPLOYS_TO.format(target="deploy-hook"))
    assert main(["validate", "--deploy-targets", str(broken), str(policy)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"gatebot: GATEBOT_DEPLOY_TARGETS names {broken}, whose target at line 1 needs "
        "`type: webhook`, `type: jenkins` or `type: aws_codedeploy`.\n"
    )
    assert "s3cr3t-value" not in err
