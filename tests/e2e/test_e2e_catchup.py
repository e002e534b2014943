"""Catching up end to end (GitHub): `gatebot serve` as a real process misses every webhook
while PRs are opened, pushed, approved, merged; one catch-up round later each PR has the
right verdict and the approved one is merged and deployed once; later rounds mark nothing
new."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.e2e import GateService, next_second, pull_settled
from support.e2e_gitlab import GROUP, GitLabGate
from support.policies import ONE_APPROVAL
from support.processes import wait_until

from bot.catchup.report import StepReport
from bot.catchup.round import CatchUp
from bot.catchup.steps import steps
from bot.keys import PullKey
from bot.settings import Settings
from bot.store import Store, utcnow

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
merge:
  auto: true
  method: squash
deploy:
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment:
        payload: {sha: "{merge_sha}"}
"""


def whole_round(env: dict[str, str], *, reconcile_first: bool = False) -> dict[str, StepReport]:
    """A catch-up round run here, on the service's store and settings, by step: the
    service's sweeper then hands the PRs it marked to its workers. A round redelivers
    first; `reconcile_first` turns that round, so both steps find the same lost work."""
    settings = Settings.model_validate(env)
    store = Store(settings.database_url)
    try:
        found = steps(settings, store, utcnow)
        reports = CatchUp(found[::-1] if reconcile_first else found).round(utcnow())
    finally:
        store.close()
    return {report.step: report for report in reports}


def one_round(env: dict[str, str], *, redeliver: bool = True) -> StepReport:
    """The reconcile of one round (its redelivery, GitHub's, finds no failed delivery: no
    webhook was sent while the bot was away)."""
    reports = whole_round(env)
    if redeliver:
        assert reports["redeliver"].acted == 0, reports["redeliver"]
    return reports["reconcile"]


def settled(gate, provider: str, repo: str, numbers) -> None:
    wait_until(
        lambda: all(pull_settled(gate.store, PullKey(provider, repo, n)) for n in numbers),
        timeout=30,
        message=gate.proc.output()[-4000:],
    )


def test_github_one_round_after_downtime_settles_every_pr_once(tmp_path: Path):
    gate = GateService.start(tmp_path / "service", GATEBOT_SWEEP_SECONDS="0.3")
    try:
        fake = gate.fake
        repo = "acme/catchup"
        fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
        fake.set_role(repo, "mia", "write")
        fake.open_pr(repo, 1, contents={"src/one.py": "1\n"})
        fake.open_pr(repo, 3, contents={"src/three.py": "1\n"})
        gate.deliver("pull_request", "opened", repo, 1)
        gate.deliver("pull_request", "opened", repo, 3)
        assert gate.gate_status(repo, fake.pr(repo, 1).head_sha).state == "pending"

        # From here on no webhook reaches the bot.
        fake.push(repo, 1)
        fake.add_review(repo, 1, "mia", "APPROVED")
        fake.open_pr(repo, 2, contents={"src/two.py": "1\n"})
        fake.merge_pr(repo, 3, by="mia")

        report = one_round(gate.env)
        assert report.acted == 3 and report.complete, report
        settled(gate, "github", repo, (1, 2, 3))

        head_of_two = fake.pr(repo, 2).head_sha
        assert gate.gate_status(repo, head_of_two).state == "pending"
        wait_until(lambda: len([d for d in fake.deployments if d.repo == repo]) == 1,
                   timeout=20, message=gate.proc.output()[-4000:])
        (merge,) = [m for m in fake.merges if m.repo == repo]
        assert merge.number == 1
        settled(gate, "github", repo, (1, 2, 3))

        # The bot is back: the webhooks of what it did itself reach it again.
        gate.deliver("pull_request", "closed", repo, 1)
        bot_touched = {
            n for n in (1, 2, 3)
            if any(c.user == fake.bot_login for c in fake.comments(repo, n))
        }
        again = one_round(gate.env)
        # GitHub's times have one-second steps: a PR the bot commented on in the last
        # second of its run may be marked once more, never a third time.
        assert {int(line.split("#")[1].split()[0]) for line in again.lines} <= bot_touched
        settled(gate, "github", repo, (1, 2, 3))
        third = one_round(gate.env)
        assert third.acted == 0, third.lines
        assert len([m for m in fake.merges if m.repo == repo]) == 1
        assert len([d for d in fake.deployments if d.repo == repo]) == 1
        assert len(fake.requests_for("repos/create-deployment")) == 1
    finally:
        gate.stop()


def test_github_redelivered_events_and_the_reconcile_of_one_round_act_once(tmp_path: Path):
    """Deliveries fail while PRs change (GitHub logs them as failed); one round both asks
    for them again and marks the PRs: every PR ends with the right verdict, and the merge,
    the deploy and the statuses happen once, whichever arrives first."""
    gate = GateService.start(tmp_path / "service", GATEBOT_SWEEP_SECONDS="0.3")
    try:
        fake = gate.fake
        repo = "acme/both"
        fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
        fake.set_role(repo, "mia", "write")
        fake.open_pr(repo, 1, contents={"src/one.py": "1\n"})
        gate.deliver("pull_request", "opened", repo, 1)
        assert gate.gate_status(repo, fake.pr(repo, 1).head_sha).state == "pending"

        fake.deliveries_fail(502)
        try:
            fake.push(repo, 1)
            assert gate.send("pull_request", "synchronize", repo, 1) is None
            fake.add_review(repo, 1, "mia", "APPROVED")
            assert gate.send("pull_request_review", "submitted", repo, 1) is None
            fake.open_pr(repo, 2, contents={"src/two.py": "1\n"})
            assert gate.send("pull_request", "opened", repo, 2) is None
        finally:
            fake.deliveries_fail(None)
        failed = [d for d in fake.hook_deliveries() if d.status_code == 502]
        assert len(failed) == 3

        # Reconcile first: it marks both PRs, then the three events are redelivered too.
        reports = whole_round(gate.env, reconcile_first=True)
        assert reports["reconcile"].acted == 2, reports["reconcile"]
        assert reports["redeliver"].acted == 3, reports["redeliver"]
        fake.wait_redeliveries()
        settled(gate, "github", repo, (1, 2))

        one, two = fake.pr(repo, 1), fake.pr(repo, 2)
        assert gate.gate_status(repo, two.head_sha).state == "pending"
        wait_until(lambda: len([d for d in fake.deployments if d.repo == repo]) == 1,
                   timeout=20, message=gate.proc.output()[-4000:])
        settled(gate, "github", repo, (1, 2))
        (merge,) = [m for m in fake.merges if m.repo == repo]
        assert (merge.number, merge.requested_sha) == (1, one.head_sha)
        successes = [s for s in gate.gate_statuses(repo, one.head_sha) if s.state == "success"]
        assert len(successes) == 1
        assert len(fake.check_runs(repo, one.head_sha)) == 1
        redelivered = [d for d in fake.hook_deliveries() if d.redelivery]
        assert len(redelivered) == 3 and all(d.status_code in (200, 202) for d in redelivered)

        # A later round asks for nothing again, and nothing is merged or deployed twice.
        again = whole_round(gate.env)
        assert again["redeliver"].acted == 0
        settled(gate, "github", repo, (1, 2))
        assert len([m for m in fake.merges if m.repo == repo]) == 1
        assert len(fake.requests_for("repos/create-deployment")) == 1
    finally:
        gate.stop()


GITLAB_POLICY = ONE_APPROVAL + """\
merge:
  auto: true
  method: squash
deploy:
  - name: production
    branches: [main]
    via:
      gitlab_pipeline:
        variables: {DEPLOY_SHA: "{merge_sha}"}
"""


def test_gitlab_one_round_after_downtime_settles_every_merge_request_once(tmp_path: Path):
    gate = GitLabGate.start(tmp_path / "service", GATEBOT_SWEEP_SECONDS="0.3")
    try:
        fake = gate.fake
        project = f"{GROUP}/catchup"
        fake.add_project(project, default_branch="main",
                         files={".gitlab/gatebot.yml": GITLAB_POLICY, "src/app.py": "1\n"})
        fake.set_access(project, "lead", 40)
        fake.open_mr(project, 1, source="one", target="main", contents={"src/one.py": "1\n"})
        gate.deliver("merge_request", project, 1, action="open")
        head = fake.mr(project, 1).head_sha
        assert gate.gate_status(project, head).status == "pending"

        # From here on no hook reaches the bot.
        next_second()
        fake.approve(project, 1, "lead")
        fake.open_mr(project, 2, source="two", target="main", contents={"src/two.py": "1\n"})

        report = one_round(gate.env, redeliver=False)
        assert report.acted == 2 and report.complete, report
        settled(gate, "gitlab", project, (1, 2))
        wait_until(lambda: len([p for p in fake.pipelines_created if p.project == project]) == 1,
                   timeout=20, message=gate.proc.output()[-4000:])
        (merge,) = [m for m in fake.merges if m.project == project]
        assert merge.requested_sha == head
        assert gate.gate_status(project, fake.mr(project, 2).head_sha).status == "pending"
        settled(gate, "gitlab", project, (1, 2))

        # Later rounds settle on nothing new: the merge and the deploy happened once.
        one_round(gate.env, redeliver=False)
        settled(gate, "gitlab", project, (1, 2))
        assert one_round(gate.env, redeliver=False).acted == 0
        assert len([m for m in fake.merges if m.project == project]) == 1
        assert len([p for p in fake.pipelines_created if p.project == project]) == 1
    finally:
        gate.stop()
