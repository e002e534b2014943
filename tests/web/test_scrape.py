"""`/metrics` of an in-process app: every webhook answer is counted under its outcome,
and the bearer token guards the scrape."""

from __future__ import annotations

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.apps import AppUnderTest, build_app
from support.webhooks import github_headers, github_payload

from bot.settings import Settings
from bot.web import create_app


@pytest.fixture
def svc(github_app_env) -> AppUnderTest:
    return build_app({**github_app_env, "GATEBOT_METRICS_TOKEN": "tok-" + "9" * 20})


def deliveries(client, token: str | None = None) -> dict[tuple[str, str, str], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            if s.name == "gatebot_deliveries_total":
                found[(s.labels["forge"], s.labels["event"], s.labels["outcome"])] = s.value
    return found


def grew(before, after) -> dict[tuple[str, str, str], float]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def signed(svc: AppUnderTest, event: str, payload: dict, **overrides):
    body = json.dumps(payload).encode()
    secret = svc.settings.github_webhook_secret.get_secret_value()
    headers = {**github_headers(event, body, secret, str(uuid.uuid4())), **overrides}
    headers = {k: v for k, v in headers.items() if v is not None}
    return svc.client.post("/webhooks/github", data=body, headers=headers)


def test_each_answer_is_counted_under_its_outcome(svc):
    token = svc.settings.metrics_token.get_secret_value()
    before = deliveries(svc.client, token)
    payload = github_payload("pull_request/synchronize.1")
    assert signed(svc, "pull_request", payload).status_code == 202
    assert signed(svc, "pull_request", payload, **{"X-GitHub-Event": None}).status_code == 400
    assert signed(svc, "star", {"action": "created", "repository": payload["repository"]}
                  ).status_code == 202
    bad = svc.client.post("/webhooks/github", data=b"{}", headers={
        "X-GitHub-Event": "made-up-event", "X-GitHub-Delivery": "x", "X-Hub-Signature-256": "x"})
    assert bad.status_code == 401
    big = b"{" + b" " * (26 * 1024 * 1024) + b"}"
    assert svc.client.post("/webhooks/github", data=big).status_code == 413
    assert svc.client.post("/webhooks/gitlab", data=b"{}").status_code == 404
    assert grew(before, deliveries(svc.client, token)) == {
        ("github", "pull_request", "accepted"): 1,
        ("github", "unverified", "malformed"): 1,
        ("github", "star", "ignored"): 1,
        ("github", "unverified", "bad_signature"): 1,
        ("github", "unverified", "too_large"): 1,
        ("gitlab", "unverified", "unconfigured"): 1,
    }


def test_the_scrape_needs_the_token_when_one_is_set(svc):
    token = svc.settings.metrics_token.get_secret_value()
    assert svc.client.get("/metrics").status_code == 401
    assert svc.client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert svc.client.get("/metrics", headers={"Authorization": f"Basic {token}"}
                          ).status_code == 401
    answer = svc.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert b"gatebot_queue_depth" in answer.data


def test_setup_mode_serves_metrics_and_counts_the_refused_webhooks():
    client = create_app(Settings.model_validate({})).test_client()
    before = deliveries(client)
    assert client.post("/webhooks/github", data=b"{}").status_code == 503
    assert grew(before, deliveries(client)) == {("github", "unverified", "setup_mode"): 1}
