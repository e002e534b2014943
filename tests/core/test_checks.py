"""Required checks: latest result per name, conclusion classes, app binding, own contexts."""

from __future__ import annotations

import pytest
from factories import check, make_snapshot, policy
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.policy.checks import RequiredCheck
from bot.core.policy.evaluate import evaluate
from bot.core.policy.result import Result, Status


def checks(specs: str, *results) -> Result:
    text = ("version: 1\npolicy: {approval: [r]}\n"
            "rules: [{name: r, requires: {approvals: 0}}]\n" f"checks: {specs}\n")
    evaluation = evaluate(policy(text), make_snapshot(checks=tuple(results)))
    return next(c for c in evaluation.policy.tree.children if c.kind == "checks")


@pytest.mark.parametrize("state", ["success", "neutral", "skipped"])
def test_passing_conclusions(state):
    assert checks('["ci / test"]', check("ci / test", state)).status is Status.APPROVED


@pytest.mark.parametrize(
    "state", ["failure", "cancelled", "timed_out", "action_required", "error"]
)
def test_failing_conclusions(state):
    result = checks('["ci / test"]', check("ci / test", state))
    assert result.status is Status.FAILED
    assert result.explanation == f"ci / test failed ({state})"


@pytest.mark.parametrize(
    ("state", "words"),
    [("stale", "is stale"), ("queued", "is queued"), ("in_progress", "is in progress"),
     ("pending", "is pending")],
)
def test_unfinished_results_are_pending_never_passed(state, words):
    result = checks('["ci / test"]', check("ci / test", state))
    assert result.status is Status.PENDING
    assert result.explanation == f"ci / test {words}"


def test_not_reported_is_pending():
    result = checks('["ci / test"]')
    assert result.status is Status.PENDING
    assert result.explanation == "ci / test has not reported yet"


def test_latest_result_per_name_wins():
    rerun = (check("ci / test", "failure", minutes=1), check("ci / test", "success", minutes=3))
    assert checks('["ci / test"]', *rerun).status is Status.APPROVED
    regressed = (check("ci / test", "success", minutes=1), check("ci / test", "failure", minutes=3))
    assert checks('["ci / test"]', *regressed).status is Status.FAILED
    rerun_queued = (check("ci / test", "success", minutes=1),
                    check("ci / test", "queued", minutes=3))
    assert checks('["ci / test"]', *rerun_queued).status is Status.PENDING


def test_statuses_count_like_check_runs():
    result = checks('["jenkins"]', check("jenkins", kind="status", app="jenkins-user"))
    assert result.status is Status.APPROVED


def test_glob_needs_every_match_to_pass_and_at_least_one():
    assert checks('["ci / *"]').explanation == "no check matching ci / * has reported yet"
    two = (check("ci / test"), check("ci / lint"))
    assert checks('["ci / *"]', *two).explanation == "2 checks matching ci / * passed"
    one_failed = (check("ci / test"), check("ci / lint", "failure"))
    assert checks('["ci / *"]', *one_failed).status is Status.FAILED


def test_app_binding_ignores_results_from_other_apps():
    spec = "[{name: lint, app: github-actions}]"
    result = checks(spec, check("lint", app="evil-app"))
    assert result.status is Status.PENDING
    assert result.explanation == "lint was reported only by evil-app; it must come from " \
                                 "github-actions"
    # a later result from the wrong app does not override the right one
    mixed = (check("lint", "failure", app="github-actions", minutes=1),
             check("lint", "success", app="evil-app", minutes=5))
    assert checks(spec, *mixed).status is Status.FAILED


def test_app_binding_accepts_the_bot_suffix_both_ways():
    spec = "[{name: lint, app: 'github-actions[bot]'}]"
    assert checks(spec, check("lint", app="github-actions")).status is Status.APPROVED
    spec = "[{name: deploy, app: ci-bot}]"
    result = checks(spec, check("deploy", kind="status", app="CI-Bot[bot]"))
    assert result.status is Status.APPROVED


def test_the_bots_own_contexts_never_count():
    result = checks('["gatebot*"]', check("gatebot: main", app="gatebot"))
    assert result.status is Status.PENDING
    written_by_bot = checks('["lint"]', check("lint", app="gatebot[bot]"))
    assert written_by_bot.status is Status.PENDING


def test_every_required_check_is_a_child_with_its_facts():
    result = checks('["a", "b"]', check("a"), check("b", "queued"))
    assert [c.status for c in result.children] == [Status.APPROVED, Status.PENDING]
    assert result.explanation == "b is queued"
    assert result.children[0].facts.seen[0].counted


# Glob names are matched part by part unless the name holds a newline or non-ASCII
# text; either way the answer must be the regex's.
check_name_text = st.text(alphabet="ab */()-\n\u00e9", max_size=12)


@settings(max_examples=300, deadline=None)
@given(pattern=check_name_text.map(lambda text: text + "*"), name=check_name_text)
def test_glob_check_names_match_as_the_regex_does(pattern, name):
    required = RequiredCheck(pattern)
    assert required._regex is not None
    assert required._matches(name) is (required._regex.fullmatch(name) is not None)
