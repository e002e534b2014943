"""Redelivery end to end: `gatebot serve` misses deliveries, one catch-up round recovers them.

The fake GitHub sends every webhook through its App webhook delivery log.
While deliveries fail (the service unreachable, or answering 5xx) a PR is
opened and approved; then one redelivery round runs against the same store
the service uses, GitHub redelivers, and the service ingests the
redeliveries as any webhook: the PR gets its verdict. A second round asks
for nothing, and a redelivery of an event the service already has changes
nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from github_helpers import settings_for
from support.e2e import GateService, github_fixtures

from bot.catchup.redeliver import Redeliver, redeliver_step

pytestmark = pytest.mark.slow

ONE_APPROVAL = """\
version: 1
policy:
  approval: [review]
rules:
  - name: review
    requires:
      approvals: 1
"""

gate, fake = github_fixtures("e2e-redeliver")


def now() -> datetime:
    return datetime.now(UTC)


def new_repo(gate: GateService, name: str) -> str:
    repo = f"acme/{name}"
    gate.fake.add_repo(
        repo, files={"src/app.py": "print(1)\n", ".github/gatebot.yml": ONE_APPROVAL}
    )
    gate.fake.set_role(repo, "bob", "write")
    return repo


def round_for(gate: GateService, tmp_path: Path) -> Redeliver:
    step = redeliver_step(settings_for(gate.fake, tmp_path), gate.store, now)
    assert step is not None
    return step


@pytest.mark.parametrize("failure", [502, 503], ids=["unreachable", "answering-503"])
def test_what_failed_while_the_bot_was_down_is_redelivered_once(gate, fake, tmp_path, failure):
    repo = new_repo(gate, f"missed-{failure}")
    fake.deliveries_fail(failure)
    try:
        pr = fake.open_pr(repo, 1, author="alice", contents={"src/app.py": "print(2)\n"})
        assert gate.send("pull_request", "opened", repo, 1) is None
        fake.add_review(repo, 1, "bob", "APPROVED")
        assert gate.send("pull_request_review", "submitted", repo, 1) is None
    finally:
        fake.deliveries_fail(None)
    missed = [d for d in fake.hook_deliveries() if d.repository_id == fake.repo(repo).id]
    assert [d.status_code for d in missed] == [failure, failure]
    assert gate.gate_status(repo, pr.head_sha) is None

    step = round_for(gate, tmp_path)
    report = step.run(now())
    assert report.complete and report.error is None
    assert report.acted == 2
    assert set(fake.redeliveries_asked) >= {d.id for d in missed}
    fake.wait_redeliveries()
    gate.settle(repo, 1)

    status = gate.gate_status(repo, pr.head_sha)
    assert status is not None and status.state == "success", status
    guids = {m.guid for m in missed}
    redelivered = [d for d in fake.hook_deliveries() if d.redelivery and d.guid in guids]
    assert sorted(d.status_code for d in redelivered) == [202, 202]

    # A second round finds nothing left to ask for.
    asked = list(fake.redeliveries_asked)
    again = step.run(now())
    assert again.complete and again.acted == 0
    assert fake.redeliveries_asked == asked

    # The same event arriving once more (a redelivery asked by someone else) is a duplicate.
    statuses = len(gate.gate_statuses(repo, pr.head_sha))
    runs = len(fake.check_runs(repo, pr.head_sha))
    comments = len(fake.comments(repo, 1))
    evaluations = len(gate.runs(repo, 1))
    assert fake.hook_log.redeliver(missed[-1].id)
    fake.wait_redeliveries()
    assert fake.hook_deliveries()[-1].status_code == 200  # {"status": "duplicate"}
    gate.settle(repo, 1)
    assert len(gate.gate_statuses(repo, pr.head_sha)) == statuses
    assert len(fake.check_runs(repo, pr.head_sha)) == runs
    assert len(fake.comments(repo, 1)) == comments
    assert len(gate.runs(repo, 1)) == evaluations
