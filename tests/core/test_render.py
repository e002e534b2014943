"""Rendering: the status line, markdown and text explanations, with golden files.

Golden files live in tests/golden/. A missing or different file fails the
test; to accept a new rendering, run the tests locally with
GATEBOT_UPDATE_GOLDEN=1 and review the diff (refused when CI=true).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from factories import (
    HEAD,
    OLD_HEAD,
    TEAMS,
    at,
    changed,
    check,
    comment,
    directory,
    make_snapshot,
    policy,
    review,
)

from bot.cli import main
from bot.core import render
from bot.core.gate import decide
from bot.core.policy.evaluate import evaluate
from bot.core.policy.loader import load_policy_file
from bot.core.snapshot import Hold, Override, Snapshot, TamperMark

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def example(name: str):
    return policy((ROOT / "policies" / "examples" / f"{name}.yml").read_text())


TEAM_POLICY = example("auto-merge-deploy")
SECURITY_POLICY = example("security-veto")
DOCS_POLICY = example("docs-fast-lane")
TWO_REVIEWERS = example("two-reviewers")
COMMENT_POLICY = policy("""
version: 1
policy:
  approval: [lgtm]
rules:
  - name: lgtm
    requires:
      approvals: 1
      from: {permission: write}
    options:
      methods: {review: true, comments: ["LGTM"]}
""")


def scenario_readme_example():
    snapshot = Snapshot.model_validate_json((ROOT / "docs/examples/snapshot.json").read_bytes())
    return decide(evaluate(TWO_REVIEWERS, snapshot), snapshot)


def scenario_distinct_teams_pending():
    snapshot = make_snapshot(
        labels=("automerge",),
        reviews=(review("bob", sha=OLD_HEAD), review("carol"), review("ada")),
        checks=(check("ci / test"), check("ci / lint", "failure", app="travis")),
    )
    return decide(evaluate(TEAM_POLICY, snapshot), snapshot)


def scenario_distinct_teams_passing():
    snapshot = make_snapshot(
        labels=("automerge",),
        reviews=(review("bob"), review("dave")),
        checks=(check("ci / test"), check("ci / lint")),
    )
    return decide(evaluate(TEAM_POLICY, snapshot), snapshot)


def scenario_security_veto():
    snapshot = make_snapshot(
        files=(changed("services/auth/login.py"),),
        labels=("security-hold",),
        reviews=(review("bob"),),
        directory=directory(teams={**TEAMS, "acme/security": ("erin", "frank")}),
    )
    return decide(evaluate(SECURITY_POLICY, snapshot), snapshot)


def scenario_docs_fast_lane_waiting_for_build():
    snapshot = make_snapshot(
        files=(changed("docs/intro.md"), changed("README.md")),
        checks=(check("docs / build", "in_progress"),),
    )
    return decide(evaluate(DOCS_POLICY, snapshot), snapshot)


def scenario_truncated_files():
    snapshot = make_snapshot(
        files=tuple(changed(f"docs/page{i}.md") for i in range(5)),
        files_truncated=True,
        files_count=3500,
        checks=(check("docs / build"),),
    )
    return decide(evaluate(DOCS_POLICY, snapshot), snapshot)


def scenario_broken_policy():
    broken = load_policy_file(
        b"version: 1\npolicy:\n  approval: [reviewd]\nrules:\n  - name: reviewed\n"
        b"    requires: {approvals: 1}\n",
        ".github/gatebot.yml",
    )
    snapshot = make_snapshot()
    return decide(evaluate(None, snapshot, policy_errors=broken.errors), snapshot)


def scenario_changed_policy_invalid():
    changed_file = load_policy_file(b"version: 1\npolicy: {approval: []}\n", ".github/gatebot.yml")
    snapshot = make_snapshot(
        files=(changed(".github/gatebot.yml"),), reviews=(review("bob"), review("carol"))
    )
    return decide(
        evaluate(TWO_REVIEWERS.model_copy(update={"checks": []}), snapshot,
                 changed_policy_errors=changed_file.errors),
        snapshot,
    )


def scenario_tampered_comment():
    lgtm = comment("bob", "LGTM", minutes=5, edited_by="mallory", edited_minutes=20, id=77)
    snapshot = make_snapshot(
        comments=(lgtm,),
        tampering=(TamperMark(comment_id=77, editor="mallory", author="bob", at=at(20)),),
    )
    return decide(evaluate(COMMENT_POLICY, snapshot), snapshot)


def scenario_override_with_hold_and_draft():
    snapshot = make_snapshot(
        draft=True,
        holds=(Hold(by="frank", at=at(30), reason="release freeze"),),
        overrides=(Override(sha=HEAD, by="frank", reason="hotfix for incident 42", at=at(40)),),
    )
    return decide(evaluate(TWO_REVIEWERS, snapshot), snapshot)


def scenario_override_passes():
    snapshot = make_snapshot(
        overrides=(Override(sha=HEAD, by="frank", reason="hotfix @oncall <b>now</b>", at=at(40)),),
    )
    return decide(evaluate(TWO_REVIEWERS, snapshot), snapshot)


SCENARIOS = {
    name.removeprefix("scenario_"): fn
    for name, fn in sorted(globals().items())
    if name.startswith("scenario_")
}


def _golden(path: Path, actual: str) -> None:
    if os.environ.get("GATEBOT_UPDATE_GOLDEN") == "1":
        if os.environ.get("CI") == "true":
            pytest.fail("golden files are never regenerated in CI")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), f"missing golden file {path.name}: run with GATEBOT_UPDATE_GOLDEN=1"
    assert actual == path.read_text(), f"rendering differs from {path.name}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_text_explanation_matches_golden(name):
    _golden(GOLDEN / f"{name}.txt", render.text(SCENARIOS[name]()))


@pytest.mark.parametrize("name", SCENARIOS)
def test_markdown_explanation_matches_golden(name):
    decision = SCENARIOS[name]()
    _golden(GOLDEN / f"{name}.md",
            render.markdown(decision, details_url="https://gatebot.example/details/x"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_status_description_fits_and_leads_with_the_state_cause(name):
    decision = SCENARIOS[name]()
    description = render.status_description(decision)
    assert 0 < len(description) <= render.STATUS_LIMIT
    if decision.state != "success":
        first = decision.blockers[0].split("; ")[0]
        assert description.startswith(first[:60])


def test_expected_states_of_the_scenarios():
    states = {name: fn().state for name, fn in SCENARIOS.items()}
    assert states == {
        "broken_policy": "error",
        "changed_policy_invalid": "failure",
        "distinct_teams_passing": "success",
        "distinct_teams_pending": "pending",
        "docs_fast_lane_waiting_for_build": "pending",
        "override_passes": "success",
        "override_with_hold_and_draft": "pending",
        "readme_example": "pending",
        "security_veto": "failure",
        "tampered_comment": "failure",
        "truncated_files": "pending",
    }


def test_broken_policy_status_names_file_and_line():
    description = render.status_description(scenario_broken_policy())
    assert description.startswith(".github/gatebot.yml cannot be used: line 3: ")


def test_long_blockers_are_cut_to_140_and_count_the_rest():
    many = make_snapshot(checks=tuple(
        check(f"very long check name number {i} for the integration suite", "failure")
        for i in range(10)
    ))
    strict = policy("""
version: 1
policy: {approval: [r]}
rules: [{name: r, requires: {approvals: 3}}]
checks: ["very long check name *"]
""")
    decision = decide(evaluate(strict, many), many)
    description = render.status_description(decision)
    assert len(description) <= 140
    assert description.endswith(" more)")
    assert description.startswith("required check failed: ")


def test_shorten_cuts_at_a_word_boundary():
    assert render.shorten("word " * 40, 20) == "word word word word…"
    assert render.shorten("short", 20) == "short"


def test_markdown_escapes_user_text():
    text = render.markdown(scenario_override_passes())
    assert "<b>" not in text
    assert "\\<b\\>now\\</b\\>" in text
    assert "@oncall" not in text and "@\u200boncall" in text


def test_markdown_is_capped_for_check_runs():
    files = tuple(changed(f"services/auth/{'x' * 60}{i}.py") for i in range(2000))
    snapshot = make_snapshot(files=files)
    owners = policy("""
version: 1
policy: {approval: [owners]}
rules:
  - name: owners
    requires: {approvals: 1, from: {code_owners: true}}
""")
    snapshot = snapshot.model_copy(update={"codeowners": "* @acme/backend\n"})
    text = render.markdown(decide(evaluate(owners, snapshot), snapshot))
    assert len(text) <= render.CHECK_RUN_TEXT_LIMIT


def test_json_round_trips_and_carries_the_tree():
    data = render.to_json(scenario_distinct_teams_pending())
    again = json.loads(json.dumps(data))
    assert again["state"] == "pending"
    assert again["explanation"]["kind"] == "gate"
    rule = again["explanation"]["children"][0]["children"][0]["children"][0]
    assert rule["name"] == "two-reviewers"
    assert [p["login"] for p in rule["facts"]["discounted"]] == ["ada", "bob"]


def test_cli_evaluate_explains_the_readme_example(capsys):
    code = main([
        "evaluate",
        "--policy", str(ROOT / "policies/examples/two-reviewers.yml"),
        "--snapshot", str(ROOT / "docs/examples/snapshot.json"),
    ])
    out = capsys.readouterr().out
    assert code == 2
    assert out == render.text(scenario_readme_example())
    readme = (ROOT / "README.md").read_text()
    assert "```\n" + out + "```" in readme, "the README quotes the whole output"


def test_cli_evaluate_json(capsys):
    code = main([
        "evaluate", "--json",
        "--policy", str(ROOT / "policies/examples/two-reviewers.yml"),
        "--snapshot", str(ROOT / "docs/examples/snapshot.json"),
    ])
    assert code == 2
    assert json.loads(capsys.readouterr().out)["state"] == "pending"


def test_cli_evaluate_passing_exits_0(tmp_path, capsys):
    snapshot = make_snapshot(reviews=(review("bob"), review("carol")),
                             checks=(check("ci / test"),))
    path = tmp_path / "snap.json"
    path.write_text(snapshot.model_dump_json())
    code = main(["evaluate", "--policy", str(ROOT / "policies/examples/two-reviewers.yml"),
                 "--snapshot", str(path)])
    assert code == 0
    assert capsys.readouterr().out.startswith("PASSED: ")


def test_cli_evaluate_rejects_bad_inputs(tmp_path, capsys):
    bad_snapshot = tmp_path / "bad.json"
    bad_snapshot.write_text('{"number": 0}')
    assert main(["evaluate", "--policy", str(ROOT / "policies/default.yml"),
                 "--snapshot", str(bad_snapshot)]) == 1
    assert "not a snapshot" in capsys.readouterr().err

    good_snapshot = tmp_path / "good.json"
    good_snapshot.write_text(make_snapshot().model_dump_json())
    bad_policy = tmp_path / "bad.yml"
    bad_policy.write_text("version: 2\n")
    assert main(["evaluate", "--policy", str(bad_policy), "--snapshot", str(good_snapshot)]) == 1
    assert "unsupported-version" in capsys.readouterr().err


# -- each fact once ---------------------------------------------------------------------


STATUS_WORDS = {"holds", "does not hold", "pending", "approved", "failed", "skipped"}


def _lines(node: dict) -> list[tuple[dict, str]]:
    found = [(node, node["line"])]
    for child in node.get("children", []):
        found += _lines(child)
    return found


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_parent_never_repeats_what_its_children_say(name):
    tree = render.to_json(SCENARIOS[name]())["explanation"]
    for node, line in _lines(tree):
        for child in node.get("children", []):
            sentence = child["line"]
            if sentence not in STATUS_WORDS:  # "pending", "does not hold" may recur
                assert sentence not in line, (node["name"], line)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_check_run_says_each_blocker_once(name):
    decision = SCENARIOS[name]()
    text = render.markdown(decision, "https://gatebot.example/details/x")
    for blocker in decision.blockers:
        # The main clause, without the rule's name the status line puts in front.
        clause = blocker.split("; ", 1)[0].split(": ", 1)[-1]
        assert text.count(render.escape_markdown(clause)) <= 1, clause


def test_parents_summarise_their_children():
    tree = render.to_json(scenario_distinct_teams_pending())["explanation"]
    lines = {node["name"]: line for node, line in _lines(tree)}
    assert lines["approval"] == "1 of 2 rules pending, 1 skipped"
    assert lines["checks"] == "1 of 2 checks pending, 1 passed"
    assert lines["policy"] == (
        "approval and checks pending; disapproval, tampering, merge.block and merge.trigger"
        " approved"
    )
    assert lines["two-reviewers"] == "needs 1 more approval from acme/backend or acme/platform"
