"""Catching up end to end (GitHub): `gatebot serve` as a real process misses every webhook
while PRs are opened, pushed, approved, merged; one catch-up round later each PR has the
right verdict and the approved one is merged and deployed once; later rounds mark nothing
new."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.e2e import GateService
from support.policies import ONE_APPROVAL
from support.processes import wait_until

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


def one_round(env: dict[str, str]):
    """A catch-up round run here, on the service's store and settings: the service's
    sweeper then hands the PRs it marked to its workers."""
    settings = Settings.model_validate(env)
    store = Store(settings.database_url)
    try:
        (report,) = CatchUp(steps(settings, store, utcnow)).round(utcnow())
    finally:
        store.close()
    return report


def settled(gate, provider: str, repo: str, numbers) -> None:
    wait_until(
        lambda: all(gate.settled(PullKey(provider, repo, n)) for n in numbers),
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
