"""Deploying end to end: `gatebot serve` as a real process, the fake GitHub as GitHub, a
loopback receiver as the operator's webhook and Jenkins targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from fakegithub.auth import generated_private_key_pem
from support.e2e import GateService
from support.policies import NO_APPROVAL, ONE_APPROVAL
from support.processes import wait_until
from support.receiver import (
    JENKINS_API_TOKEN,
    JENKINS_JOB_TOKEN,
    WEBHOOK_SECRET,
    Receiver,
    running,
    targets_yaml,
)

from bot.keys import PullKey
from bot.store import deploys
from bot.store.deploys import DeployKey

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
merge:
  auto: true
  method: squash
deploy:
"""

GITHUB_DEPLOYMENT = """\
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment:
        payload: {sha: "{merge_sha}"}
"""

TARGETS = """\
  - name: hook
    branches: [main]
    via: {target: prod-hook}
  - name: jenkins
    branches: [main]
    via: {target: prod-jenkins}
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running() as found:
        yield found


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[GateService]:
    workdir = tmp_path_factory.mktemp("e2e-deploy")
    targets = workdir / "targets.yml"
    targets.write_text(targets_yaml(receiver))
    service = GateService.start(workdir, GATEBOT_DEPLOY_TARGETS=str(targets),
                                GATEBOT_DEPLOY_FOLLOW_SECONDS="1")
    try:
        yield service
    finally:
        service.stop()


def new_repo(fake: FakeGitHub, name: str, deploy: str) -> str:
    repo = f"acme/{name}"
    fake.add_repo(repo, files={".github/gatebot.yml": POLICY + deploy, "src/app.py": "1\n"})
    fake.set_role(repo, "mia", "write")
    return repo


def approved(fake: FakeGitHub, repo: str, number: int) -> str:
    pr = fake.open_pr(repo, number, contents={f"src/f{number}.py": "2\n"})
    fake.add_review(repo, number, "mia", "APPROVED")
    return pr.head_sha


def deployments_of(fake: FakeGitHub, repo: str) -> list:
    return [d for d in fake.deployments if d.repo == repo]


def deployed(gate: GateService, repo: str, number: int, count: int = 1) -> None:
    wait_until(
        lambda: len(deployments_of(gate.fake, repo)) >= count
        and gate.settled(PullKey("github", repo, number)),
        timeout=20,
        message=gate.proc.output()[-4000:],
    )


def test_a_merge_is_deployed_once_whatever_the_events(gate):
    fake = gate.fake
    repo = new_repo(fake, "deploy-once", GITHUB_DEPLOYMENT)
    approved(fake, repo, 1)
    event, payload = fake.webhook("pull_request_review", "submitted", repo, 1)
    body, headers = fake.webhook_request(event, payload)
    assert gate.session.post(f"{gate.base}/webhooks/github", data=body,
                             headers=headers).status_code == 202
    deployed(gate, repo, 1)
    for _ in range(5):  # the same delivery again
        again = gate.session.post(f"{gate.base}/webhooks/github", data=body, headers=headers)
        assert again.status_code == 200
    for _ in range(5):  # re-sent events, the closed one among them
        assert gate.send("pull_request", "closed", repo, 1).status_code == 202
        assert gate.send("pull_request_review", "submitted", repo, 1).status_code == 202
        gate.settle(repo, 1)
    (merge,) = [m for m in fake.merges if m.repo == repo]
    (deployment,) = deployments_of(fake, repo)
    assert deployment.sha == merge.merge_commit_sha and deployment.payload == {
        "sha": merge.merge_commit_sha
    }
    creations = [r for r in fake.requests_for("repos/create-deployment") if repo in r.path]
    assert len(creations) == 1
    fake.assert_all_valid()


def test_a_deployment_status_event_has_the_one_comment_edited_to_its_end(gate):
    """The follower runs inside `gatebot serve`: the event makes it read the statuses,
    and the comment posted when the deployment started is edited, not repeated."""
    fake = gate.fake
    repo = new_repo(fake, "deploy-followed", GITHUB_DEPLOYMENT)
    approved(fake, repo, 1)
    gate.deliver("pull_request_review", "submitted", repo, 1)
    deployed(gate, repo, 1)

    def deploy_comments() -> list[str]:
        return [c.body for c in fake.comments(repo, 1)
                if c.user == fake.bot_login and c.body.startswith("Deploy")]

    wait_until(lambda: len(deploy_comments()) == 1, timeout=20,
               message=gate.proc.output()[-4000:])
    assert "**started**" in deploy_comments()[0]
    (deployment,) = deployments_of(fake, repo)
    fake.set_deployment_status(repo, deployment.id, "success", log_url="https://ci.example/7")
    assert gate.send("deployment_status", "created", repo).status_code in (200, 202)
    wait_until(lambda: "**succeeded**" in deploy_comments()[0], timeout=20,
               message=gate.proc.output()[-4000:])
    (said,) = deploy_comments()
    assert said.endswith(" — https://ci.example/7.")
    with gate.store.begin() as conn:
        outcomes = [e.outcome for e in deploys.audit(conn, repo=repo)]
    assert outcomes == ["deployed", "succeeded"]


def test_targets_are_called_once_and_their_secrets_stay_out_of_the_log(gate, receiver):
    fake = gate.fake
    repo = new_repo(fake, "deploy-targets", TARGETS)
    approved(fake, repo, 1)
    gate.deliver("pull_request", "opened", repo, 1)
    wait_until(lambda: len(receiver.builds()) == 1 and len(receiver.hooks()) == 1,
               timeout=20, message=gate.proc.output()[-4000:])
    gate.deliver("pull_request", "closed", repo, 1)
    assert len(receiver.hooks()) == 1 and len(receiver.builds()) == 1
    assert receiver.hooks()[0].verified and receiver.builds()[0].verified
    output = gate.proc.output()
    for secret in (WEBHOOK_SECRET, JENKINS_JOB_TOKEN, JENKINS_API_TOKEN):
        assert secret not in output
    comments = [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]
    assert len([c for c in comments if c.startswith(("Deployed", "Deploying"))]) == 2


def test_a_worker_killed_during_the_deployment_deploys_exactly_once_after_restart(
    tmp_path: Path,
):
    fake = FakeGitHub(private_key_pem=generated_private_key_pem()).start()
    workdir = tmp_path / "service"
    settings = {"GATEBOT_LEASE_SECONDS": "2", "GATEBOT_SWEEP_SECONDS": "1"}
    gate = GateService.start(workdir, fake, **settings)
    restarted: GateService | None = None
    try:
        repo = new_repo(fake, "deploy-killed", GITHUB_DEPLOYMENT)
        approved(fake, repo, 1)
        hold = fake.hold("repos/create-deployment")
        assert gate.send("pull_request", "opened", repo, 1).status_code == 202
        assert hold.wait_arrived(20), gate.proc.output()[-3000:]
        (merge,) = fake.merges
        key = DeployKey("github", repo, merge.merge_commit_sha, "production")
        with gate.store.begin() as conn:
            intent = deploys.intent(conn, key)
        assert intent is not None and intent.state == deploys.OPEN  # written before the call
        gate.proc.kill()
        hold.release()  # GitHub creates it; the answer goes nowhere
        wait_until(lambda: len(fake.deployments) == 1, timeout=10)

        gate.session.close()
        gate.store.close()
        restarted = GateService.start(workdir, fake, **settings)

        def settled() -> bool:
            with restarted.store.begin() as conn:
                found = deploys.intent(conn, key)
            return found is not None and found.state == deploys.DEPLOYED

        wait_until(settled, timeout=30, message=restarted.proc.output()[-4000:])
        assert len(fake.deployments) == 1
        assert len(fake.requests_for("repos/create-deployment")) == 1
        with restarted.store.begin() as conn:
            (entry,) = deploys.audit(conn, repo=repo)
        assert entry.outcome == "deployed" and "found by listing" in (entry.detail or "")
        fake.assert_all_valid()
    finally:
        if restarted is not None:
            restarted.stop()
        else:
            gate.proc.stop()
            fake.stop()


# -- what may be deployed, and who declares it ------------------------------------------


EVIL = NO_APPROVAL + """\
merge: {auto: true}
deploy:
  - name: hook
    branches: [evil-base]
    via: {target: prod-hook}
  - name: production
    branches: ["*"]
    via: {github_deployment: {}}
"""


def with_branch(fake: FakeGitHub, repo: str, branch: str, policy: str) -> None:
    fake.add_branch(repo, branch, "main")
    fake.commit(repo, branch, {".github/gatebot.yml": policy}, message="Own rules")


def bot_comments(fake: FakeGitHub, repo: str, number: int) -> list[str]:
    return [c.body for c in fake.comments(repo, number) if c.user == fake.bot_login]


def test_a_head_that_passed_into_another_base_is_not_deployed_when_merged_into_main(gate):
    fake = gate.fake
    repo = new_repo(fake, "deploy-other-base", GITHUB_DEPLOYMENT)
    # The merge into main brings dev's policy file along, and the deploy is judged by
    # main's policy as it is after the merge (as once the merge's push is delivered):
    # dev's keeps main's deploy entry.
    with_branch(fake, repo, "dev", NO_APPROVAL + "deploy:\n" + GITHUB_DEPLOYMENT)
    into_dev = fake.open_pr(repo, 1, base="dev", head="feature", contents={"src/x.py": "2\n"})
    fake.open_pr(repo, 2, head="feature", existing_head=True)
    gate.deliver("pull_request", "opened", repo, 1)
    gate.deliver("pull_request", "opened", repo, 2)
    dev_status = gate.gate_status(repo, into_dev.head_sha, "gatebot: dev")
    main_status = gate.gate_status(repo, into_dev.head_sha)
    assert dev_status is not None and dev_status.state == "success"
    assert main_status is not None and main_status.state == "pending"
    fake.merge_pr(repo, 2, by="mia")
    gate.deliver("pull_request", "closed", repo, 2)
    assert deployments_of(fake, repo) == []
    (said,) = bot_comments(fake, repo, 2)
    assert said.startswith("Not deployed (`production`)") and "/gate deploy production" in said


def test_a_branch_anyone_can_create_cannot_deploy_to_the_operators_target(gate, receiver):
    fake = gate.fake
    repo = new_repo(fake, "deploy-evil-base", GITHUB_DEPLOYMENT)
    with_branch(fake, repo, "evil-base", EVIL)
    fake.open_pr(repo, 1, base="evil-base", author="mallory", contents={"src/app.py": "0\n"})
    gate.deliver("pull_request", "opened", repo, 1)
    # Merging into a branch the writer made is no production risk; deploying it is.
    assert [m.number for m in fake.merges if m.repo == repo] == [1]
    assert [h for h in receiver.hooks() if h.json()["repository"] == repo] == []
    assert deployments_of(fake, repo) == []
    assert not [r for r in fake.requests_for("repos/create-deployment") if repo in r.path]


def test_report_mode_beside_a_passing_floor_neither_merges_nor_deploys(tmp_path: Path):
    floor = tmp_path / "required.yml"
    floor.write_text(NO_APPROVAL)
    gate = GateService.start(tmp_path / "service", GATEBOT_REQUIRED_POLICY=str(floor))
    try:
        fake = gate.fake
        repo = "acme/deploy-shadow"
        shadow = POLICY.replace("version: 1\n", "version: 1\nmode: report\n")
        fake.add_repo(repo, files={".github/gatebot.yml": shadow + GITHUB_DEPLOYMENT,
                                   "src/app.py": "1\n"})
        fake.set_role(repo, "mia", "write")
        head = approved(fake, repo, 1)
        gate.deliver("pull_request", "opened", repo, 1)
        assert fake.merges == []
        assert gate.gate_statuses(repo, head) == []  # reported, never blocking
        check_run = gate.gate_run(repo, head)
        assert check_run is not None and check_run.conclusion == "neutral"
        fake.merge_pr(repo, 1, by="mia")
        gate.deliver("pull_request", "closed", repo, 1)
        assert fake.deployments == [] and bot_comments(fake, repo, 1) == []
    finally:
        gate.stop()
