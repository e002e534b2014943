"""`aws_codedeploy` targets through the worker: the fake GitHub as the forge, a real boto3
client talking to moto's CodeDeploy server on 127.0.0.1 — the revision each variant
creates, at most one deployment per merge whatever is lost, how a deployment stands,
what CodeDeploy's errors become, and credentials kept out of everything written."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore import exceptions as bce
from github_helpers import REPO, Rig, rig_fixture  # noqa: F401
from support.codedeploy import (
    CREDENTIALS,
    EC2_APP,
    EC2_GROUP,
    ECS_APP,
    ECS_APPSPEC,
    ECS_GROUP,
    REGION,
    LocalCodeDeploy,
    aws_env,
    running,
    targets_yaml,
)
from support.policies import ONE_APPROVAL

from bot.pipeline.codedeploy import clean, console_link, create_answer, sort
from bot.pipeline.deploy import DeployStep
from bot.pipeline.deploy_follow import DeployFollower
from bot.pipeline.deploy_targets import TargetCaller, TargetUnavailable, idempotency_key
from bot.pipeline.errors import ForgeUnavailable
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import OperatorConfig, load_targets
from bot.pipeline.pull import PullPipeline
from bot.providers.github.policy_source import POLICY_PATHS
from bot.settings import ConfigurationError
from bot.store import deploys, runs, utcnow
from bot.store.deploys import DeployKey
from bot.worker import Outcome

AUTO_MERGE = "merge:\n  auto: true\n  method: squash\n"

SERVERS = """\
  - name: servers
    branches: [main]
    environment: production
    via: {target: prod-ec2}
"""
ECS = """\
  - name: ecs
    branches: [main]
    via: {target: prod-ecs}
"""
BUNDLE = """\
  - name: bundle
    branches: [main]
    via: {target: prod-s3}
"""


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalCodeDeploy]:
    with running() as url, pytest.MonkeyPatch.context() as env:
        for name, value in aws_env(url).items():
            env.setenv(name, value)
        yield LocalCodeDeploy(url)


@pytest.fixture
def codedeploy(aws: LocalCodeDeploy) -> LocalCodeDeploy:
    return aws.reset()


def policy(deploy: str, merge: str = AUTO_MERGE) -> str:
    return f"{ONE_APPROVAL}{merge}deploy:\n{deploy}"


def operator(tmp_path, repos: str = '["acme/*"]', branches: str | None = None) -> OperatorConfig:
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(repos, branches))
    targets = load_targets(path)
    return OperatorConfig(deploy_targets={n: t.repos for n, t in targets.items()},
                          targets=targets)


def pipeline(rig: Rig, config: OperatorConfig, caller: TargetCaller | None = None) -> PullPipeline:
    return PullPipeline(
        rig.forge, rig.store, config, POLICY_PATHS, lambda key, sha: None,
        merging=MergeStep(rig.store, rig.clock, lock_seconds=30),
        deploying=DeployStep(rig.store, rig.clock, config.targets,
                             caller or TargetCaller(rig.forge.retries)),
    )


def approved_pr(rig: Rig, text: str, number: int = 7, base: str = "main") -> None:
    if REPO.lower() not in rig.fake.world.repos:
        rig.fake.add_repo(REPO, files={".github/gatebot.yml": text, "src/app.py": "1\n"})
        rig.fake.set_role(REPO, "mia", "write")
    rig.fake.open_pr(REPO, number, base=base, contents={f"src/f{number}.py": "2\n"})
    rig.fake.add_review(REPO, number, "mia", "APPROVED")


def bot_comments(rig: Rig, number: int = 7) -> list[str]:
    return [c.body for c in rig.fake.comments(REPO, number) if c.user == rig.fake.bot_login]


def audit(rig: Rig) -> list[deploys.AuditEntry]:
    with rig.store.begin() as conn:
        return deploys.audit(conn)


def intent(rig: Rig, merge_sha: str, name: str) -> deploys.Intent | None:
    with rig.store.begin() as conn:
        return deploys.intent(conn, DeployKey("github", REPO, merge_sha, name))


def summary(rig: Rig, number: int = 7) -> str:
    with rig.store.begin() as conn:
        return runs.for_pull(conn, rig.key(number))[-1].summary


def assert_no_credentials(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    written = caplog.text + json.dumps(bot_comments(rig)) + repr(audit(rig)) + summary(rig)
    for credential in CREDENTIALS:
        assert credential not in written


# -- what each revision variant creates --------------------------------------------------


def test_a_merge_deploys_a_github_revision_of_the_merge_sha_once(
    rig, codedeploy, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    approved_pr(rig, policy(SERVERS))
    pipe = pipeline(rig, operator(tmp_path))
    assert rig.settle(pipe) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    (deployment,) = codedeploy.deployments()
    assert deployment["revision"] == {
        "revisionType": "GitHub",
        "gitHubLocation": {"repository": REPO, "commitId": sha},
    }
    assert deployment["description"] == f"gatebot {idempotency_key(REPO, sha, 'servers')}"
    assert deployment["deploymentConfigName"] == "CodeDeployDefault.AllAtOnce"
    found = intent(rig, sha, "servers")
    assert found is not None and found.state == deploys.DEPLOYED
    assert found.reference == deployment["deploymentId"]
    link = console_link(REGION, deployment["deploymentId"])
    assert link == (f"https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/"
                    f"deployments/{deployment['deploymentId']}?region=eu-west-1")
    (started,) = [c for c in bot_comments(rig) if c.startswith("Deploy")]
    assert started.startswith(f"Deploying {sha[:12]} to `production` (`servers`, target): "
                              "**started** ")
    assert started.endswith(f" — {link}. This comment is updated when it ends.")
    # The same merge processed again and again (redelivered events): one deployment.
    for _ in range(5):
        assert rig.settle(pipe) is Outcome.DONE
    assert len(codedeploy.deployments()) == 1 and len(audit(rig)) == 1
    assert_no_credentials(rig, caplog)


def test_an_ecs_target_deploys_its_appspec_filled_with_the_merge(rig, codedeploy, tmp_path):
    approved_pr(rig, policy(ECS))
    assert rig.settle(pipeline(rig, operator(tmp_path))) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    assert codedeploy.deployments() == []  # nothing in the EC2 group
    (deployment,) = codedeploy.deployments(ECS_APP, ECS_GROUP)
    content = ECS_APPSPEC.replace("{merge_sha}", sha)
    assert f"task-definition/shop-{sha}:1" in content
    assert deployment["revision"] == {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content,
                           "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
    assert deployment["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert deployment["description"] == f"gatebot {idempotency_key(REPO, sha, 'ecs')}"


def test_an_s3_target_deploys_the_bundle_its_key_names(rig, codedeploy, tmp_path):
    approved_pr(rig, policy(BUNDLE))
    assert rig.settle(pipeline(rig, operator(tmp_path))) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    (deployment,) = codedeploy.deployments(EC2_APP, EC2_GROUP)
    assert deployment["revision"] == {
        "revisionType": "S3",
        "s3Location": {"bucket": "shop-releases", "key": f"{REPO}/{sha}.zip",
                       "bundleType": "zip"},
    }


# -- at most once, whatever answer was lost -----------------------------------------------


def merged_with_open_intent(rig: Rig, tmp_path) -> tuple[PullPipeline, str]:
    """A person's merge whose deploy intent a killed worker left open."""
    approved_pr(rig, policy(SERVERS, merge=""))
    pipe = pipeline(rig, operator(tmp_path))
    assert rig.settle(pipe) is Outcome.DONE
    merge_sha = rig.fake.merge_pr(REPO, 7, by="mia")
    with rig.store.begin() as conn:
        assert deploys.open_intent(
            conn, DeployKey("github", REPO, merge_sha, "servers"), number=7, method="target",
            environment="production", now=utcnow(),
        ) is not None
    return pipe, merge_sha


def test_a_deployment_made_before_the_worker_was_killed_is_found_not_made_again(
    rig, codedeploy, tmp_path
):
    pipe, sha = merged_with_open_intent(rig, tmp_path)
    made = codedeploy.client().create_deployment(
        applicationName=EC2_APP, deploymentGroupName=EC2_GROUP,
        revision={"revisionType": "GitHub",
                  "gitHubLocation": {"repository": REPO, "commitId": sha}},
        description=f"gatebot {idempotency_key(REPO, sha, 'servers')}",
    )["deploymentId"]
    # Another deployment of the group, by someone else, is not taken for it.
    codedeploy.client().create_deployment(
        applicationName=EC2_APP, deploymentGroupName=EC2_GROUP,
        revision={"revisionType": "GitHub",
                  "gitHubLocation": {"repository": REPO, "commitId": "f" * 40}},
        description="manual rollout",
    )
    for _ in range(3):
        assert rig.settle(pipe) is Outcome.DONE
    assert len(codedeploy.deployments()) == 2
    found = intent(rig, sha, "servers")
    assert found is not None and found.state == deploys.DEPLOYED and found.reference == made
    (entry,) = audit(rig)
    assert entry.outcome == "deployed" and "found by listing" in (entry.detail or "")


def test_an_intent_left_open_with_nothing_deployed_is_deployed_once(rig, codedeploy, tmp_path):
    pipe, sha = merged_with_open_intent(rig, tmp_path)
    for _ in range(3):
        assert rig.settle(pipe) is Outcome.DONE
    (deployment,) = codedeploy.deployments()
    assert deployment["revision"]["gitHubLocation"]["commitId"] == sha
    found = intent(rig, sha, "servers")
    assert found is not None and found.reference == deployment["deploymentId"]


def test_an_open_intent_is_never_sent_while_the_group_cannot_be_listed(
    rig, codedeploy, tmp_path, monkeypatch, free_port
):
    pipe, sha = merged_with_open_intent(rig, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", f"http://127.0.0.1:{free_port}")
    with pytest.raises(ForgeUnavailable, match="could not be listed"):
        rig.settle(pipeline(rig, operator(tmp_path)))
    found = intent(rig, sha, "servers")
    assert found is not None and found.state == deploys.OPEN
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", codedeploy.url)
    assert rig.settle(pipeline(rig, operator(tmp_path))) is Outcome.DONE
    assert len(codedeploy.deployments()) == 1


def test_a_deployment_whose_answer_timed_out_is_found_by_listing(rig, codedeploy, tmp_path):
    approved_pr(rig, policy(SERVERS))
    caller = TargetCaller(rig.forge.retries)

    def lost(**_: object) -> None:
        raise bce.ReadTimeoutError(endpoint_url=codedeploy.url)

    caller.codedeploy.client(REGION).meta.events.register(
        "after-call.codedeploy.CreateDeployment", lost
    )
    pipe = pipeline(rig, operator(tmp_path), caller)
    assert rig.settle(pipe) is Outcome.DONE
    assert rig.settle(pipe) is Outcome.DONE
    (deployment,) = codedeploy.deployments()
    sha = rig.fake.merges[0].merge_commit_sha
    found = intent(rig, sha, "servers")
    assert found is not None and found.state == deploys.DEPLOYED
    assert found.reference == deployment["deploymentId"]
    (entry,) = audit(rig)
    assert entry.outcome == "deployed" and "found by listing" in (entry.detail or "")


# -- how a deployment stands --------------------------------------------------------------


def test_progress_follows_the_deployment_to_its_end(rig, codedeploy, tmp_path, monkeypatch):
    from moto.codedeploy import responses

    approved_pr(rig, policy(SERVERS))
    config = operator(tmp_path)
    assert rig.settle(pipeline(rig, config)) is Outcome.DONE
    (deployment,) = codedeploy.deployments()
    reference = deployment["deploymentId"]
    caller, target = TargetCaller(rig.forge.retries), config.targets["prod-ec2"]
    link = console_link(REGION, reference)
    for status in ("Created", "Queued", "InProgress", "Baking", "Ready"):
        codedeploy.set_status(reference, status)
        assert caller.progress(target, reference).stage == "running"
    codedeploy.set_status(reference, "Succeeded")
    assert caller.progress(target, reference).stage == "succeeded"
    assert caller.progress(target, reference).link == link

    # moto leaves errorInformation empty: the server is made to say what AWS says.
    said = {"code": "HEALTH_CONSTRAINTS", "message": (
        "The overall deployment failed because too many individual instances failed; "
        f"see https://logs.example/{CREDENTIALS[2]} key {CREDENTIALS[0]} {CREDENTIALS[1]}"
    )}
    original = responses._deployment_info
    monkeypatch.setattr(responses, "_deployment_info",
                        lambda d: {**original(d), "errorInformation": said})
    codedeploy.set_status(reference, "Failed")
    failed = caller.progress(target, reference)
    assert failed.stage == "failed" and failed.link == link
    assert failed.message.startswith(
        "CodeDeploy deployment failed (HEALTH_CONSTRAINTS: The overall deployment failed "
        "because too many individual instances failed; see [redacted] key [redacted]"
    )
    assert "logs.example" not in failed.message
    for credential in CREDENTIALS:
        assert credential not in failed.message
    codedeploy.set_status(reference, "Stopped")
    assert caller.progress(target, reference).stage == "failed"
    with pytest.raises(TargetUnavailable, match="could not be read") as caught:
        caller.progress(target, "d-NOTTHERE1")
    assert "prod-ec2" in str(caught.value) and codedeploy.url not in str(caught.value)


def test_the_poll_loop_follows_a_codedeploy_deployment_and_edits_its_one_comment(
    rig, codedeploy, tmp_path
):
    approved_pr(rig, policy(SERVERS))
    config = operator(tmp_path)
    assert rig.settle(pipeline(rig, config)) is Outcome.DONE
    (deployment,) = codedeploy.deployments()
    follow = DeployFollower(
        store=rig.store, forges={"github": rig.forge}, targets=config.targets,
        caller=TargetCaller(rig.forge.retries), clock=rig.clock, timeout=timedelta(hours=1),
    )
    codedeploy.set_status(deployment["deploymentId"], "InProgress")
    rig.clock.advance(seconds=16)
    follow.run_once()
    (comment,) = [c for c in bot_comments(rig) if c.startswith("Deploy")]
    assert "**started**" in comment
    codedeploy.set_status(deployment["deploymentId"], "Succeeded")
    rig.clock.advance(seconds=31)
    follow.run_once()
    (comment,) = [c for c in bot_comments(rig) if c.startswith("Deploy")]
    assert comment.startswith("Deployed ") and "**succeeded** in 47 s" in comment
    assert [e.outcome for e in audit(rig)][-1] == "succeeded"


# -- what is refused, and what CodeDeploy's errors become -----------------------------------


def test_a_repository_off_the_allow_list_gets_a_policy_error_and_nothing_deployed(
    rig, codedeploy, tmp_path
):
    approved_pr(rig, policy(SERVERS))
    assert rig.settle(pipeline(rig, operator(tmp_path, repos='["other/*"]'))) is Outcome.DONE
    head = rig.fake.pr(REPO, 7).head_sha
    (status,) = [s for s in rig.fake.statuses(REPO, head) if s.context == "gatebot: main"]
    assert status.state == "error" and rig.fake.merges == []
    assert codedeploy.deployments() == []


def test_a_target_takes_only_the_branches_it_allows(rig, codedeploy, tmp_path):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": policy(
        SERVERS.replace("branches: [main]", "branches: [main, release]")
    ), "src/app.py": "1\n"})
    rig.fake.set_role(REPO, "mia", "write")
    rig.fake.add_branch(REPO, "release", "main")
    approved_pr(rig, "", base="release")
    assert rig.settle(pipeline(rig, operator(tmp_path))) is Outcome.DONE
    assert codedeploy.deployments() == []
    (failed,) = [c for c in bot_comments(rig) if c.startswith("Could not deploy")]
    assert "does not take merges into `release`" in failed


def test_a_deployment_codedeploy_refuses_is_said_once_and_not_retried(
    rig, codedeploy, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    codedeploy.empty()  # no application, no group
    approved_pr(rig, policy(SERVERS))
    pipe = pipeline(rig, operator(tmp_path))
    for _ in range(3):
        assert rig.settle(pipe) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    assert [c for c in bot_comments(rig) if c.startswith("Could not deploy")] == [
        f"Could not deploy {sha[:12]} (`servers`): target prod-ec2: CodeDeploy refused it "
        "(ApplicationDoesNotExistException)"
    ]
    found = intent(rig, sha, "servers")
    assert found is not None and found.state == deploys.FAILED
    assert_no_credentials(rig, caplog)


def test_an_unreachable_codedeploy_is_not_marked_sent_and_names_no_address(
    rig, codedeploy, tmp_path, monkeypatch, free_port, caplog
):
    caplog.set_level(logging.DEBUG)
    closed = f"http://127.0.0.1:{free_port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", closed)
    approved_pr(rig, policy(SERVERS))
    with pytest.raises(ForgeUnavailable, match="could not be reached"):
        rig.settle(pipeline(rig, operator(tmp_path)))
    sha = rig.fake.merges[0].merge_commit_sha
    assert intent(rig, sha, "servers") is None
    assert closed not in summary(rig)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert ours and not [m for m in ours if closed in m]


def client_error(code: str, status: int) -> bce.ClientError:
    return bce.ClientError(
        {"Error": {"Code": code, "Message": f"secret-ish detail {CREDENTIALS[0]}"},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "CreateDeployment",
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("ThrottlingException", 400), "unsent"),
        (client_error("TooManyRequestsException", 429), "unsent"),
        (bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "unsent"),
        (bce.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), "unsent"),
        (bce.NoCredentialsError(), "unsent"),
        (bce.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "unknown"),
        (bce.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), "unknown"),
        (client_error("InternalFailure", 500), "unknown"),
        (client_error("ServiceUnavailable", 503), "unknown"),
        (client_error("AccessDeniedException", 400), "refused"),
        (client_error("InvalidRevisionException", 400), "refused"),
        (bce.ParamValidationError(report="bad"), "refused"),
    ],
)
def test_botocore_errors_become_answers_without_their_text(tmp_path, error, kind):
    target = load_targets_text(tmp_path, targets_yaml())["prod-ec2"]
    failure = sort(error)
    assert failure is not None
    answer = create_answer(target, failure)
    assert answer.kind == kind and answer.message.startswith(("target prod-ec2", "no answer"))
    assert CREDENTIALS[0] not in answer.message and "127.0.0.1" not in answer.message


def test_clean_keeps_words_and_drops_addresses_and_keys():
    assert clean("Too many failed: see http://x.example/a?b=c (AKIAABCDEFGHIJKLMNOP).") == (
        "Too many failed: see [redacted] [redacted]"
    )
    assert len(clean("word " * 200)) == 300


# -- the targets file ----------------------------------------------------------------------


def load_targets_text(tmp_path, text: str):
    path = tmp_path / "targets.yml"
    path.write_text(text)
    return load_targets(path)


BASE = "t:\n  type: aws_codedeploy\n  application: a\n  deployment_group: g\n  region: eu-west-1\n"


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (BASE, "needs a `revision` with one of `github`, `s3` or `appspec`"),
        (BASE + "  revision: {appspec: 'image: {s3cr3t}'}\n", "uses an unknown placeholder"),
        (BASE + "  revision: {s3: {bucket: b, key: k, bundle_type: rar}}\n",
         "needs a `bundle_type` among"),
        (BASE + "  revision: {github: {}}\n  aws_secret_access_key: s3cr3t\n",
         "takes its credentials from the standard AWS chain"),
        (BASE.replace("eu-west-1", "s3cr3t") + "  revision: {github: {}}\n",
         "needs an AWS `region`"),
        (BASE.replace("  application: a\n", "") + "  revision: {github: {}}\n",
         "needs `application`"),
    ],
)
def test_broken_codedeploy_targets_stop_the_start_quoting_no_value(tmp_path, text, sentence):
    with pytest.raises(ConfigurationError) as caught:
        load_targets_text(tmp_path, text)
    assert sentence in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_a_codedeploy_target_without_boto3_stops_the_start(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigurationError, match=r"needs boto3: install `gatebot\[aws\]`"):
        load_targets_text(tmp_path, BASE + "  revision: {github: {}}\n")
