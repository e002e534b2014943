"""A policy change with its consequences in view, end to end: `gatebot serve` as a real
process, the fake GitHub as GitHub, signed webhooks.

- three open PRs (two approved once, one failing its check) and a PR raising the
  approvals from 1 to 2: its check run and details page show exactly the two approved
  PRs flipping to pending, while its own verdict stays the base branch's;
- a second approval on one of them reaches the policy PR's section within a sweep or
  two, with no event about the policy PR;
- the owner-wide policy's public repository shows counts only: nothing of a private
  repository's name, PR, title or author in its check run, status, details page or
  comments.

The service sweeps every half second, which is also the delay of a recomputation.
"""

from __future__ import annotations

import pytest
from support.e2e import GateService, github_fixtures
from support.policies import ONE_APPROVAL
from support.processes import wait_until

pytestmark = pytest.mark.slow

ONE_AND_CI = ONE_APPROVAL + 'checks: ["ci / test"]\n'
TWO_AND_CI = ONE_AND_CI.replace("approvals: 1", "approvals: 2")

gate, fake = github_fixtures("e2e-impact", GATEBOT_SWEEP_SECONDS="0.5")


def section(summary: str) -> list[str]:
    """The "If this change lands" section of a check run's summary, line by line."""
    if "### If this change lands" not in summary:
        return []
    text = summary.split("### If this change lands", 1)[1].split("### This PR's own verdict", 1)[0]
    return [line for line in text.strip().splitlines() if line]


def open_judged(gate: GateService, repo: str, number: int, *, ci: str) -> None:
    pr = gate.fake.open_pr(repo, number, contents={f"src/{number}.py": "1\n"})
    gate.fake.add_review(repo, number, "mia", "APPROVED")
    gate.fake.set_check_run(repo, pr.head_sha, "ci / test", conclusion=ci)
    gate.deliver("pull_request", "opened", repo, number)


def test_raising_approvals_shows_the_two_approved_prs_flipping_to_pending(gate, fake):
    repo = "acme/impact"
    fake.add_repo(repo, files={".github/gatebot.yml": ONE_AND_CI, "src/app.py": "0\n"})
    for login in ("mia", "max"):
        fake.set_role(repo, login, "write")
    open_judged(gate, repo, 1, ci="success")
    open_judged(gate, repo, 2, ci="success")
    open_judged(gate, repo, 3, ci="failure")

    pr = fake.open_pr(repo, 4, title="Two approvals", contents={".github/gatebot.yml": TWO_AND_CI})
    gate.deliver("pull_request", "opened", repo, 4)
    run = gate.gate_run(repo, pr.head_sha)
    shown = section(run.output["summary"])
    print("\n".join(["### If this change lands", "", *shown]))  # the README's example
    assert shown == [
        "2 of the 3 other open PRs into main would change:",
        "- #1 success → pending: reviewed: needs 1 more approval from anyone with write "
        "permission or above",
        "- #2 success → pending: reviewed: needs 1 more approval from anyone with write "
        "permission or above",
    ]
    # Its own verdict is the base branch's policy's; the status line says nothing else.
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert status.description.startswith(
        "reviewed: needs 1 more approval from anyone with write permission or above"
    )
    assert "would change" not in status.description and "#1" not in status.description
    page = gate.session.get(status.target_url, timeout=10)
    assert page.status_code == 200
    assert "If this change lands" in page.text
    assert "<td>#1</td><td>success</td><td>pending</td>" in page.text
    assert "<td>#3</td>" not in page.text

    # Another PR changes: the policy PR's section follows without any event of its own.
    fake.add_review(repo, 1, "max", "APPROVED")
    gate.deliver("pull_request_review", "submitted", repo, 1)
    wait_until(
        lambda: len(section(gate.gate_run(repo, pr.head_sha).output["summary"])) == 2,
        timeout=20,
    )
    assert section(gate.gate_run(repo, pr.head_sha).output["summary"])[1].startswith(
        "- #2 success → pending"
    )


def test_the_owner_wide_policy_shows_counts_only(gate, fake):
    owner_repo, private = "globex/.github", "globex/secret-plans"
    fake.add_repo(owner_repo, files={"gatebot.yml": ONE_APPROVAL}, private=False)
    fake.add_repo(private, files={"src/a.py": "0\n"})
    fake.set_role(private, "mia", "write")
    fake.open_pr(private, 5, author="zed", title="Acquire Initech quietly",
                 contents={"src/a.py": "1\n"})
    fake.add_review(private, 5, "mia", "APPROVED")
    gate.deliver("pull_request", "opened", private, 5)

    raised = ONE_APPROVAL.replace("approvals: 1", "approvals: 2")
    pr = fake.open_pr(owner_repo, 1, contents={"gatebot.yml": raised})
    gate.deliver("pull_request", "opened", owner_repo, 1)
    run = gate.gate_run(owner_repo, pr.head_sha)
    assert section(run.output["summary"]) == [
        "1 open PR in 1 repository would change: 1 → pending"
    ]
    status = gate.gate_status(owner_repo, pr.head_sha)
    page = gate.session.get(status.target_url, timeout=10)
    assert page.status_code == 200 and "1 open PR in 1 repository would change" in page.text
    shown = [run.output["summary"], run.output["title"], status.description, page.text,
             *(c.body for c in fake.comments(owner_repo, 1))]
    for secret in ("secret-plans", "Initech", "zed", "#5 ", "#5<", "5 success"):
        assert not any(secret in text for text in shown), secret
