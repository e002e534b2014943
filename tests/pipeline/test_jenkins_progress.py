"""How a Jenkins deploy stands, read from the loopback receiver: the queue item the build
request's `Location` named, then the build it became — queued, running, and each way it
ends — with basic auth, retried reads, and never an address a response chose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.receiver import JENKINS_API_TOKEN, Receiver, running, targets_yaml

from bot.pipeline.deploy_targets import DeployFacts, TargetCaller, TargetUnavailable
from bot.pipeline.operator import DeployTarget, load_targets
from bot.retry import RetryPolicies

QUEUE = "/jenkins/queue/item/1/api/json"
BUILD = "/jenkins/job/deploy/5/api/json"
FACTS = DeployFacts(repository="acme/api", number=7, merge_sha="a" * 40, head_sha="b" * 40,
                    base="main", environment="production", deploy="jenkins")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running() as found:
        yield found


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def caller(sleeps: list[float]) -> TargetCaller:
    return TargetCaller(RetryPolicies.build(sleep=sleeps.append))


def jenkins(receiver: Receiver, tmp_path) -> DeployTarget:
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver))
    return load_targets(path)["prod-jenkins"]


def sent(receiver: Receiver, caller: TargetCaller, target: DeployTarget) -> str:
    answer = caller.send(target, FACTS, "k" * 64, 0.0)
    assert answer.kind == "created" and answer.reference is not None
    return answer.reference


def reads(receiver: Receiver) -> list[str]:
    return [r.path for r in receiver.received if r.method == "GET" and "/api/json" in r.path
            and "crumbIssuer" not in r.path]


def test_a_build_is_followed_from_the_queue_to_its_success(receiver, caller, tmp_path):
    target = jenkins(receiver, tmp_path)
    reference = sent(receiver, caller, target)
    assert reference == f"{receiver.url}/jenkins/queue/item/1/"

    receiver.queue_items[1] = {"cancelled": False, "executable": None, "why": "Waiting"}
    queued = caller.progress(target, reference)
    assert (queued.stage, queued.message) == ("running", "waiting in the Jenkins queue")
    assert reads(receiver) == [QUEUE]

    receiver.queue_items[1] = {"cancelled": False, "executable": {
        "number": 5, "url": "http://elsewhere.example/job/deploy/5/"}}
    receiver.build_states[5] = {"building": True, "result": None}
    assert caller.progress(target, reference).stage == "running"
    receiver.build_states[5] = {"building": False, "result": "SUCCESS"}
    done = caller.progress(target, reference)
    assert (done.stage, done.message, done.link) == (
        "succeeded", "Jenkins build #5 succeeded", None,
    )
    # The build is read under the operator's job URL, never where the answer pointed,
    # and every read carried the account's basic auth.
    assert reads(receiver) == [QUEUE, QUEUE, BUILD, QUEUE, BUILD]
    assert all(r.verified for r in receiver.received if r.path in (QUEUE, BUILD))


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("FAILURE", "Jenkins build #5 ended FAILURE"),
        ("ABORTED", "Jenkins build #5 ended ABORTED"),
        ("UNSTABLE", "Jenkins build #5 ended UNSTABLE"),
        ("<script>", "Jenkins build #5 ended unknown"),
    ],
)
def test_a_build_that_did_not_succeed_is_failed(receiver, caller, tmp_path, result, message):
    target = jenkins(receiver, tmp_path)
    reference = sent(receiver, caller, target)
    receiver.queue_items[1] = {"executable": {"number": 5}}
    receiver.build_states[5] = {"building": False, "result": result}
    progress = caller.progress(target, reference)
    assert (progress.stage, progress.message) == ("failed", message)


def test_a_build_cancelled_in_the_queue_is_failed(receiver, caller, tmp_path):
    target = jenkins(receiver, tmp_path)
    reference = sent(receiver, caller, target)
    receiver.queue_items[1] = {"cancelled": True, "executable": None}
    progress = caller.progress(target, reference)
    assert (progress.stage, progress.message) == (
        "failed", "the Jenkins build was cancelled in the queue",
    )
    assert reads(receiver) == [QUEUE]


def test_reads_are_retried_and_a_gone_queue_item_is_said_without_its_address(
    receiver, caller, sleeps, tmp_path
):
    target = jenkins(receiver, tmp_path)
    reference = sent(receiver, caller, target)
    receiver.queue_items[1] = {"executable": {"number": 5}}
    receiver.build_states[5] = {"building": True}
    receiver.answer(QUEUE, 503)
    assert caller.progress(target, reference).stage == "running"
    assert reads(receiver) == [QUEUE, QUEUE, BUILD] and len(sleeps) == 1

    del receiver.queue_items[1]
    with pytest.raises(TargetUnavailable) as caught:
        caller.progress(target, reference)
    assert str(caught.value) == "target prod-jenkins: its queue item answered 404"


def test_a_reference_off_the_server_is_never_read(receiver, caller, tmp_path):
    target = jenkins(receiver, tmp_path)
    host = receiver.url.split("//", 1)[1]
    for elsewhere in ("http://elsewhere.example/jenkins/queue/item/1/",
                      f"http://user@{host}.evil.example/jenkins/queue/item/1/",
                      f"{receiver.url}/jenkins/queue/item/1/../../../job/x/"):
        with pytest.raises(TargetUnavailable, match="not a queue item of its server") as caught:
            caller.progress(target, elsewhere)
        assert JENKINS_API_TOKEN not in str(caught.value)
    assert receiver.received == []


def test_a_webhook_target_cannot_be_asked(receiver, caller, tmp_path):
    path = tmp_path / "targets.yml"
    path.write_text(targets_yaml(receiver))
    hook = load_targets(path)["prod-hook"]
    with pytest.raises(TargetUnavailable, match="cannot be asked"):
        caller.progress(hook, "anything")
    assert receiver.received == []
