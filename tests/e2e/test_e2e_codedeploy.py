"""Deploying to AWS CodeDeploy end to end: `gatebot serve` as a real process with an
`aws_codedeploy` targets file, the fake GitHub as GitHub, and moto's CodeDeploy server on
127.0.0.1 reached by the process's own boto3 through the standard chain's environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fakegithub import FakeGitHub
from support.codedeploy import (
    CREDENTIALS,
    ECS_APP,
    ECS_GROUP,
    LocalCodeDeploy,
    aws_env,
    running,
    targets_yaml,
)
from support.e2e import GateService
from support.policies import ONE_APPROVAL
from support.processes import wait_until

from bot.keys import PullKey
from bot.pipeline.deploy_targets import idempotency_key
from bot.store import deploys
from bot.store.deploys import DeployKey

pytestmark = pytest.mark.slow

POLICY = ONE_APPROVAL + """\
merge:
  auto: true
  method: squash
deploy:
  - name: ecs
    branches: [main]
    environment: production
    via: {target: prod-ecs}
"""


@pytest.fixture(scope="module")
def codedeploy() -> Iterator[LocalCodeDeploy]:
    with running() as url:
        yield LocalCodeDeploy(url).reset()


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory,
         codedeploy: LocalCodeDeploy) -> Iterator[GateService]:
    workdir = tmp_path_factory.mktemp("e2e-codedeploy")
    targets = workdir / "targets.yml"
    targets.write_text(targets_yaml())
    service = GateService.start(workdir, GATEBOT_DEPLOY_TARGETS=str(targets),
                                **aws_env(codedeploy.url))
    try:
        yield service
    finally:
        service.stop()


def new_repo(fake: FakeGitHub, name: str) -> str:
    repo = f"acme/{name}"
    fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
    fake.set_role(repo, "mia", "write")
    return repo


def test_a_merge_deploys_to_ecs_through_codedeploy_once(gate, codedeploy):
    fake = gate.fake
    repo = new_repo(fake, "shop")
    fake.open_pr(repo, 1, contents={"src/f1.py": "2\n"})
    fake.add_review(repo, 1, "mia", "APPROVED")
    gate.deliver("pull_request", "opened", repo, 1)
    wait_until(
        lambda: len(codedeploy.deployments(ECS_APP, ECS_GROUP)) == 1
        and gate.settled(PullKey("github", repo, 1)),
        timeout=30, message=gate.proc.output()[-4000:],
    )
    for _ in range(3):  # the closed event and re-sent reviews: nothing more
        gate.deliver("pull_request", "closed", repo, 1)
        gate.deliver("pull_request_review", "submitted", repo, 1)
    (merge,) = [m for m in fake.merges if m.repo == repo]
    sha = merge.merge_commit_sha
    (deployment,) = codedeploy.deployments(ECS_APP, ECS_GROUP)
    assert deployment["revision"]["revisionType"] == "AppSpecContent"
    assert f"task-definition/shop-{sha}:1" in deployment["revision"]["appSpecContent"]["content"]
    assert deployment["description"] == f"gatebot {idempotency_key(repo, sha, 'ecs')}"
    with gate.store.begin() as conn:
        intent = deploys.intent(conn, DeployKey("github", repo, sha, "ecs"))
    assert intent is not None and intent.state == deploys.DEPLOYED
    assert intent.reference == deployment["deploymentId"]
    comments = [c.body for c in fake.comments(repo, 1) if c.user == fake.bot_login]
    (deployed,) = [c for c in comments if c.startswith("Deploying")]
    assert "**started**" in deployed
    assert f"deployments/{deployment['deploymentId']}?region=eu-west-1" in deployed
    output = gate.proc.output()
    for credential in CREDENTIALS:
        assert credential not in output and credential not in "".join(comments)
    fake.assert_all_valid()


def test_a_gatebot_killed_while_codedeploy_answers_deploys_once_after_the_restart(
    tmp_path, codedeploy, monkeypatch
):
    """SIGKILL between CodeDeploy creating the deployment and gatebot reading the answer:
    the intent stays open; the restarted service finds the deployment by its
    description and never creates a second one."""
    from moto.codedeploy.models import CodeDeployBackend

    created, release = threading.Event(), threading.Event()
    original = CodeDeployBackend.create_deployment

    def answer_late(self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        created.set()
        release.wait(30)  # the deployment exists; its answer is held back
        return made

    # moto's server runs in this process: the held answer is CodeDeploy's own.
    monkeypatch.setattr(CodeDeployBackend, "create_deployment", answer_late)
    targets = tmp_path / "targets.yml"
    targets.write_text(targets_yaml())
    settings = dict(GATEBOT_DEPLOY_TARGETS=str(targets), GATEBOT_LEASE_SECONDS="2",
                    **aws_env(codedeploy.url))
    first = GateService.start(tmp_path, **settings)
    fake = first.fake
    repo = new_repo(fake, "killed")
    fake.open_pr(repo, 1, contents={"src/f1.py": "2\n"})
    fake.add_review(repo, 1, "mia", "APPROVED")
    assert first.send("pull_request", "opened", repo, 1).status_code == 202
    assert created.wait(30), first.proc.output()[-4000:]
    first.proc.kill()  # SIGKILL: no answer read, nothing settled
    first.store.close()
    release.set()
    monkeypatch.undo()

    (merge,) = [m for m in fake.merges if m.repo == repo]
    key = DeployKey("github", repo, merge.merge_commit_sha, "ecs")
    mine = f"gatebot {idempotency_key(repo, merge.merge_commit_sha, 'ecs')}"

    def made() -> list[dict]:
        return [d for d in codedeploy.deployments(ECS_APP, ECS_GROUP) if d["description"] == mine]

    assert len(made()) == 1
    with first.store.begin() as conn:
        left = deploys.intent(conn, key)
    assert left is not None and left.state == deploys.OPEN

    second = GateService.start(tmp_path, fake=fake, **settings)
    try:
        # Redelivered events after the restart (the killed run's record stays unfinished,
        # so the intent is waited for rather than the PR's runs).
        for _ in range(3):
            assert second.send("pull_request", "closed", repo, 1).status_code == 202

        def intent() -> deploys.Intent | None:
            with second.store.begin() as conn:
                return deploys.intent(conn, key)

        # The service's consumer runs niced below this process's fakes and moto: on a
        # busy machine the lease's expiry, the sweep and the listing take their time.
        wait_until(lambda: (found := intent()) is not None and found.state != deploys.OPEN,
                   timeout=90, message="the deploy intent stayed open")
        settled = intent()
        (deployment,) = made()
        assert settled is not None and settled.state == deploys.DEPLOYED
        assert settled.reference == deployment["deploymentId"]
        assert settled.detail == "found by listing the deployments after a lost answer"
    finally:
        second.stop()
