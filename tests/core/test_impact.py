"""The impact of a proposed policy, pure: which PRs change, in which order, and how the
check run, the terminal and the owner-wide form tell it."""

from __future__ import annotations

from factories import changed, check, make_snapshot, policy, review
from support.policies import ONE_APPROVAL

from bot.core import render
from bot.core.gate_state import GateState
from bot.core.impact import Impact, PullChange, from_dict, ordered
from bot.core.impact_render import counts_sentence, markdown_section, text_section
from bot.core.simulate import Policies, StoredPull, impact, outcome

ONE = ONE_APPROVAL + 'checks: ["ci / test"]\n'
TWO = ONE.replace("approvals: 1", "approvals: 2")
SECURITY_PATHS = ONE.replace(
    "policy:\n  approval: [reviewed]\n", "policy:\n  approval: [reviewed, security]\n"
).replace(
    "checks:",
    "  - name: security\n"
    "    if:\n      changed_files: {paths: ['auth/**']}\n"
    "    requires:\n      approvals: 1\n      from: {teams: [acme/platform]}\n"
    "checks:",
)


def pull(number: int, *, approvals: tuple[str, ...] = ("bob",), ci: str = "success",
         path: str = "services/api/client.py", repo: str = "acme/api") -> StoredPull:
    return StoredPull(repo, make_snapshot(
        number=number,
        reviews=tuple(review(login) for login in approvals),
        checks=(check("ci / test", ci),),
        files=(changed(path),),
    ))


def test_raising_approvals_flips_exactly_the_prs_approved_once():
    pulls = [pull(1), pull(2), pull(3, ci="failure"), pull(4, approvals=("bob", "dave"))]
    found = impact("main", Policies(policy(ONE)), Policies(policy(TWO)), pulls)
    assert found.evaluated == 4
    assert [(c.number, c.before, c.after) for c in found.changes] == [
        (1, GateState.SUCCESS, GateState.PENDING),
        (2, GateState.SUCCESS, GateState.PENDING),
    ]
    assert found.changes[0].missing == (
        "reviewed: needs 1 more approval from anyone with write permission or above",
    )


def test_a_path_rule_reaches_only_the_prs_touching_its_paths():
    pulls = [pull(1), pull(2, path="auth/login.py"), pull(3, path="docs/auth.md")]
    found = impact("main", Policies(policy(ONE)), Policies(policy(SECURITY_PATHS)), pulls)
    (only,) = found.changes
    assert only.number == 2 and only.after is GateState.PENDING
    assert only.missing[0].startswith("security: needs 1 more approval")


def test_the_worst_change_comes_first_and_improvements_last():
    def c(number: int, before: GateState, after: GateState) -> PullChange:
        return PullChange("acme/api", number, before, after, ())

    s, p, f = GateState.SUCCESS, GateState.PENDING, GateState.FAILURE
    changes = [c(1, f, s), c(2, s, p), c(3, p, f), c(4, s, f), c(5, p, s), c(6, f, p)]
    # success → failure leads; among improvements, the one reaching success from furthest.
    assert [x.number for x in ordered(changes)] == [4, 3, 2, 1, 5, 6]


def test_what_a_pr_would_newly_miss_is_named_not_what_it_misses_already():
    unchecked = ONE.replace('checks: ["ci / test"]\n', "")
    red = pull(1, approvals=(), ci="failure")
    found = outcome(red, Policies(policy(unchecked)), Policies(policy(ONE)))
    assert (found.before.state, found.after.state) == (GateState.PENDING, GateState.FAILURE)
    assert found.change().missing == ("required check failed: ci / test failed (failure)",)
    # Failing under both: not a change, not listed.
    assert not outcome(red, Policies(policy(ONE)), Policies(policy(TWO))).changed


def test_the_check_run_lists_ten_and_counts_the_rest():
    changes = tuple(
        PullChange("acme/api", n, GateState.SUCCESS, GateState.PENDING, ("reviewed: needs @acme/x",))
        for n in range(1, 13)
    )
    lines = markdown_section(Impact("main", 30, changes), render.escape_markdown)
    assert lines[:3] == ["### If this change lands", "", "12 of the 30 other open PRs into main would change:"]
    listed = [line for line in lines if line.startswith("- ")]
    assert listed[0] == "- #1 success → pending: reviewed: needs @\u200bacme/x"
    assert len(listed) == 11 and listed[-1] == "- and 2 more (every one on the details page)"
    assert len(text_section(Impact("main", 30, changes))) == 13


def test_the_counts_only_form_names_no_repository_pr_or_person():
    changes = tuple(
        PullChange(f"acme/repo{n % 4}", n, GateState.SUCCESS,
                   GateState.PENDING if n < 9 else GateState.SUCCESS if n < 11 else GateState.FAILURE,
                   ("needs @carol",))
        for n in range(12)
    )
    counts = Impact("main", 40, changes).counts()
    sentence = counts_sentence(counts)
    assert sentence == ("12 open PRs in 4 repositories would change: "
                        "9 → pending, 2 → success, 1 → failure")
    for shown in (sentence, str(counts.to_dict()), "\n".join(markdown_section(counts, str))):
        assert "acme" not in shown and "carol" not in shown and "#" not in shown.replace("### ", "")


def test_an_impact_survives_the_store():
    found = impact("main", Policies(policy(ONE)), Policies(policy(TWO)), [pull(1)])
    assert from_dict(found.to_dict()) == found
    assert from_dict(found.counts().to_dict()) == found.counts()
