"""Loading the policy end to end, against hostile files: `gatebot serve` as a real process,
the fake GitHub as GitHub, signed webhooks.

- a PR whose policy edit nests `[` a thousand deep gets one clear failure
  naming the file and line, and is not read again on every sweep;
- a `remote:` pointer to another owner's repository is refused and the error
  quotes nothing of it;
- a tag named like the base branch never supplies the policy;
- a stricter policy pushed to the base branch governs at the next event even
  when its push delivery was lost;
- an evaluation that keeps failing backs off, and its status says what
  failed and when it is tried again.

The service sweeps every half second and backs off 2 s, then 4 s (the cap),
so a loop would show within seconds.
"""

from __future__ import annotations

import time

import pytest
from support.e2e import GateService, github_fixtures
from support.policies import ONE_APPROVAL
from support.processes import wait_until

pytestmark = pytest.mark.slow


NO_REVIEW = ONE_APPROVAL.replace("approvals: 1", "approvals: 0")


gate, fake = github_fixtures(
    "e2e-policy-loading",
    GATEBOT_SWEEP_SECONDS="0.5",
    GATEBOT_FAILURE_BACKOFF_SECONDS="2",
    GATEBOT_FAILURE_BACKOFF_MAX_SECONDS="4",
)


def new_repo(gate: GateService, name: str, policy: str) -> str:
    repo = f"acme/{name}"
    gate.fake.add_repo(repo, files={"src/app.py": "print(1)\n", ".github/gatebot.yml": policy})
    return repo


def reads_of(fake, repo: str) -> int:
    return len(fake.requests_for(path=rf"^/repos/{repo}/"))


def test_a_policy_edit_nesting_a_thousand_brackets_fails_once_naming_file_and_line(gate, fake):
    repo = new_repo(gate, "brackets", ONE_APPROVAL)
    pr = fake.open_pr(repo, 1, contents={".github/gatebot.yml": "[" * 1024})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "failure"
    assert status.description.startswith(
        "this PR changes .github/gatebot.yml, and the new file is invalid: line 1:"
    )
    assert "nesting deeper than 64 levels" in status.description
    summary = gate.gate_run(repo, pr.head_sha).output["summary"]
    assert ".github/gatebot.yml:1:" in summary and "yaml-too-complex" in summary
    # Evaluated once and settled: several sweeps later, not one more request.
    before = reads_of(fake, repo)
    time.sleep(2.5)
    assert reads_of(fake, repo) == before
    assert [r.outcome for r in gate.runs(repo, 1)] == ["ok"]


def test_a_remote_in_another_owners_repository_is_refused_and_quotes_nothing(gate, fake):
    # Public, so the installation could read it: only the owner rule stops it.
    fake.add_repo("globex/secrets", files={".env": "DB_PASSWORD=hunter2\n"}, private=False)
    repo = new_repo(gate, "pointer", "# shared policy\nremote: globex/secrets/.env\n")
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(2)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "error"
    assert status.description.startswith(".github/gatebot.yml cannot be used: line 2: ")
    assert "refused: it is not under acme" in status.description
    run = gate.gate_run(repo, pr.head_sha)
    shown = status.description + run.output["title"] + run.output["summary"]
    assert "hunter2" not in shown and "DB_PASSWORD" not in shown
    assert fake.requests_for(path=r"^/repos/globex/secrets/") == []


def test_a_tag_named_like_the_base_branch_does_not_supply_the_policy(gate, fake):
    repo = new_repo(gate, "tagged", ONE_APPROVAL)
    # Whoever may push tags makes a `main` tag holding a policy that needs nothing.
    fake.add_branch(repo, "lax", "main")
    fake.commit(repo, "lax", {".github/gatebot.yml": NO_REVIEW})
    fake.add_tag(repo, "main", "lax")
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(3)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert status.description.startswith("reviewed: needs 1 more approval")


def test_a_stricter_policy_whose_push_delivery_was_lost_governs_at_the_next_event(gate, fake):
    """Found with the model (tests/model): the push to the base branch is what drops the
    kept policy, and GitHub does not redeliver a lost one; the PR's `base.sha` does not
    move with the branch. The next evaluation still sees the branch moved and reads it."""
    repo = new_repo(gate, "lost-policy-push", NO_REVIEW)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(6)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    assert gate.gate_status(repo, pr.head_sha).state == "success"  # the policy is kept now

    fake.commit(repo, "main", {".github/gatebot.yml": ONE_APPROVAL})  # its push delivery: lost
    fake.add_label(repo, 1, "ready")
    gate.deliver("pull_request", "labeled", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert status.description.startswith("reviewed: needs 1 more approval")


def test_an_evaluation_that_keeps_failing_backs_off_and_says_when(gate, fake):
    repo = new_repo(gate, "flaky", ONE_APPROVAL)
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(4)\n"})
    # Where the base branch is: read by every evaluation, and by this repository's alone.
    fake.fail("repos/get-commit", path=rf"^/repos/{repo}/", status=502, times=10_000)
    assert gate.send("pull_request", "opened", repo, 1).status_code == 202

    def failed_runs():
        return [r for r in gate.runs(repo, 1) if r.outcome == "error"]

    wait_until(lambda: len(failed_runs()) >= 3, timeout=30, message=gate.proc.output()[-3000:])
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "error"
    assert status.description.startswith(
        "could not evaluate: the forge failed (server 502 (GithubException)); next try at "
    )
    assert status.description.endswith(" UTC")
    # Tries spaced 2 s, then 4 s (the cap) — not one per half-second sweep.
    starts = [r.started_at for r in failed_runs()]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 1.9 and all(g >= 3.9 for g in gaps[1:]), gaps

    # The forge recovers and a new event arrives: evaluated at once, as usual.
    fake.clear_faults()
    gate.deliver("pull_request", "synchronize", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "pending"
    assert status.description.startswith("reviewed: needs 1 more approval")


@pytest.mark.parametrize(
    "pointer",
    [
        # The client resolves `..` in the request path: `/repos/acme/<repo>/contents/../../..`
        # climbs to `/repos/`, so the owner check on `acme/<repo>` would be walked around.
        "remote: acme/{name}/../../../globex/lax/contents/.github/gatebot.yml\n",
        "remote: acme/{name}/./../../../globex/lax/contents/.github/gatebot.yml\n",
    ],
    ids=["dot-dot", "dot-and-dot-dot"],
)
def test_a_remote_path_climbing_out_of_its_repository_is_refused(gate, fake, pointer):
    # Another tenant's policy that asks nothing: followed, it would pass the PR.
    name = f"climb-{len(pointer)}"
    fake.add_repo(f"globex/{name}", files={".github/gatebot.yml": NO_REVIEW}, private=False)
    repo = new_repo(gate, name, pointer.replace("globex/lax", f"globex/{name}").format(name=name))
    pr = fake.open_pr(repo, 1, contents={"src/app.py": "print(5)\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    status = gate.gate_status(repo, pr.head_sha)
    assert status.state == "error", status.description
    assert "refused" in status.description
    assert fake.requests_for(path=rf"^/repos/globex/{name}/") == []
