"""The deploy step through the worker against the fake GitHub and a loopback receiver:
one deployment per (repository, merge SHA, deploy name), only of merges that passed the
gate, with every method and every answer a target can give."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from github_helpers import REPO, Rig, rig_fixture  # noqa: F401
from support.policies import NO_APPROVAL, ONE_APPROVAL
from support.receiver import (
    JENKINS_API_TOKEN,
    JENKINS_JOB_TOKEN,
    WEBHOOK_SECRET,
    Receiver,
    hmac_signature,
    running,
    targets_yaml,
)

from bot.core.policy.loader import load_policy
from bot.pipeline.deploy import DeployStep
from bot.pipeline.deploy_targets import TargetCaller, idempotency_key
from bot.pipeline.errors import ForgeUnavailable
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import OperatorConfig, load_targets
from bot.pipeline.pull import PullPipeline
from bot.providers.github.policy_source import POLICY_PATHS
from bot.store import deploys, runs, utcnow
from bot.store.deploys import DeployKey
from bot.worker import Outcome


def policy(deploy: str, merge: str = "merge:\n  auto: true\n  method: squash\n") -> str:
    return f"{ONE_APPROVAL}{merge}deploy:\n{deploy}"


GITHUB_DEPLOYMENT = """\
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment:
        description: "PR #{number} into {base}"
        payload: {sha: "{merge_sha}", head: "{head_sha}", env: "{environment}"}
"""

DISPATCHES = """\
  - name: aws
    branches: [main]
    via:
      workflow_dispatch:
        workflow: deploy.yml
        ref: main
        inputs: {sha: "{merge_sha}", pr: "{number}"}
  - name: notify
    branches: [main]
    via:
      repository_dispatch:
        event_type: deploy
        client_payload: {sha: "{merge_sha}", environment: "{environment}"}
"""

TARGETS = """\
  - name: hook
    branches: [main]
    via: {target: prod-hook}
  - name: jenkins
    branches: [main]
    environment: production
    via: {target: prod-jenkins}
"""


def pipeline(rig: Rig, operator: OperatorConfig | None = None) -> PullPipeline:
    operator = operator or OperatorConfig()
    return PullPipeline(
        rig.forge,
        rig.store,
        operator,
        POLICY_PATHS,
        lambda key, sha: None,
        merging=MergeStep(rig.store, rig.clock, lock_seconds=30),
        deploying=DeployStep(
            rig.store, rig.clock, operator.targets, TargetCaller(rig.forge.retries)
        ),
    )


def run(rig: Rig, pipe: PullPipeline, number: int = 7) -> Outcome:
    return rig.settle(pipe, number)


def summary(rig: Rig, number: int = 7) -> str:
    with rig.store.begin() as conn:
        return runs.for_pull(conn, rig.key(number))[-1].summary


def approved_pr(rig: Rig, text: str, number: int = 7, approve: bool = True):
    if REPO.lower() not in rig.fake.world.repos:
        rig.fake.add_repo(REPO, files={".github/gatebot.yml": text, "src/app.py": "1\n"})
        rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, number, contents={f"src/f{number}.py": "2\n"})
    if approve:
        rig.fake.add_review(REPO, number, "mia", "APPROVED")
    return pr


def written(caplog: pytest.LogCaptureFixture) -> str:
    """What the bot itself logged (the HTTP library's debug lines name every host)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))


def bot_comments(rig: Rig, number: int = 7) -> list[str]:
    return [c.body for c in rig.fake.comments(REPO, number) if c.user == rig.fake.bot_login]


def deploy_audit(rig: Rig) -> list[deploys.AuditEntry]:
    with rig.store.begin() as conn:
        return deploys.audit(conn)


def creations(rig: Rig) -> list:
    return rig.fake.requests_for("repos/create-deployment")


def test_a_merge_by_the_bot_is_deployed_once_on_the_merge_sha(rig):
    pr = approved_pr(rig, policy(GITHUB_DEPLOYMENT))
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    (merge,) = rig.fake.merges
    (deployment,) = rig.fake.deployments
    assert deployment.sha == merge.merge_commit_sha and deployment.environment == "prod"
    assert deployment.auto_merge is False and deployment.required_contexts == []
    assert deployment.description == "PR #7 into main"
    assert deployment.payload == {"sha": merge.merge_commit_sha, "head": pr.head_sha,
                                  "env": "prod"}
    # Followed to its end: the one comment says it started, and is edited when it ends.
    deployed = [c for c in bot_comments(rig) if c.startswith("Deploying")]
    assert len(deployed) == 1
    assert deployed[0].startswith(
        f"Deploying {merge.merge_commit_sha[:12]} to `prod` (`production`, github_deployment):"
        " **started** "
    )
    assert f" — https://github.com/{REPO}/deployments/prod." in deployed[0]
    (entry,) = deploy_audit(rig)
    assert (entry.outcome, entry.key.name, entry.key.merge_sha) == (
        "deployed", "production", merge.merge_commit_sha,
    )
    # Redelivered and re-sent events (the closed event included): still one of each.
    for _ in range(5):
        assert run(rig, pipe) is Outcome.DONE
    assert len(creations(rig)) == 1 and len(rig.fake.deployments) == 1
    assert len(bot_comments(rig)) == 2 and len(deploy_audit(rig)) == 1
    assert "deploy production already deployed" in summary(rig)


def test_a_persons_merge_of_a_head_that_passed_is_deployed(rig):
    approved_pr(rig, policy(GITHUB_DEPLOYMENT, merge=""))
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    assert rig.fake.merges == [] and rig.fake.deployments == []
    merge_sha = rig.fake.merge_pr(REPO, 7, by="mia")
    assert run(rig, pipe) is Outcome.DONE
    (deployment,) = rig.fake.deployments
    assert deployment.sha == merge_sha
    assert summary(rig) == f"PR is merged: nothing posted; deployed {merge_sha[:12]} (production)"


def test_a_merge_that_bypassed_the_gate_is_not_deployed_and_said_once(rig):
    pr = approved_pr(rig, policy(GITHUB_DEPLOYMENT, merge=""), approve=False)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    rig.fake.merge_pr(REPO, 7, by="mia")
    for _ in range(3):
        assert run(rig, pipe) is Outcome.DONE
    assert rig.fake.deployments == [] and creations(rig) == []
    (comment,) = bot_comments(rig)
    assert comment.startswith(f"Not deployed (`production`): the merged head {pr.head_sha[:12]}")
    assert "`/gate deploy production`" in comment
    (entry,) = deploy_audit(rig)
    assert entry.outcome == "not deployed"
    assert "not deployed: the merged head" in summary(rig)


def test_report_mode_never_deploys_and_says_nothing_about_it(rig):
    text = policy(GITHUB_DEPLOYMENT, merge="").replace("version: 1\n", "version: 1\nmode: report\n")
    approved_pr(rig, text)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    rig.fake.merge_pr(REPO, 7, by="mia")
    assert run(rig, pipe) is Outcome.DONE
    assert rig.fake.deployments == [] and bot_comments(rig) == []
    assert summary(rig).endswith("not deployed: the gate only reports on this repository")




def branch_with_policy(rig: Rig, branch: str, text: str) -> None:
    """`branch` cut from main, carrying its own policy file."""
    rig.fake.add_branch(REPO, branch, "main")
    rig.fake.commit(REPO, branch, {".github/gatebot.yml": text}, message="Our own rules")


def test_a_success_on_another_base_does_not_deploy_a_persons_merge(rig):
    """The same head proposed into `dev` (lax: passes) and into `main` (pending): a
    person merges it into main; dev's success is no pass for main."""
    approved_pr(rig, policy(GITHUB_DEPLOYMENT, merge=""), approve=False)
    branch_with_policy(rig, "dev", NO_APPROVAL)
    lax = rig.fake.open_pr(REPO, 8, base="dev", head="feature-7", existing_head=True)
    assert lax.head_sha == rig.fake.pr(REPO, 7).head_sha
    pipe = pipeline(rig)
    assert run(rig, pipe, 8) is Outcome.DONE
    assert run(rig, pipe, 7) is Outcome.DONE
    states = {s.context: s.state for s in rig.fake.statuses(REPO, lax.head_sha)}
    assert states == {"gatebot: dev": "success", "gatebot: main": "pending"}
    rig.fake.merge_pr(REPO, 7, by="mia")
    assert run(rig, pipe, 7) is Outcome.DONE
    assert rig.fake.deployments == [] and creations(rig) == []
    (comment,) = bot_comments(rig, 7)
    assert comment.startswith("Not deployed (`production`)")
    assert [e.outcome for e in deploy_audit(rig)] == ["not deployed"]


def test_a_success_of_another_pr_with_the_same_head_does_not_deploy_this_one(rig):
    approved_pr(rig, policy(GITHUB_DEPLOYMENT, merge=""))  # #7: approved, passes
    rig.fake.open_pr(REPO, 8, head="feature-7", existing_head=True)  # #8: no review
    pipe = pipeline(rig)
    assert run(rig, pipe, 8) is Outcome.DONE
    assert run(rig, pipe, 7) is Outcome.DONE  # the last word on the shared status: success
    rig.fake.merge_pr(REPO, 8, by="mia")
    assert run(rig, pipe, 8) is Outcome.DONE
    assert rig.fake.deployments == []
    (comment,) = bot_comments(rig, 8)
    assert comment.startswith("Not deployed (`production`)")


EVIL = NO_APPROVAL + """\
merge: {auto: true}
commands:
  allow:
    deploy: {permission: read}
deploy:
  - name: hook
    branches: [evil-base]
    via: {target: prod-hook}
  - name: production
    branches: ["*"]
    environment: production
    via: {github_deployment: {}}
  - name: notify
    branches: [evil-base]
    via: {repository_dispatch: {event_type: deploy}}
"""


def test_a_base_branch_cannot_declare_its_own_deploys(rig, receiver, tmp_path):
    """A writer creates `evil-base` whose policy merges anything and deploys to the
    operator's target: the bot may merge into that branch, but deploys come only
    from the default branch's policy, which declares none for it."""
    approved_pr(rig, policy(GITHUB_DEPLOYMENT), approve=False)
    branch_with_policy(rig, "evil-base", EVIL)
    rig.fake.open_pr(REPO, 9, base="evil-base", author="mallory",
                     contents={"src/app.py": "evil\n"})
    pipe = pipeline(rig, operator(tmp_path, receiver))
    assert run(rig, pipe, 9) is Outcome.DONE
    (merge,) = rig.fake.merges
    assert merge.number == 9
    assert receiver.received == [] and rig.fake.deployments == []
    assert rig.fake.dispatches == [] and deploy_audit(rig) == []


def test_an_operator_target_takes_only_the_branches_it_allows(rig, receiver, tmp_path):
    """The default branch's policy deploys merges into any branch to the operator's
    target; the target takes only main unless the operator lists more branches."""
    wide = TARGETS.replace("branches: [main]", 'branches: ["*"]')
    approved_pr(rig, policy(wide), approve=False)
    rig.fake.add_branch(REPO, "release", "main")
    rig.fake.open_pr(REPO, 9, base="release", contents={"src/r.py": "1\n"})
    rig.fake.add_review(REPO, 9, "mia", "APPROVED")
    assert run(rig, pipeline(rig, operator(tmp_path, receiver)), 9) is Outcome.DONE
    (merge,) = rig.fake.merges
    assert receiver.received == []
    failed = sorted(c for c in bot_comments(rig, 9) if c.startswith("Could not deploy"))
    assert failed == [
        f"Could not deploy {merge.merge_commit_sha[:12]} (`{name}`): the operator's target "
        f"`{target}` does not take merges into `release`; ask the operator to add the "
        "branch to its `branches`"
        for name, target in (("hook", "prod-hook"), ("jenkins", "prod-jenkins"))
    ]
    assert [e.outcome for e in deploy_audit(rig)] == ["failed", "failed"]


def test_an_operator_target_listing_a_branch_takes_its_merges(rig, receiver, tmp_path):
    wide = TARGETS.replace("branches: [main]", 'branches: ["*"]')
    approved_pr(rig, policy(wide), approve=False)
    rig.fake.add_branch(REPO, "release", "main")
    rig.fake.open_pr(REPO, 9, base="release", contents={"src/r.py": "1\n"})
    rig.fake.add_review(REPO, 9, "mia", "APPROVED")
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver, branches='[main, "release*"]'))
    targets = load_targets(path)
    config = OperatorConfig(deploy_targets={n: t.repos for n, t in targets.items()},
                            targets=targets)
    assert run(rig, pipeline(rig, config), 9) is Outcome.DONE
    assert len(receiver.hooks()) == 1 and len(receiver.builds()) == 1
    assert receiver.hooks()[0].json()["base"] == "release"


def test_report_mode_beside_a_passing_floor_neither_merges_nor_deploys(rig):
    text = policy(GITHUB_DEPLOYMENT).replace("version: 1\n", "version: 1\nmode: report\n")
    approved_pr(rig, text)
    floor = load_policy(NO_APPROVAL.encode(), "required.yml").policy
    pipe = pipeline(rig, OperatorConfig(floor=floor, floor_file="required.yml"))
    assert run(rig, pipe) is Outcome.DONE
    assert rig.fake.merges == [] and rig.fake.deployments == []
    head = rig.fake.pr(REPO, 7).head_sha
    assert [s for s in rig.fake.statuses(REPO, head) if s.context == "gatebot: main"] == []
    (check_run,) = [r for r in rig.fake.check_runs(REPO, head) if r.name == "gatebot: main"]
    assert check_run.conclusion == "neutral"
    rig.fake.merge_pr(REPO, 7, by="mia")
    assert run(rig, pipe) is Outcome.DONE
    assert rig.fake.deployments == [] and bot_comments(rig) == []


def test_merges_into_other_branches_are_not_deployed(rig):
    text = policy(GITHUB_DEPLOYMENT.replace("branches: [main]", "branches: [release/*]"))
    approved_pr(rig, text)
    assert run(rig, pipeline(rig)) is Outcome.DONE
    assert len(rig.fake.merges) == 1 and rig.fake.deployments == []
    assert deploy_audit(rig) == []


def test_dispatches_are_sent_once_with_placeholders_and_an_idempotency_key(rig):
    approved_pr(rig, policy(DISPATCHES))
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    (merge,) = rig.fake.merges
    sha = merge.merge_commit_sha
    workflow, repository = sorted(rig.fake.dispatches, key=lambda d: d.kind, reverse=True)
    assert (workflow.workflow_id, workflow.ref, workflow.inputs) == (
        "deploy.yml", "main", {"sha": sha, "pr": "7"},
    )
    assert (repository.event_type, repository.client_payload) == (
        "deploy", {"sha": sha, "environment": "notify"},
    )
    (wd,) = rig.fake.requests_for("actions/create-workflow-dispatch")
    assert wd.headers.get("Idempotency-Key") == idempotency_key(REPO, sha, "aws")
    # No GET of the workflow: the dispatch route is called directly.
    assert not [r for r in rig.fake.requests if r.method == "GET" and "/workflows/" in r.path]
    # The workflow run is named by the dispatch's answer (`return_run_details`) and
    # followed; the repository dispatch starts nothing that can be followed.
    assert wd.json["return_run_details"] is True
    (started,) = [c for c in bot_comments(rig) if c.startswith("Deploying")]
    assert f"https://github.com/{REPO}/actions/runs/" in started
    (sent,) = [c for c in bot_comments(rig) if c.startswith("Deployed")]
    assert f"https://github.com/{REPO}/actions" in sent
    for _ in range(5):
        assert run(rig, pipe) is Outcome.DONE
    assert len(rig.fake.dispatches) == 2
    assert [e.outcome for e in deploy_audit(rig)] == ["deployed", "deployed"]
    rig.fake.assert_all_valid()


def test_a_dispatch_whose_answer_was_lost_is_never_sent_again(rig):
    approved_pr(rig, policy(DISPATCHES))
    rig.fake.fail("repos/create-dispatch-event", status=502, after_action=True)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    for _ in range(3):
        assert run(rig, pipe) is Outcome.DONE
    sent = rig.fake.requests_for("repos/create-dispatch-event")
    assert len(sent) == 1 and len(rig.fake.dispatches) == 2
    unknown = [c for c in bot_comments(rig) if c.startswith("The deploy `notify`")]
    assert len(unknown) == 1 and "not sent again automatically" in unknown[0]
    (merge,) = rig.fake.merges
    with rig.store.begin() as conn:
        intent = deploys.intent(conn, DeployKey("github", REPO, merge.merge_commit_sha, "notify"))
    assert intent is not None and intent.state == deploys.OPEN
    assert "answer lost earlier, not sent again" in summary(rig)


def test_a_deployment_answered_502_but_created_is_found_by_listing(rig):
    approved_pr(rig, policy(GITHUB_DEPLOYMENT))
    rig.fake.fail("repos/create-deployment", status=502, after_action=True)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    for _ in range(3):
        assert run(rig, pipe) is Outcome.DONE
    assert len(creations(rig)) == 1 and len(rig.fake.deployments) == 1
    (entry,) = deploy_audit(rig)
    assert entry.outcome == "deployed" and "found by listing" in (entry.detail or "")


def test_a_deployment_whose_call_never_took_effect_is_made_after_listing(rig):
    """A crash after the intent was written: listing finds nothing, so the call is made."""
    approved_pr(rig, policy(GITHUB_DEPLOYMENT, merge=""))
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    merge_sha = rig.fake.merge_pr(REPO, 7, by="mia")
    with rig.store.begin() as conn:
        assert deploys.open_intent(
            conn, DeployKey("github", REPO, merge_sha, "production"), number=7,
            method="github_deployment", environment="prod", now=utcnow(),
        ) is not None
    rig.fake.fail("repos/create-deployment", status=502)  # not created
    with pytest.raises(ForgeUnavailable, match="settled later"):
        run(rig, pipe)
    assert rig.fake.deployments == []
    assert run(rig, pipe) is Outcome.DONE
    listings = rig.fake.requests_for("repos/list-deployments")
    assert len(listings) >= 2 and len(rig.fake.deployments) == 1
    assert rig.fake.deployments[0].sha == merge_sha
    assert [e.outcome for e in deploy_audit(rig)] == ["unknown", "deployed"]


def test_a_deployment_github_refuses_is_said_once_and_not_retried(rig):
    approved_pr(rig, policy(GITHUB_DEPLOYMENT))
    rig.fake.fail(
        "repos/create-deployment", status=422,
        body={"message": "Invalid environment", "documentation_url": "https://docs.github.com"},
    )
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    assert run(rig, pipe) is Outcome.DONE
    assert len(creations(rig)) == 1 and rig.fake.deployments == []
    failed = [c for c in bot_comments(rig) if c.startswith("Could not deploy")]
    assert failed == [
        f"Could not deploy {rig.fake.merges[0].merge_commit_sha[:12]} (`production`): "
        "Invalid environment"
    ]


# -- operator targets ----------------------------------------------------------------


@pytest.fixture
def receiver():
    with running() as found:
        yield found


def operator(tmp_path, receiver: Receiver, repos: str = '["acme/*"]') -> OperatorConfig:
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver, repos))
    targets = load_targets(path)
    return OperatorConfig(
        deploy_targets={n: t.repos for n, t in targets.items()}, targets=targets
    )


def test_webhook_and_jenkins_targets_are_called_once_signed_and_with_the_crumb(
    rig, receiver, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    pr = approved_pr(rig, policy(TARGETS))
    pipe = pipeline(rig, operator(tmp_path, receiver))
    assert run(rig, pipe) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    (hook,) = receiver.hooks()
    assert hook.verified and hook.status == 204
    assert hook.headers["X-Gatebot-Signature-256"] == hmac_signature(WEBHOOK_SECRET, hook.body)
    assert hook.headers["Idempotency-Key"] == hashlib.sha256(
        f"{REPO}\n{sha}\nhook".encode()
    ).hexdigest()
    body = hook.json()
    assert {k: body[k] for k in body if k != "delivery"} == {
        "repository": REPO, "number": 7, "merge_sha": sha, "head_sha": pr.head_sha,
        "base": "main", "environment": "hook", "deploy": "hook",
    }
    (build,) = receiver.builds()
    assert build.verified and build.status == 201 and build.query == {}
    assert {k: v for k, v in build.form().items() if k != "token"} == {
        "MERGE_SHA": sha, "HEAD_SHA": pr.head_sha, "NUMBER": "7", "BASE": "main",
        "ENVIRONMENT": "production", "REPOSITORY": REPO, "DEPLOY": "jenkins",
    }
    for _ in range(5):
        assert run(rig, pipe) is Outcome.DONE
    assert len(receiver.hooks()) == 1 and len(receiver.builds()) == 1
    assert [e.outcome for e in deploy_audit(rig)] == ["deployed", "deployed"]
    for secret in (WEBHOOK_SECRET, JENKINS_JOB_TOKEN, JENKINS_API_TOKEN):
        assert secret not in caplog.text
    said = written(caplog) + json.dumps(bot_comments(rig)) + summary(rig)
    assert receiver.url not in said


def test_a_target_that_answers_500_is_left_for_a_person_without_leaking_it(
    rig, receiver, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    receiver.answer("/hook", 500)
    receiver.answer("/jenkins/job/deploy/buildWithParameters", 503)
    approved_pr(rig, policy(TARGETS))
    pipe = pipeline(rig, operator(tmp_path, receiver))
    for _ in range(3):
        assert run(rig, pipe) is Outcome.DONE
    assert len(receiver.hooks()) == 1 and len(receiver.builds()) == 1
    unknown = [c for c in bot_comments(rig) if "got no usable answer" in c]
    assert len(unknown) == 2 and "target prod-hook answered 500" in unknown[0]
    assert [e.outcome for e in deploy_audit(rig)] == ["unknown", "unknown"]
    with rig.store.begin() as conn:
        rows = [deploys.intent(conn, e.key) for e in deploys.audit(conn)]
    stored = repr(rows) + repr(deploy_audit(rig))
    for secret in (WEBHOOK_SECRET, JENKINS_JOB_TOKEN, JENKINS_API_TOKEN):
        assert secret not in caplog.text
    said = written(caplog) + json.dumps(bot_comments(rig)) + stored
    assert receiver.url not in said


def test_an_unreachable_target_is_not_marked_sent_and_the_error_names_no_url(
    rig, receiver, tmp_path, caplog
):
    config = operator(tmp_path, receiver)
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()
    caplog.set_level(logging.DEBUG)
    approved_pr(rig, policy(TARGETS))
    pipe = pipeline(rig, config)
    with pytest.raises(ForgeUnavailable, match="could not be reached"):
        run(rig, pipe)
    with rig.store.begin() as conn:
        merged = rig.fake.merges[0].merge_commit_sha
        assert deploys.intent(conn, DeployKey("github", REPO, merged, "hook")) is None
    assert url not in written(caplog) and WEBHOOK_SECRET not in caplog.text
    assert JENKINS_JOB_TOKEN not in caplog.text


def test_a_repo_naming_a_target_it_may_not_use_gets_a_policy_error(rig, receiver, tmp_path):
    approved_pr(rig, policy(TARGETS))
    pipe = pipeline(rig, operator(tmp_path, receiver, repos='["other/*"]'))
    assert run(rig, pipe) is Outcome.DONE
    head = rig.fake.pr(REPO, 7).head_sha
    (status,) = [s for s in rig.fake.statuses(REPO, head) if s.context == "gatebot: main"]
    assert status.state == "error"
    assert rig.fake.merges == [] and receiver.received == []


def test_the_audit_command_interleaves_merges_and_deploys(rig, monkeypatch, capsys):
    from bot.cli import main

    approved_pr(rig, policy(GITHUB_DEPLOYMENT))
    assert run(rig, pipeline(rig)) is Outcome.DONE
    sha = rig.fake.merges[0].merge_commit_sha
    monkeypatch.setenv("GATEBOT_DATABASE_URL", rig.settings.database_url)
    assert main(["audit", "--repo", REPO]) == 0
    merged, deployed = capsys.readouterr().out.splitlines()
    assert merged.endswith(f"squash armed by auto: merged -> {sha[:12]}")
    assert deployed.endswith(
        f"acme/api#7 {sha[:12]} deploy production (github_deployment): deployed "
        f"https://github.com/{REPO}/deployments/prod"
    )


# -- the operator's targets file and the signing -------------------------------------


def test_the_signature_matches_githubs_published_test_vector():
    from support.receiver import VECTOR_BODY, VECTOR_SECRET, VECTOR_SIGNATURE

    from bot.pipeline.deploy_targets import signature

    assert signature(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE


def test_targets_are_read_in_full_and_their_repr_hides_urls_and_secrets(tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(
        "ci:\n  type: jenkins\n  url: https://ci.example/job/deploy/\n  secret: s3cr3t-token\n"
        "  user: bot\n  api_token: s3cr3t-api\n  repos: [acme/api]\n"
    )
    (target,) = load_targets(path).values()
    assert (target.type, target.url, target.secret, target.user, target.repos) == (
        "jenkins", "https://ci.example/job/deploy", "s3cr3t-token", "bot", ("acme/api",),
    )
    # Without `branches`, a target takes merges into the default branch alone.
    assert target.branches is None
    assert target.takes("main", "main") and not target.takes("evil-base", "main")
    assert "s3cr3t" not in repr(target) and "ci.example" not in repr(target)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("t:\n  url: https://x.example/s3cr3t\n  secret: s3cr3t\n", "needs `type: webhook`"),
        ("t:\n  type: webhook\n  url: ftp://s3cr3t\n  secret: s3cr3t\n", "needs an http(s) `url`"),
        ("t:\n  type: webhook\n  url: https://x.example\n", "needs `secret`"),
        ("t:\n  type: jenkins\n  url: https://x.example/s3cr3t\n  secret: s3cr3t\n",
         "needs a job `url`"),
        ("t:\n  type: jenkins\n  url: https://x.example/job/a\n  secret: s3cr3t\n  user: u\n",
         "needs both `user` and `api_token`"),
        ("t:\n  type: webhook\n  url: https://x.example\n  secret: s3cr3t\n  branches: main\n",
         "has a `branches` that is not a list of branches"),
        ("t:\n  type: webhook\n  url: https://x.example\n  secret: s3cr3t\n"
         "  branches: ['s3cr3t[']\n", "has an unusable branch glob"),
    ],
)
def test_broken_targets_stop_the_start_with_one_sentence_that_quotes_no_value(
    tmp_path, text, sentence
):
    from bot.settings import ConfigurationError

    path = tmp_path / "targets.yml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        load_targets(path)
    assert sentence in str(caught.value) and "s3cr3t" not in str(caught.value)
