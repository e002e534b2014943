"""Retries: reads recover from 5xx and rate limits; writes are repeated only when safe."""

from __future__ import annotations

import pytest
import requests
from github import GithubException
from github_helpers import ONE_APPROVAL, REPO, Rig, backdate_pr, request_lines, rig_fixture  # noqa: F401

from bot.core.policy.needs import SnapshotNeeds
from bot.providers.counting import RequestTally
from bot.providers.github.client import ClientConfig, installation_client
from bot.retry import RateLimited, RetryPolicies, rate_limit_wait


def _pr(rig: Rig, **kwargs):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_role(REPO, "mia", "write")
    pr = rig.fake.open_pr(REPO, 7, author="alice", **kwargs)
    rig.fake.add_review(REPO, 7, "mia", "APPROVED")
    backdate_pr(rig.fake, REPO, 7)
    return pr


def _snapshot(rig: Rig):
    mark = rig.fake.mark()
    with rig.open(7) as ev:
        snap = ev.snapshot(SnapshotNeeds(checks=True))
    return snap, rig.fake.requests_since(mark)


def test_reads_recover_from_server_errors_with_backoff(rig):
    _pr(rig)
    rig.fake.fail("graphql", status=502, times=2)
    snap, requests_sent = _snapshot(rig)
    assert snap.number == 7
    assert [r.status for r in requests_sent if r.operation_id == "graphql"] == [502, 502, 200]
    assert len(rig.sleeps) == 2
    assert 0.5 <= rig.sleeps[0] <= 0.625 and 1.0 <= rig.sleeps[1] <= 1.25  # doubling, jittered
    rig.fake.assert_all_valid()


def test_a_failed_page_is_asked_again_without_the_pages_before_it(rig):
    # A rename has the file list read through REST, 100 a page.
    renamed = {"filename": "f0.txt", "previous_filename": "old.txt", "status": "renamed"}
    _pr(rig, files=[renamed, *(f"f{i}.txt" for i in range(1, 250))])
    rig.fake.fail("pulls/list-files", status=500, query={"page": "2"})
    snap, requests_sent = _snapshot(rig)
    assert len(snap.files) == 250
    pages = [
        (r.query.get("page", ["1"])[0], r.status)
        for r in requests_sent
        if r.operation_id == "pulls/list-files"
    ]
    assert pages == [("1", 200), ("2", 500), ("2", 200), ("3", 200)]


def test_a_secondary_rate_limit_waits_as_long_as_retry_after_says(rig):
    _pr(rig)
    rig.fake.secondary_rate_limit("graphql", retry_after=7)
    snap, requests_sent = _snapshot(rig)
    assert len(snap.reviews) == 1
    assert rig.sleeps == [7.0]
    assert [r.status for r in requests_sent if r.operation_id == "graphql"] == [403, 200]


def test_a_secondary_rate_limit_without_retry_after_waits_a_minute(rig):
    _pr(rig)
    rig.fake.secondary_rate_limit("graphql", retry_after=None, status=429)
    _snapshot(rig)
    assert rig.sleeps == [60.0]


def test_an_exhausted_primary_limit_waits_for_its_reset(rig):
    _pr(rig)
    rig.fake.primary_rate_limit("graphql", reset_in=30)
    _snapshot(rig)
    assert len(rig.sleeps) == 1 and 28 <= rig.sleeps[0] <= 30


def test_a_wait_longer_than_allowed_is_not_slept_through(rig):
    _pr(rig)
    rig.fake.secondary_rate_limit("graphql", retry_after=3600)
    with pytest.raises(RateLimited) as raised:
        _snapshot(rig)
    assert raised.value.wait == 3600
    assert rig.sleeps == []
    assert len(rig.fake.requests_for("graphql")) == 1


def test_a_status_post_is_retried_after_a_server_error(rig):
    pr = _pr(rig)
    rig.fake.fail("repos/create-commit-status", status=502)
    done = rig.evaluate(7)
    assert [r.status for r in done.requests if r.operation_id == "repos/create-commit-status"] == [
        502,
        201,
    ]
    assert [s.state for s in rig.fake.statuses(REPO, pr.head_sha)] == ["success"]


def test_a_check_run_lost_in_a_server_error_is_looked_for_before_creating_again(rig):
    pr = _pr(rig)
    rig.fake.fail("checks/create", status=500)  # refused before anything was created
    done = rig.evaluate(7)
    assert [line for line in request_lines(done.requests) if "check" in line] == [
        "POST checks/create",
        "GET checks/list-for-ref",
        "POST checks/create",
    ]
    lookup = next(r for r in done.requests if r.operation_id == "checks/list-for-ref")
    assert lookup.query["check_name"] == ["gatebot: main"]
    assert len(rig.fake.check_runs(REPO, pr.head_sha)) == 1


def test_a_check_run_created_despite_the_error_is_updated_not_duplicated(rig):
    pr = _pr(rig)
    rig.fake.fail("checks/create", status=502, after_action=True)
    done = rig.evaluate(7)
    assert [line for line in request_lines(done.requests) if "check" in line] == [
        "POST checks/create",
        "GET checks/list-for-ref",
        "PATCH checks/update",
    ]
    (run,) = rig.fake.check_runs(REPO, pr.head_sha)
    assert done.outcome is not None and done.outcome.check_run_id == run.id
    assert run.conclusion == "success"
    rig.fake.assert_all_valid()


def _fails(status: int, headers: dict[str, str] | None = None, message: str = "Server Error"):
    calls: list[int] = []

    def call() -> None:
        calls.append(1)
        raise GithubException(status, {"message": message}, headers or {})

    return call, calls


def test_unsafe_writes_are_never_repeated_after_a_server_error():
    sleeps: list[float] = []
    policies = RetryPolicies.build(sleep=sleeps.append)
    call, calls = _fails(502)
    with pytest.raises(GithubException):
        policies.unsafe_write.call(call)
    assert len(calls) == 1 and sleeps == []

    call, calls = _fails(403, {"Retry-After": "2"}, "You have exceeded a secondary rate limit.")
    with pytest.raises(GithubException):
        policies.unsafe_write.call(call)
    assert len(calls) == 4  # refused unprocessed: safe to repeat
    assert sleeps == [2.0, 2.0, 2.0]


def test_rate_limit_waits():
    message = (
        "you have exceeded a secondary rate limit. please wait a few minutes before you try again."
    )
    assert rate_limit_wait(403, {"Retry-After": "12"}, message, now=0) == 12
    assert rate_limit_wait(403, {}, message, now=0) == 60
    assert (
        rate_limit_wait(
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"},
            "api rate limit exceeded",
            now=940,
        )
        == 60
    )
    assert rate_limit_wait(403, {}, "resource not accessible by integration", now=0) is None
    assert rate_limit_wait(500, {"Retry-After": "5"}, "", now=0) is None


def test_connection_errors_are_retried_for_reads_and_counted(free_port):
    sleeps: list[float] = []
    policies = RetryPolicies.build(sleep=sleeps.append)
    tally = RequestTally()
    config = ClientConfig(
        api_url=f"http://127.0.0.1:{free_port}",
        seconds_between_requests=0,
        seconds_between_writes=0,
        timeout=2,
    )
    client = installation_client(config, "ghs_" + "x" * 36, tally)
    with pytest.raises(requests.exceptions.ConnectionError):
        policies.read.call(lambda: client.get_repo(REPO).get_pull(7).complete())
    assert tally.total == 4 and len(sleeps) == 3
    assert tally.lines()[0] == "GET /repos/acme/api/pulls/7 -> no answer"

    # Nothing reached the server, so even a creation may be tried again.
    with pytest.raises(requests.exceptions.ConnectionError):
        policies.unsafe_write.call(lambda: client.get_repo(REPO).create_check_run("x", "a" * 40))
    assert tally.total == 8
