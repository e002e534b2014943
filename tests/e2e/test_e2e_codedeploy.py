"""Deploying to AWS CodeDeploy end to end: `gatebot serve` as a real process with an
`aws_codedeploy` targets file, the fake GitHub as GitHub, and moto's CodeDeploy server on
127.0.0.1 reached by the process's own boto3 through the standard chain's environment."""

from __future__ import annotations

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
