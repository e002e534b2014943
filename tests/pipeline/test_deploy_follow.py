"""Deploys followed to their end, through the fake GitHub and the loopback receiver:
a GitHub deployment's statuses, a dispatched workflow run, a webhook target's signed
callback and a polled target each end the deployment once — succeeded, failed, or timed
out when nothing reports — and the one PR comment is edited in place, never duplicated."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from github_helpers import REPO, Rig, rig_fixture  # noqa: F401
from support.apps import build_app
from support.policies import ONE_APPROVAL
from support.receiver import (
    JENKINS_JOB_TOKEN,
    WEBHOOK_SECRET,
    hmac_signature,
    running,
    targets_yaml,
)

from bot.pipeline.deploy import DeployStep
from bot.pipeline.deploy_follow import DeployFollower
from bot.pipeline.deploy_follow_loop import DeployFollowLoop
from bot.pipeline.deploy_targets import TargetCaller, idempotency_key
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import DeployTarget, OperatorConfig, load_targets
from bot.pipeline.pull import PullPipeline
from bot.providers.base import DeployProgress
from bot.providers.github.policy_source import POLICY_PATHS
from bot.store import catchup_rounds, deploy_outcomes, deploys
from bot.store.deploys import DeployKey
from bot.worker import Outcome

CALLBACK = "https://gatebot.example/deploy/callback"

GITHUB_DEPLOYMENT = """\
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment: {}
"""

WORKFLOW = """\
  - name: aws
    branches: [main]
    via:
      workflow_dispatch:
        workflow: deploy.yml
        ref: main
        inputs: {sha: "{merge_sha}"}
"""

HOOK = """\
  - name: hook
    branches: [main]
    via: {target: prod-hook}
"""

JENKINS = """\
  - name: jenkins
    branches: [main]
    via: {target: prod-jenkins}
"""


def policy(deploy: str) -> str:
    return f"{ONE_APPROVAL}merge:\n  auto: true\n  method: squash\ndeploy:\n{deploy}"


def pipeline(rig: Rig, operator: OperatorConfig | None = None) -> PullPipeline:
    operator = operator or OperatorConfig()
    return PullPipeline(
        rig.forge, rig.store, operator, POLICY_PATHS, lambda key, sha: None,
        merging=MergeStep(rig.store, rig.clock, lock_seconds=30),
        deploying=DeployStep(rig.store, rig.clock, operator.targets,
                             TargetCaller(rig.forge.retries, callback_url=CALLBACK)),
    )


def follower(rig: Rig, operator: OperatorConfig | None = None, caller=None,
             minutes: float = 60) -> DeployFollower:
    operator = operator or OperatorConfig()
    return DeployFollower(
        store=rig.store, forges={"github": rig.forge}, targets=operator.targets,
        caller=caller or TargetCaller(rig.forge.retries), clock=rig.clock,
        timeout=timedelta(minutes=minutes),
    )


def merged_and_deployed(rig: Rig, text: str, operator: OperatorConfig | None = None) -> str:
    """PR 7 approved, merged and deployed by the bot; its merge SHA."""
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": text, "src/app.py": "1\n"})
    rig.fake.set_role(REPO, "mia", "write")
    rig.fake.open_pr(REPO, 7, contents={"src/f.py": "2\n"})
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    assert rig.settle(pipeline(rig, operator), 7) is Outcome.DONE
    (merge,) = rig.fake.merges
    return merge.merge_commit_sha


def bot_comments(rig: Rig) -> list[str]:
    """The bot's deploy comments on PR 7 (its merge comment left out)."""
    return [c.body for c in rig.fake.comments(REPO, 7)
            if c.user == rig.fake.bot_login and c.body.startswith("Deploy")]


def outcome(rig: Rig, sha: str, name: str) -> deploy_outcomes.Outcome:
    with rig.store.begin() as conn:
        found = deploy_outcomes.get(conn, DeployKey("github", REPO, sha, name))
    assert found is not None
    return found


def audit(rig: Rig) -> list[str]:
    with rig.store.begin() as conn:
        return [e.outcome for e in deploys.audit(conn)]


def edits(rig: Rig) -> int:
    return len(rig.fake.requests_for("issues/update-comment"))


def later(rig: Rig, seconds: float, follow: DeployFollower, times: int = 1) -> None:
    for _ in range(times):
        rig.clock.advance(seconds=seconds)
        follow.run_once()


# -- github_deployment ------------------------------------------------------------------


def test_a_deployment_that_succeeds_edits_its_one_comment(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    (deployment,) = rig.fake.deployments
    (started,) = bot_comments(rig)
    assert started.startswith(f"Deploying {sha[:12]} to `prod` (`production`, github_deployment)")
    assert "**started**" in started
    row = outcome(rig, sha, "production")
    assert (row.stage, row.reference, row.comment_stage) == ("running", str(deployment.id),
                                                              "running")
    follow = follower(rig)
    rig.fake.set_deployment_status(REPO, deployment.id, "in_progress")
    later(rig, 16, follow)
    assert outcome(rig, sha, "production").stage == "running" and edits(rig) == 0
    rig.fake.set_deployment_status(REPO, deployment.id, "success",
                                   log_url="https://ci.example/run/1")
    later(rig, 31, follow)
    (said,) = bot_comments(rig)
    assert said.startswith(f"Deployed {sha[:12]} to `prod` (`production`, github_deployment):"
                           " **succeeded** in 47 s")
    assert said.endswith(" — https://ci.example/run/1.")
    assert audit(rig) == ["deployed", "succeeded"]
    # Asked again, redelivered, re-run: nothing more is written.
    later(rig, 600, follow, times=3)
    assert rig.settle(pipeline(rig), 7) is Outcome.DONE
    assert len(bot_comments(rig)) == 1 and edits(rig) == 1
    assert audit(rig) == ["deployed", "succeeded"]


def test_a_deployment_that_fails_says_why_in_the_same_comment(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    (deployment,) = rig.fake.deployments
    rig.fake.set_deployment_status(REPO, deployment.id, "failure",
                                   description="smoke tests failed")
    later(rig, 20, follower(rig))
    (said,) = bot_comments(rig)
    assert said.startswith(f"Deploy of {sha[:12]} to `prod` (`production`, github_deployment)"
                           " **failed** after 20 s")
    assert ": smoke tests failed" in said
    assert outcome(rig, sha, "production").stage == "failed"
    assert audit(rig) == ["deployed", "failed"]


def test_a_deployment_status_event_is_only_a_hint_the_statuses_are_read(rig):
    """The follower asks the API: a running deployment stays running whatever an event
    claimed, and the backoff doubles between reads."""
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    (deployment,) = rig.fake.deployments
    follow = follower(rig)
    reads = lambda: len(rig.fake.requests_for("repos/list-deployment-statuses"))  # noqa: E731
    later(rig, 16, follow)  # first asked 15 s after it started; then 15 s later
    assert reads() == 1
    later(rig, 10, follow)
    assert reads() == 1
    later(rig, 6, follow)  # 32 s: asked; the next is 30 s later
    assert reads() == 2
    later(rig, 20, follow)
    assert reads() == 2
    key = outcome(rig, sha, "production").key
    with rig.store.begin() as conn:
        deploy_outcomes.make_due(conn, key, rig.clock())
    follow.run_once()
    assert reads() == 3 and outcome(rig, sha, "production").stage == "running"
    assert deployment.statuses == [] and edits(rig) == 0


def test_a_deployment_that_never_reports_times_out(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    follow = follower(rig, minutes=5)
    later(rig, 99, follow, times=3)
    assert outcome(rig, sha, "production").stage == "running"
    later(rig, 4, follow)
    row = outcome(rig, sha, "production")
    assert row.stage == "timed out" and row.duration_seconds() == 301
    (said,) = bot_comments(rig)
    assert " **timed out** after 5 min 1 s" in said
    assert "no outcome was reported within 5 min" in said
    assert audit(rig) == ["deployed", "timed out"]
    # A status arriving after the timeout changes nothing.
    rig.fake.set_deployment_status(REPO, rig.fake.deployments[0].id, "success")
    later(rig, 600, follow)
    assert outcome(rig, sha, "production").stage == "timed out" and edits(rig) == 1


def test_two_followers_at_once_write_one_comment_and_one_outcome(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    rig.fake.set_deployment_status(REPO, rig.fake.deployments[0].id, "success")
    rig.clock.advance(seconds=20)
    first, second = follower(rig), follower(rig)
    first.run_once()
    second.run_once()
    assert len(bot_comments(rig)) == 1 and audit(rig) == ["deployed", "succeeded"]
    assert outcome(rig, sha, "production").comment_stage == "succeeded"


# -- workflow_dispatch ---------------------------------------------------------------------


@pytest.mark.parametrize(("conclusion", "stage"), [("success", "succeeded"),
                                                   ("failure", "failed")])
def test_a_dispatched_run_is_followed_by_the_id_the_dispatch_answered(rig, conclusion, stage):
    sha = merged_and_deployed(rig, policy(WORKFLOW))
    (run,) = rig.fake.workflow_runs
    row = outcome(rig, sha, "aws")
    assert row.reference == str(run.id)
    assert row.link == f"https://github.com/{REPO}/actions/runs/{run.id}"
    follow = follower(rig)
    rig.fake.finish_run(REPO, run.id, None)
    later(rig, 16, follow)
    assert outcome(rig, sha, "aws").stage == "running"
    rig.fake.finish_run(REPO, run.id, conclusion)
    later(rig, 31, follow)
    assert outcome(rig, sha, "aws").stage == stage
    (said,) = bot_comments(rig)
    assert f"**{stage}**" in said and f"/actions/runs/{run.id}" in said
    assert audit(rig) == ["deployed", stage]


# -- webhook targets: the signed callback ------------------------------------------------------


@pytest.fixture
def receiver():
    with running() as found:
        yield found


def callback_setup(rig: Rig, receiver, tmp_path, github_app_env):
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver, callback=True))
    targets = load_targets(path)
    operator = OperatorConfig(deploy_targets={n: t.repos for n, t in targets.items()},
                              targets=targets)
    sha = merged_and_deployed(rig, policy(HOOK), operator)
    svc = build_app({**github_app_env, "GITHUB_API_URL": rig.fake.url,
                     "GATEBOT_DATABASE_URL": rig.settings.database_url,
                     "GATEBOT_DEPLOY_TARGETS": str(path)})
    return sha, operator, svc


def report(svc, key: str, body: dict, secret: str = WEBHOOK_SECRET):
    raw = json.dumps(body).encode()
    return svc.client.post(CALLBACK.removeprefix("https://gatebot.example"), data=raw,
                           headers={"Idempotency-Key": key,
                                    "X-Gatebot-Signature-256": hmac_signature(secret, raw),
                                    "Content-Type": "application/json"})


def test_a_webhook_target_reports_its_end_through_the_signed_callback(
    rig, receiver, tmp_path, github_app_env
):
    sha, operator, svc = callback_setup(rig, receiver, tmp_path, github_app_env)
    (hook,) = receiver.hooks()
    assert hook.json()["callback_url"] == CALLBACK
    key = hook.headers["Idempotency-Key"]
    assert key == idempotency_key(REPO, sha, "hook")
    (started,) = bot_comments(rig)
    assert started.startswith(f"Deploying {sha[:12]} to `hook` (`hook`, target)")
    follow = follower(rig, operator)
    assert report(svc, key, {"status": "running"}).status_code == 200
    later(rig, 30, follow)
    assert outcome(rig, sha, "hook").stage == "running" and edits(rig) == 0
    answer = report(svc, key, {"status": "failed", "url": "https://deploy.example/42",
                               "message": "health check\nfailed @acme/oncall [x](http://y)"})
    assert answer.status_code == 200 and answer.get_json() == {"stage": "failed"}
    # Redelivered, or reported otherwise later: the first end stands.
    assert report(svc, key, {"status": "succeeded"}).get_json() == {"stage": "failed"}
    later(rig, 1, follow)
    (said,) = bot_comments(rig)
    assert "**failed** after " in said
    # The target's words are shown inert: no mention notifies, no link of its own.
    assert ": health check failed @\u200bacme/oncall \\[x\\](http://y)" in said
    assert said.endswith(" — https://deploy.example/42.")
    assert audit(rig) == ["deployed", "failed"]


def test_a_callback_signed_with_another_targets_secret_or_naming_no_deployment_is_refused(
    rig, receiver, tmp_path, github_app_env
):
    sha, _, svc = callback_setup(rig, receiver, tmp_path, github_app_env)
    key = receiver.hooks()[0].headers["Idempotency-Key"]
    for answer in (
        report(svc, key, {"status": "succeeded"}, secret=JENKINS_JOB_TOKEN),
        report(svc, key, {"status": "succeeded"}, secret="guess"),
        report(svc, "0" * 64, {"status": "succeeded"}),
        report(svc, "", {"status": "succeeded"}),
    ):
        assert answer.status_code == 401
        assert answer.get_json() == {"error": "the report is not signed by the deployment's target"}
    assert report(svc, key, {"status": "done"}).status_code == 400
    assert outcome(rig, sha, "hook").stage == "running" and audit(rig) == ["deployed"]


def test_a_webhook_target_without_a_callback_is_not_followed(rig, receiver, tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver))
    targets = load_targets(path)
    operator = OperatorConfig(deploy_targets={n: t.repos for n, t in targets.items()},
                              targets=targets)
    merged_and_deployed(rig, policy(HOOK), operator)
    assert "callback_url" not in receiver.hooks()[0].json()
    (said,) = bot_comments(rig)
    assert said.startswith("Deployed ") and "**" not in said
    with rig.store.begin() as conn:
        assert deploy_outcomes.of_repo(conn) == []


# -- polled targets: the poll loop --------------------------------------------------------------


class ScriptedProgress(TargetCaller):
    """A `TargetCaller` whose `progress` answers from a script (the Jenkins and AWS
    CodeDeploy reads are another module's; this drives the loop around them)."""

    def __init__(self, rig: Rig, answers: list[DeployProgress]) -> None:
        super().__init__(rig.forge.retries)
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def progress(self, target: DeployTarget, reference: str) -> DeployProgress:
        self.asked.append((target.name, reference))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def polled(rig: Rig, sha: str) -> tuple[OperatorConfig, DeployKey]:
    """A Jenkins deployment of PR 7's merge, started with queue item 7."""
    target = DeployTarget("prod-jenkins", "jenkins", "https://ci.example/job/deploy", "t",
                          repos=("acme/*",))
    key = DeployKey("github", REPO, sha, "jenkins")
    with rig.store.begin() as conn:
        deploy_outcomes.start(conn, key, number=7, method="target", environment="production",
                              now=rig.clock(), target=target.name, reference="7",
                              access=rig.installation())
    return OperatorConfig(targets={target.name: target}), key


def test_the_poll_loop_asks_a_polled_target_with_backoff_until_it_ends(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    operator, key = polled(rig, sha)
    caller = ScriptedProgress(rig, [DeployProgress("running", link="https://ci.example/b/3")] * 4
                              + [DeployProgress("succeeded", link="https://ci.example/b/3")])
    loop = DeployFollowLoop(follower(rig, operator, caller), interval=1)
    asked_at: list[float] = []
    for second in range(1, 200):
        rig.clock.advance(seconds=1)
        before = len(caller.asked)
        assert loop.run_once()
        if len(caller.asked) > before:
            asked_at.append(second)
    # 15 s, then 15, 30, 60 and 120 s later; the fifth answer ends it.
    assert asked_at == [15, 30, 60, 120]
    assert caller.asked[0] == ("prod-jenkins", "7")
    with rig.store.begin() as conn:
        row = deploy_outcomes.get(conn, key)
    assert row is not None and row.stage == "running" and row.link == "https://ci.example/b/3"
    rig.clock.advance(seconds=240)
    assert loop.run_once()
    with rig.store.begin() as conn:
        row = deploy_outcomes.get(conn, key)
    assert row is not None and row.stage == "succeeded"
    jenkins = [c for c in bot_comments(rig) if "(`jenkins`, target)" in c]
    assert len(jenkins) == 1 and "**succeeded** in 7 min 19 s" in jenkins[0]


def test_a_jenkins_build_is_followed_from_its_queue_item_to_its_failure(
    rig, receiver, tmp_path
):
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver))
    targets = load_targets(path)
    operator = OperatorConfig(deploy_targets={n: t.repos for n, t in targets.items()},
                              targets=targets)
    sha = merged_and_deployed(rig, policy(JENKINS), operator)
    (started,) = bot_comments(rig)
    assert started.startswith(f"Deploying {sha[:12]} to `jenkins` (`jenkins`, target)")
    loop = DeployFollowLoop(follower(rig, operator), interval=1)
    receiver.queue_items[1] = {"cancelled": False, "executable": None, "why": "Waiting"}
    rig.clock.advance(seconds=16)
    assert loop.run_once()
    assert outcome(rig, sha, "jenkins").stage == "running" and edits(rig) == 0
    receiver.queue_items[1] = {"cancelled": False, "executable": {"number": 5}}
    receiver.build_states[5] = {"building": False, "result": "FAILURE"}
    rig.clock.advance(seconds=16)
    assert loop.run_once()
    (said,) = bot_comments(rig)
    assert "**failed** after 32 s" in said and "Jenkins build \\#5 ended FAILURE" in said
    assert receiver.url not in said  # the Jenkins server's address stays off the PR
    assert audit(rig) == ["deployed", "failed"]


def test_one_instance_at_a_time_runs_the_poll_loop(rig):
    sha = merged_and_deployed(rig, policy(GITHUB_DEPLOYMENT))
    operator, _ = polled(rig, sha)
    first = DeployFollowLoop(follower(rig, operator), interval=5)
    second = DeployFollowLoop(follower(rig, operator), interval=5)
    assert first.run_once() and second.run_once()  # the lease is given back after a pass
    with rig.store.begin() as conn:
        assert catchup_rounds.take(conn, first.owner, rig.clock(), 60, name="deploy_follow")
    assert not second.run_once()
    rig.clock.advance(seconds=61)
    assert second.run_once()
