"""Auto-merge end to end: `gatebot serve` as a real process, the fake GitHub as GitHub.

Each test works in a repository of its own; the service of the module is
shared, except where a test kills and restarts it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from fakegithub.auth import generated_private_key_pem
from support.e2e import GateService, github_fixtures
from support.processes import wait_until

from bot.keys import PullKey
from bot.store import merges, runs

pytestmark = pytest.mark.slow

AUTO_SQUASH = """\
version: 1
policy:
  approval: [reviewed]
  disapproval:
    if: {labels: {any: [blocked]}}
rules:
  - name: reviewed
    requires:
      approvals: 1
      from: {permission: write}
merge:
  auto: true
  method: squash
  block: {labels: [blocked]}
"""


gate, fake = github_fixtures("e2e-merge")


def new_repo(fake: FakeGitHub, name: str, policy: str = AUTO_SQUASH) -> str:
    repo = f"acme/{name}"
    fake.add_repo(repo, files={".github/gatebot.yml": policy, "src/app.py": "1\n"})
    fake.set_role(repo, "mia", "write")
    return repo


def approved(fake: FakeGitHub, repo: str, number: int, **options) -> str:
    pr = fake.open_pr(repo, number, contents={f"src/f{number}.py": "2\n"}, **options)
    fake.add_review(repo, number, "mia", "APPROVED")
    return pr.head_sha


def merges_of(fake: FakeGitHub, repo: str) -> list:
    return [m for m in fake.merges if m.repo == repo]


def merge_calls(fake: FakeGitHub, repo: str) -> list:
    return [r for r in fake.requests_for("pulls/merge") if f"/repos/{repo}/" in r.path]


def settle_merged(gate: GateService, repo: str, number: int, timeout: float = 20.0) -> None:
    wait_until(
        lambda: gate.fake.pr(repo, number).merged and gate.settled(PullKey("github", repo, number)),
        timeout=timeout,
        message=f"{repo}#{number} was not merged:\n{gate.proc.output()[-4000:]}",
    )


def test_a_passing_pr_is_merged_once_however_often_its_events_arrive(gate, fake):
    repo = new_repo(fake, "merge-once")
    head = approved(fake, repo, 1)
    event, payload = fake.webhook("pull_request_review", "submitted", repo, 1)
    body, headers = fake.webhook_request(event, payload)
    first = gate.session.post(f"{gate.base}/webhooks/github", data=body, headers=headers)
    assert first.status_code == 202
    settle_merged(gate, repo, 1)
    for _ in range(5):  # the same delivery again
        again = gate.session.post(f"{gate.base}/webhooks/github", data=body, headers=headers)
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    for _ in range(5):  # the same event under new delivery ids
        assert gate.post(event, payload).status_code == 202
        gate.settle(repo, 1)
    (merge,) = merges_of(fake, repo)
    assert (merge.requested_sha, merge.method) == (head, "squash")
    assert len(merge_calls(fake, repo)) == 1
    comments = [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]
    assert comments == [f"Merged {head[:12]} with the `squash` method as {merge.merge_commit_sha}."]


def test_a_blocked_label_keeps_a_passing_pr_unmerged(gate, fake):
    repo = new_repo(fake, "blocked")
    approved(fake, repo, 1, labels=["blocked"])
    gate.deliver("pull_request", "labeled", repo, 1)
    time.sleep(0.5)
    gate.settle(repo, 1)
    assert merge_calls(fake, repo) == [] and not fake.pr(repo, 1).merged


def test_a_head_moved_during_the_merge_is_not_merged_and_the_new_head_is_evaluated(gate, fake):
    repo = new_repo(fake, "head-moved")
    approved(fake, repo, 1)
    hold = fake.hold("pulls/merge", path=rf"/repos/{repo}/pulls/1/merge$")
    assert gate.send("pull_request", "opened", repo, 1).status_code == 202
    assert hold.wait_arrived(20), gate.proc.output()[-3000:]
    new_head = fake.push(repo, 1, contents={"src/f1.py": "3\n"})
    hold.release()
    # No webhook for the push: the 409 alone sends the bot to the new head.
    wait_until(
        lambda: gate.gate_status(repo, new_head) is not None,
        timeout=20,
        message=gate.proc.output()[-4000:],
    )
    gate.settle(repo, 1)
    assert [r.status for r in merge_calls(fake, repo)] == [409]
    assert merges_of(fake, repo) == [] and gate.gate_status(repo, new_head).state == "pending"


def test_a_merge_answered_500_after_merging_is_never_called_again(gate, fake):
    repo = new_repo(fake, "merged-then-500")
    head = approved(fake, repo, 1)
    fake.fail("pulls/merge", path=rf"/repos/{repo}/pulls/1/merge$", status=500, after_action=True)
    gate.deliver("pull_request", "opened", repo, 1)
    settle_merged(gate, repo, 1)
    assert len(merge_calls(fake, repo)) == 1 and len(merges_of(fake, repo)) == 1
    with gate.store.begin() as conn:
        intent = merges.intent(conn, PullKey("github", repo, 1), head)
    assert intent is not None and intent.state == merges.MERGED


def test_two_prs_on_one_base_are_merged_one_after_the_other(gate, fake):
    repo = new_repo(fake, "two-at-once")
    heads = {n: approved(fake, repo, n) for n in (1, 2)}
    for n in (1, 2):
        assert gate.send("pull_request", "opened", repo, n).status_code == 202
    settle_merged(gate, repo, 1, timeout=30)
    settle_merged(gate, repo, 2, timeout=30)
    done = merges_of(fake, repo)
    assert sorted(m.number for m in done) == [1, 2]
    assert [m.requested_sha for m in done] == [heads[m.number] for m in done]
    first, second = done
    # The second was judged again after the first merge moved its base.
    later = [r for r in gate.runs(repo, second.number) if r.started_at >= first.at]
    assert later, gate.proc.output()[-4000:]
    calls = merge_calls(fake, repo)
    assert [r.status for r in calls] == [200, 200]


def test_a_worker_killed_during_the_merge_merges_exactly_once_after_restart(tmp_path: Path):
    fake = FakeGitHub(private_key_pem=generated_private_key_pem()).start()
    workdir = tmp_path / "service"
    settings = {"GATEBOT_LEASE_SECONDS": "2", "GATEBOT_SWEEP_SECONDS": "1"}
    gate = GateService.start(workdir, fake, **settings)
    restarted: GateService | None = None
    try:
        repo = new_repo(fake, "killed")
        head = approved(fake, repo, 1)
        hold = fake.hold("pulls/merge")
        assert gate.send("pull_request", "opened", repo, 1).status_code == 202
        assert hold.wait_arrived(20), gate.proc.output()[-3000:]
        with gate.store.begin() as conn:
            (intent,) = merges.open_intents(conn)
        assert intent.head_sha == head  # written before the call
        gate.proc.kill()
        hold.release()  # GitHub merges; the answer goes nowhere
        wait_until(lambda: fake.pr(repo, 1).merged, timeout=10)

        gate.session.close()
        gate.store.close()
        restarted = GateService.start(workdir, fake, **settings)
        key = PullKey("github", repo, 1)

        def reconciled() -> bool:
            with restarted.store.begin() as conn:
                return merges.intent(conn, key, head).state == merges.MERGED

        wait_until(reconciled, timeout=30, message=restarted.proc.output()[-4000:])
        assert len(merge_calls(fake, repo)) == 1 and len(merges_of(fake, repo)) == 1
        with restarted.store.begin() as conn:
            assert [e.outcome for e in merges.audit(conn, repo=repo)] == ["merged"]
            assert runs.for_pull(conn, key)
        fake.assert_all_valid()
    finally:
        if restarted is not None:
            restarted.stop()
        else:
            gate.proc.stop()
            fake.stop()
