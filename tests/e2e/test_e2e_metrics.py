"""Metrics and logs of a real `gatebot serve`: after a scripted run against the fake
GitHub (a delivery, a verdict, a merge, a duplicate and a forged delivery),
`/metrics` (parsed with Prometheus's own parser) counts what happened, and
every line the service wrote is a JSON object carrying the delivery's context.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import GateService, github_fixtures
from support.policies import ONE_APPROVAL
from support.processes import wait_until

from bot.keys import PullKey

pytestmark = pytest.mark.slow

TOKEN = "scrape-" + "7" * 24

AUTO_MERGE = ONE_APPROVAL + "merge:\n  auto: true\n  method: squash\n"

gate, fake = github_fixtures(
    "e2e-metrics", GATEBOT_METRICS_TOKEN=TOKEN, GATEBOT_LOG_FORMAT="json"
)


def scrape(gate: GateService, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{gate.base}/metrics", headers=headers, timeout=5)


def samples(gate: GateService) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name → (labels, value) of one scrape."""
    response = scrape(gate)
    assert response.status_code == 200, response.text
    found: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def value(found, name: str, **labels: str) -> float:
    return sum(v for have, v in found.get(name, []) if labels.items() <= have.items())


@pytest.fixture(scope="module")
def scripted(gate: GateService):
    """One PR approved, delivered, judged and merged; its delivery sent again; a forged one."""
    fake = gate.fake
    repo = "acme/metered"
    fake.add_repo(repo, files={".github/gatebot.yml": AUTO_MERGE, "src/app.py": "1\n"})
    fake.set_role(repo, "mia", "write")
    pr = fake.open_pr(repo, 1, contents={"src/f.py": "2\n"})
    fake.add_review(repo, 1, "mia", "APPROVED")
    event, payload = fake.webhook("pull_request_review", "submitted", repo, 1)
    body, headers = fake.webhook_request(event, payload)
    first = gate.session.post(gate.webhook_url, data=body, headers=headers)
    assert first.status_code == 202, first.text
    wait_until(
        lambda: fake.pr(repo, 1).merged and gate.settled(PullKey("github", repo, 1)),
        timeout=30,
        message=gate.proc.output()[-4000:],
    )
    again = gate.session.post(gate.webhook_url, data=body, headers=headers)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    forged, forged_headers = fake.webhook_request(event, payload, secret="not-the-secret")
    refused = gate.session.post(gate.webhook_url, data=forged, headers=forged_headers)
    assert refused.status_code == 401
    return {"repo": repo, "head": pr.head_sha, "delivery": headers["X-GitHub-Delivery"]}


def test_metrics_need_the_bearer_token_when_one_is_set(gate):
    assert scrape(gate, token=None).status_code == 401
    assert scrape(gate, token="scrape-wrong").status_code == 401
    answer = scrape(gate)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_deliveries_are_counted_by_event_and_outcome(gate, scripted):
    found = samples(gate)
    name = "gatebot_deliveries_total"
    assert value(found, name, forge="github", event="pull_request_review",
                 outcome="accepted") == 1
    assert value(found, name, forge="github", event="pull_request_review",
                 outcome="duplicate") == 1
    # A forged delivery names no event: what it claims is not a label value.
    assert value(found, name, forge="github", event="unverified", outcome="bad_signature") == 1
    assert value(found, name) == 3


def test_the_evaluations_the_merge_and_the_forge_requests_are_counted(gate, scripted):
    fake = gate.fake
    runs = gate.runs(scripted["repo"], 1)
    found = samples(gate)
    assert value(found, "gatebot_evaluation_seconds_count", forge="github", outcome="ok") == len(
        runs
    )
    assert value(found, "gatebot_merges_total", forge="github", outcome="merged") == len(
        fake.merges
    ) == 1
    merge_route = "PUT /repos/{owner}/{repo}/pulls/{n}/merge"
    assert value(found, "gatebot_forge_requests_total", route=merge_route, status="200") == 1
    # Every request the fake saw is counted once, by route template and status.
    wait_until(
        lambda: value(samples(gate), "gatebot_forge_requests_total") == len(fake.requests),
        timeout=10,
        message="the request count does not match the fake's log",
    )
    routes = {labels["route"] for labels, _ in found["gatebot_forge_requests_total"]}
    assert not [r for r in routes if "metered" in r or "acme" in r or scripted["head"] in r]
    statuses_sent = {str(r.status) for r in fake.requests}
    assert {labels["status"] for labels, _ in found["gatebot_forge_requests_total"]} <= (
        statuses_sent
    )
    remaining = {int(r.response_headers.get("x-ratelimit-remaining", -1)) for r in fake.requests}
    gauge = value(found, "gatebot_forge_rate_limit_remaining", forge="github", resource="core")
    assert gauge in remaining
    assert value(found, "gatebot_queue_depth") == 0
    assert value(found, "gatebot_errors_total") == 0


def test_every_log_line_is_json_and_the_deliverys_lines_carry_its_context(gate, scripted):
    lines = gate.proc.output().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    ours = [e for e in entries if e.get("delivery_id") == scripted["delivery"]]
    assert ours, "no line names the delivery"
    for entry in ours:
        assert entry["forge"] == "github"
        assert entry["repo"] == scripted["repo"]
        assert entry["pr"] == 1
        assert entry["head_sha"] == scripted["head"]
    worked = [e for e in entries if e.get("repo") == scripted["repo"] and "delivery_id" not in e]
    assert worked, "the worker's lines name no PR"
    assert all(e["pr"] == 1 for e in worked)
    assert any(e.get("head_sha") == scripted["head"] for e in worked)
    secrets = (gate.env["GITHUB_WEBHOOK_SECRET"], gate.env["GATEBOT_SECRET_KEY"], TOKEN)
    assert not [line for line in lines if any(s in line for s in secrets)]
