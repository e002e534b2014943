"""Webhook endpoints in-process: signatures, parsing, recording, answers.

Bodies are real recorded payloads (tests/fixtures), signed in the test the
way GitHub signs them. The process-level behaviour (a real server, real
sockets, oversized and chunked bodies) is in test_serve_process.py.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import sqlite3
import time
import uuid

import pytest
from sqlalchemy import create_engine
from support.apps import AppUnderTest, build_app
from support.webhooks import github_headers, github_payload, gitlab_payload

from bot import standard_webhooks
from bot.events.group_commit import GroupCommit
from bot.events.parsed import MalformedDelivery
from bot.keys import PullKey
from bot.queue import inbox_drainer
from bot.standard_webhooks import signing_key
from bot.store import deliveries, dirty, gitlab_hooks, heads, pulls
from bot.store import utcnow as store_now
from bot.store.inbox import Inbox, TableInbox
from bot.web import create_app
from bot.web.github_webhook import InvalidSignature, parse_delivery, sign
from bot.web.github_webhook import verify_signature as verify
from bot.web.gitlab_webhook import InvalidToken, verify_token
from bot.web.gitlab_webhook import read_delivery as gitlab_read_delivery

SPEC_SECRET = "It's a Secret to Everybody"
SPEC_BODY = b"Hello, World!"
SPEC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


# -- pure verification --------------------------------------------------------


def test_signature_matches_the_spec_test_vector():
    assert sign(SPEC_BODY, SPEC_SECRET) == SPEC_SIGNATURE
    verify(SPEC_BODY, SPEC_SIGNATURE, SPEC_SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (SPEC_BODY, None, SPEC_SECRET),  # missing
        (SPEC_BODY, "", SPEC_SECRET),  # empty
        (b"Hello, World?", SPEC_SIGNATURE, SPEC_SECRET),  # body changed
        (SPEC_BODY, SPEC_SIGNATURE, "another secret"),  # wrong secret
        (SPEC_BODY, SPEC_SIGNATURE.replace("sha256=", "sha1="), SPEC_SECRET),  # wrong scheme
        (SPEC_BODY, SPEC_SIGNATURE[:-1], SPEC_SECRET),  # truncated
        (SPEC_BODY, SPEC_SIGNATURE.upper().replace("SHA256", "sha256"), SPEC_SECRET),
        (SPEC_BODY, "sha256=é", SPEC_SECRET),  # not ASCII
        (SPEC_BODY, SPEC_SIGNATURE, ""),  # no secret configured: fail closed
    ],
)
def test_bad_signatures_are_refused(body, header, secret):
    with pytest.raises(InvalidSignature):
        verify(body, header, secret)


def test_gitlab_token_is_compared_exactly():
    verify_token("tok-1", "tok-1")
    for received, secret in (("tok-2", "tok-1"), (None, "tok-1"), ("", "tok-1"), ("tok-1", "")):
        with pytest.raises(InvalidToken):
            verify_token(received, secret)


def test_parse_requires_event_delivery_and_a_json_object():
    good = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-1"}
    assert parse_delivery(good, b"{}").event == "ping"
    for headers, body in (
        ({"X-GitHub-Delivery": "d-1"}, b"{}"),
        ({"X-GitHub-Event": "ping"}, b"{}"),
        (good, b"{not json"),
        (good, b"[1, 2]"),
        (good, b"\xff\xfe"),
    ):
        with pytest.raises(MalformedDelivery):
            parse_delivery(headers, body)


# -- the endpoint -------------------------------------------------------------


@pytest.fixture
def svc(github_app_env) -> AppUnderTest:
    return build_app(github_app_env)


def post(svc: AppUnderTest, event: str, payload, delivery: str | None = None, **overrides):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = github_headers(
        event, body, svc.settings.github_webhook_secret.get_secret_value(), delivery
    )
    headers.update(overrides)
    headers = {k: v for k, v in headers.items() if v is not None}
    return svc.client.post("/webhooks/github", data=body, headers=headers)


def delivery_count(svc: AppUnderTest) -> int:
    with svc.store.begin() as conn:
        return deliveries.count(conn)


def dirty_row(svc: AppUnderTest, key: PullKey):
    with svc.store.begin() as conn:
        return dirty.get(conn, key)


def wake_ups(svc: AppUnderTest) -> int:
    """Wake-ups waiting: debounced ones on the schedule, immediate ones on the queue."""
    return svc.queue.huey.pending_count() + svc.queue.huey.scheduled_count()


def comment_on_pull_request() -> dict:
    """issue_comment/created.1 is on a plain issue; GitHub marks a PR's issue
    with an `issue.pull_request` object, added here in GitHub's shape."""
    payload = copy.deepcopy(github_payload("issue_comment/created.1"))
    repo_url = payload["repository"]["url"]
    number = payload["issue"]["number"]
    payload["issue"]["pull_request"] = {
        "url": f"{repo_url}/pulls/{number}",
        "html_url": f"{payload['repository']['html_url']}/pull/{number}",
        "diff_url": f"{payload['repository']['html_url']}/pull/{number}.diff",
        "patch_url": f"{payload['repository']['html_url']}/pull/{number}.patch",
        "merged_at": None,
    }
    return payload


@pytest.mark.parametrize(
    ("fixture", "event", "marks"),
    [
        ("pull_request/opened.1", "pull_request", True),
        ("pull_request/synchronize.1", "pull_request", True),
        ("pull_request_review/submitted.1", "pull_request_review", True),
        ("issue_comment/created.1", "issue_comment", False),  # a plain issue
        ("ping/ping.1", "ping", False),
        ("push/push.5", "push", False),
        ("check_run/created.1", "check_run", False),  # a run that starts has no result
    ],
)
def test_real_payloads_are_accepted_recorded_and_mark_their_pr(svc, fixture, event, marks):
    payload = github_payload(fixture)
    delivery = str(uuid.uuid4())
    response = post(svc, event, payload, delivery)
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted"}

    with svc.store.begin() as conn:
        row = deliveries.get(conn, "github", delivery)
    assert row.event == event
    assert row.action == payload.get("action")
    assert row.repo == payload["repository"]["full_name"]
    assert row.installation_id == (payload.get("installation") or {}).get("id")
    if marks:
        number = payload.get("number") or payload["pull_request"]["number"]
        assert row.pr_number == number
        key = PullKey("github", payload["repository"]["full_name"], number)
        assert dirty_row(svc, key).generation == 1
        assert wake_ups(svc) == 1  # one wake-up scheduled
    else:
        assert row.pr_number is None
        assert wake_ups(svc) == 0


def test_comment_on_a_pull_request_marks_it(svc):
    payload = comment_on_pull_request()
    assert post(svc, "issue_comment", payload).status_code == 202
    key = PullKey("github", payload["repository"]["full_name"], payload["issue"]["number"])
    assert dirty_row(svc, key) is not None


def test_synchronize_records_push_time_and_pusher(svc):
    payload = github_payload("pull_request/synchronize.1")
    assert post(svc, "pull_request", payload).status_code == 202
    with svc.store.begin() as conn:
        head = heads.get(
            conn, "github", "Codertocat/Hello-World", payload["pull_request"]["head"]["sha"]
        )
    assert head.pusher == payload["sender"]["login"]
    assert head.pushed_at == head.first_seen_at


def test_push_to_a_branch_records_the_pushed_head_but_a_tag_does_not(svc):
    tag = github_payload("push/push.1")
    branch = github_payload("push/push.5")
    assert tag["after"] == branch["after"]  # the same commit, tagged then pushed
    repo = branch["repository"]["full_name"]
    assert post(svc, "push", tag).status_code == 202
    with svc.store.begin() as conn:
        assert heads.get(conn, "github", repo, tag["after"]) is None
    assert post(svc, "push", branch).status_code == 202
    with svc.store.begin() as conn:
        pushed = heads.get(conn, "github", repo, branch["after"])
    assert pushed.pusher == branch["pusher"]["name"]
    assert pushed.pushed_at is not None


def test_first_seen_time_of_a_head_never_moves(svc):
    opened = github_payload("pull_request/opened.1")
    sha = opened["pull_request"]["head"]["sha"]
    post(svc, "pull_request", opened)
    with svc.store.begin() as conn:
        first = heads.get(conn, "github", "Codertocat/Hello-World", sha).first_seen_at
    post(svc, "pull_request", opened)  # a new delivery of the same head
    with svc.store.begin() as conn:
        assert heads.get(conn, "github", "Codertocat/Hello-World", sha).first_seen_at == first


def test_duplicate_delivery_is_answered_200_and_recorded_once(svc):
    payload = github_payload("pull_request/opened.1")
    delivery = str(uuid.uuid4())
    assert post(svc, "pull_request", payload, delivery).status_code == 202
    again = post(svc, "pull_request", payload, delivery)
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate"}
    assert delivery_count(svc) == 1
    key = PullKey("github", "Codertocat/Hello-World", payload["number"])
    assert dirty_row(svc, key).generation == 1
    assert wake_ups(svc) == 1


def test_a_burst_for_one_pr_queues_one_wake_up(svc):
    payload = github_payload("pull_request/synchronize.1")
    for _ in range(5):
        assert post(svc, "pull_request", payload).status_code == 202
    other = copy.deepcopy(payload)
    other["number"] = other["pull_request"]["number"] = 77
    assert post(svc, "pull_request", other).status_code == 202
    assert dirty_row(svc, PullKey("github", "Codertocat/Hello-World", 2)).generation == 5
    assert wake_ups(svc) == 2


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "garbage"],
)
def test_missing_or_bad_signature_is_401_and_nothing_recorded(svc, signature):
    response = post(
        svc, "ping", github_payload("ping/ping.1"), **{"X-Hub-Signature-256": signature}
    )
    assert response.status_code == 401
    assert "error" in response.get_json()
    assert delivery_count(svc) == 0


def test_signature_over_a_different_body_is_401(svc):
    body = json.dumps(github_payload("ping/ping.1")).encode()
    headers = github_headers("ping", body, svc.settings.github_webhook_secret.get_secret_value())
    response = svc.client.post("/webhooks/github", data=body + b" ", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "overrides"),
    [
        (b'{"zen": "truncated', {}),
        (b'["not", "an", "object"]', {}),
        (b"{}", {"X-GitHub-Event": None}),
        (b"{}", {"X-GitHub-Delivery": None}),
    ],
)
def test_malformed_but_signed_deliveries_are_400(svc, body, overrides):
    response = post(svc, "ping", body, **overrides)
    assert response.status_code == 400
    assert delivery_count(svc) == 0


def test_body_over_25_mb_is_413_before_verification(svc):
    body = b"{" + b" " * (26 * 1024 * 1024) + b"}"
    response = svc.client.post(
        "/webhooks/github",
        data=body,
        headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "big", "X-Hub-Signature-256": "x"},
    )
    assert response.status_code == 413
    assert delivery_count(svc) == 0


def test_readyz_reports_store_and_queue(svc):
    response = svc.client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "store": "ok",
        "queue": "ok",
        "catchup": {"last_round_at": None, "state": "no round finished yet"},
    }


def test_readyz_fails_when_the_store_is_not_migrated(github_app_env, tmp_path):
    from bot.queue import build_queue
    from bot.settings import Settings
    from bot.store import Store

    settings = Settings.model_validate(
        {**github_app_env, "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    )
    store = Store(settings.database_url)
    app = create_app(settings, store=store, queue=build_queue(settings, store))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["store"] == "not migrated: run gatebot migrate"


def test_gitlab_endpoint_is_not_there_without_gitlab_settings(svc):
    response = svc.client.post("/webhooks/gitlab", data=b"{}", headers={"X-Gitlab-Token": "x"})
    assert response.status_code == 404


# -- the store down -----------------------------------------------------------


def with_inbox(svc: AppUnderTest, inbox: Inbox) -> None:
    """Serve `svc`'s webhooks with `inbox` in place of its own."""
    svc.inbox = inbox
    svc.app.extensions["gatebot"] = dataclasses.replace(
        svc.app.extensions["gatebot"],
        deliveries=GroupCommit(inbox.keep),
        drain=inbox_drainer(svc.settings, svc.store, svc.queue, inbox).drain,
    )


def test_with_the_store_unreachable_a_delivery_is_refused_503_and_taken_when_sent_again(svc):
    # The inbox in the store's own tables, as on PostgreSQL.
    with_inbox(svc, TableInbox(svc.store))
    payload = github_payload("pull_request/opened.1")
    key = PullKey("github", payload["repository"]["full_name"], payload["number"])
    working = svc.store.engine
    # Nothing listens on port 1: every connection is refused, as with the database down.
    svc.store.engine = create_engine("postgresql+psycopg://gatebot@127.0.0.1:1/gatebot")
    try:
        refused = post(svc, "pull_request", payload, delivery="while-down")
    finally:
        svc.store.engine.dispose()
        svc.store.engine = working
    assert refused.status_code == 503
    assert "not recorded" in refused.get_json()["error"]
    assert delivery_count(svc) == 0
    assert dirty_row(svc, key) is None
    assert svc.queue.huey.pending_count() == 0
    # The forge logged it as failed; its redelivery (same id) is the first one recorded.
    again = post(svc, "pull_request", payload, delivery="while-down")
    assert again.status_code == 202
    assert delivery_count(svc) == 1
    assert dirty_row(svc, key) is not None


class Unwritable:
    """An inbox file that cannot be written (the disk full, the file locked too long)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def keep(self, _arrivals: object) -> list[bool]:
        raise sqlite3.OperationalError("database or disk is full")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inbox, name)


def test_with_the_inbox_file_unwritable_a_delivery_is_refused_503(svc):
    payload = github_payload("pull_request/opened.1")
    with_inbox(svc, Unwritable(svc.inbox))
    refused = post(svc, "pull_request", payload, delivery="disk-full")
    assert refused.status_code == 503
    assert "not recorded" in refused.get_json()["error"]
    assert inbox_rows(svc) == [] and delivery_count(svc) == 0
    with_inbox(svc, svc.inbox.inbox)
    assert post(svc, "pull_request", payload, delivery="disk-full").status_code == 202
    assert delivery_count(svc) == 1


# -- the inbox: kept before the answer, ingested by the consumer ---------------


def inbox_rows(svc: AppUnderTest) -> list[tuple[str, str, bytes]]:
    """What waits in the inbox, left there (taken on a transaction rolled back)."""
    with svc.store.begin() as conn:
        taken = svc.inbox.take(conn, 100)
        conn.rollback()
    return [(a.provider, a.delivery_id, a.body) for a in taken.kept]


def test_an_accepted_delivery_is_in_the_inbox_before_its_answer(github_app_env):
    svc = build_app(github_app_env, drain=False)
    payload = github_payload("pull_request/opened.1")
    body = json.dumps(payload).encode()
    key = PullKey("github", "Codertocat/Hello-World", payload["number"])
    seen: list[list[tuple[str, str, bytes]]] = []
    # What a consumer in this process would find the moment the delivery is kept.
    svc.app.extensions["gatebot"] = dataclasses.replace(
        svc.app.extensions["gatebot"], drain=lambda: seen.append(inbox_rows(svc))
    )
    assert post(svc, "pull_request", body, delivery="kept-1").status_code == 202
    assert seen == [[("github", "kept-1", body)]]
    # The answer did no routing: nothing recorded, marked or woken.
    assert delivery_count(svc) == 0
    assert dirty_row(svc, key) is None
    assert wake_ups(svc) == 0


def test_a_redelivery_is_a_duplicate_before_and_after_the_consumer_ingests_it(github_app_env):
    svc = build_app(github_app_env, drain=False)
    payload = github_payload("pull_request/opened.1")
    key = PullKey("github", "Codertocat/Hello-World", payload["number"])
    assert post(svc, "pull_request", payload, delivery="again").status_code == 202
    waiting = post(svc, "pull_request", payload, delivery="again")
    assert (waiting.status_code, waiting.get_json()) == (200, {"status": "duplicate"})
    assert inbox_drainer(svc.settings, svc.store, svc.queue, svc.inbox).drain() == 1
    assert dirty_row(svc, key).generation == 1
    assert wake_ups(svc) == 1
    ingested = post(svc, "pull_request", payload, delivery="again")
    assert (ingested.status_code, ingested.get_json()) == (200, {"status": "duplicate"})
    assert inbox_rows(svc) == []
    assert delivery_count(svc) == 1


def test_refused_deliveries_never_reach_the_inbox(github_app_env, tmp_path):
    svc = build_app(github_app_env, drain=False)
    payload = github_payload("pull_request/opened.1")
    assert post(svc, "pull_request", payload, **{"X-Hub-Signature-256": None}).status_code == 401
    assert post(svc, "pull_request", b'{"zen": "truncated').status_code == 400
    assert inbox_rows(svc) == []
    gitlab = build_app(
        {
            "GITLAB_TOKEN": "glpat-test",
            "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/refused.sqlite3",
        },
        drain=False,
    )
    connect_hook(gitlab, gitlab_hooks.PROJECT, 11, "mallory/tools", "mallory-secret")
    forged = gitlab_note_for(12, "acme/api")
    assert post_gitlab(gitlab, "Note Hook", forged, token="mallory-secret").status_code == 401
    assert inbox_rows(gitlab) == []


# -- setup mode ---------------------------------------------------------------


def test_setup_mode_explains_and_refuses_webhooks():
    from bot.settings import Settings

    app = create_app(Settings.model_validate({}))
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for needle in (
        "Or connect a GitHub App by hand",
        "Create the GitHub App in one click",
        "GITHUB_APP_ID",
        "GITHUB_WEBHOOK_SECRET",
        "Connect a GitLab project",
        "GITLAB_TOKEN",
        "/webhooks/github",
        # Without these there are no Details links, and merges touching workflows fail.
        "GATEBOT_PUBLIC_URL",
        "GATEBOT_SECRET_KEY",
        "<td>Workflows</td><td>read &amp; write</td>",
    ):
        assert needle in text
    assert client.get("/healthz").get_json() == {"status": "ok", "mode": "setup"}
    assert client.get("/readyz").status_code == 503
    for path in ("/webhooks/github", "/webhooks/gitlab"):
        response = client.post(path, data=b"{}", headers={"X-GitHub-Event": "ping"})
        assert response.status_code == 503


# -- GitLab -------------------------------------------------------------------


# The groups of the recorded payloads' projects, as `gatebot gitlab connect` records them.
FIXTURE_GROUPS = ("gitlabhq", "gitlab-org", "test", "flightjs", "mike", "exm-namespace")


def connect_hook(svc: AppUnderTest, kind: str, target_id: int, path: str, secret: str) -> None:
    with svc.store.begin() as conn:
        gitlab_hooks.record(conn, kind, target_id, path, 900 + target_id, secret=secret,
                            now=store_now())


@pytest.fixture
def gitlab_svc(tmp_path) -> AppUnderTest:
    svc = build_app(
        {
            "GITLAB_URL": "https://gitlab.example.com",
            "GITLAB_TOKEN": "glpat-test",
            "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/gl.sqlite3",
        }
    )
    for number, group in enumerate(FIXTURE_GROUPS, start=1):
        connect_hook(svc, gitlab_hooks.GROUP, number, group, "gl-secret")
    return svc


def post_gitlab(svc, event, payload, token="gl-secret", key=None):
    headers = {"X-Gitlab-Event": event, "Idempotency-Key": key or str(uuid.uuid4())}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return svc.client.post("/webhooks/gitlab", data=json.dumps(payload), headers=headers)


def test_gitlab_merge_request_and_note_mark_the_merge_request(gitlab_svc):
    mr = gitlab_payload("merge_request")
    note = gitlab_payload("note_merge_request")
    key = str(uuid.uuid4())
    assert post_gitlab(gitlab_svc, "Merge Request Hook", mr, key=key).status_code == 202
    assert post_gitlab(gitlab_svc, "Merge Request Hook", mr, key=key).get_json() == {
        "status": "duplicate"
    }
    assert post_gitlab(gitlab_svc, "Note Hook", note).status_code == 202
    mr_key = PullKey("gitlab", mr["project"]["path_with_namespace"], mr["object_attributes"]["iid"])
    note_key = PullKey(
        "gitlab", note["project"]["path_with_namespace"], note["merge_request"]["iid"]
    )
    assert dirty_row(gitlab_svc, mr_key).generation == 1
    assert dirty_row(gitlab_svc, note_key).generation == 1
    assert delivery_count(gitlab_svc) == 2


@pytest.mark.parametrize("token", [None, "wrong", "gl-secret "])
def test_gitlab_bad_token_is_401(gitlab_svc, token):
    response = post_gitlab(gitlab_svc, "Merge Request Hook", gitlab_payload("merge_request"), token)
    assert response.status_code == 401
    assert delivery_count(gitlab_svc) == 0


def test_github_endpoint_is_not_there_with_only_gitlab(gitlab_svc):
    assert gitlab_svc.client.post("/webhooks/github", data=b"{}").status_code == 404


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Idempotency-Key": "k-1"}, b"{}"),  # no X-Gitlab-Event
        ({"X-Gitlab-Event": "Note Hook"}, b"{}"),  # no delivery id of any kind
        ({"X-Gitlab-Event": "Note Hook", "Idempotency-Key": "k-1"}, b"[1, 2]"),
        ({"X-Gitlab-Event": "Note Hook", "Idempotency-Key": "k-1"}, b"{not json"),
    ],
    ids=["no-event", "no-delivery-id", "not-an-object", "not-json"],
)
def test_gitlab_malformed_deliveries_are_400_and_not_recorded(gitlab_svc, headers, body):
    response = gitlab_svc.client.post(
        "/webhooks/gitlab", data=body, headers={"X-Gitlab-Token": "gl-secret", **headers}
    )
    assert response.status_code == 400
    assert delivery_count(gitlab_svc) == 0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Idempotency-Key": "a", "webhook-id": "b", "X-Gitlab-Event-UUID": "c"}, "a"),
        ({"webhook-id": "b", "X-Gitlab-Event-UUID": "c"}, "b"),
        ({"X-Gitlab-Event-UUID": "c"}, "c"),
        ({"Idempotency-Key": "  ", "X-Gitlab-Event-UUID": "c"}, "c"),
    ],
)
def test_gitlab_delivery_id_prefers_the_retry_stable_headers(headers, expected):
    body = json.dumps(gitlab_payload("note_merge_request")).encode()
    parsed = gitlab_read_delivery({"X-Gitlab-Event": "Note Hook", **headers}, body)
    assert parsed.record.delivery_id == expected
    assert parsed.payload["object_attributes"]["id"] == 1244


def test_gitlab_merge_request_push_records_the_head_and_routes_the_mr(gitlab_svc):
    # service_merge_request.json: a pushed update (`oldrev`), sent as an integration
    # ("Service Hook") sends it.
    payload = gitlab_payload("service_merge_request")
    assert post_gitlab(gitlab_svc, "Service Hook", payload).status_code == 202
    repo = payload["project"]["path_with_namespace"]
    head = payload["object_attributes"]["last_commit"]["id"]
    with gitlab_svc.store.begin() as conn:
        pushed = heads.get(conn, "gitlab", repo, head)
        known = pulls.get(conn, "gitlab", repo, payload["object_attributes"]["iid"])
    assert pushed.pusher == payload["user"]["username"] and pushed.pushed_at is not None
    assert (known.base_ref, known.head_sha, known.state) == ("master", head, pulls.OPEN)
    assert dirty_row(gitlab_svc, PullKey("gitlab", repo, 2)).generation == 1


def test_gitlab_system_notes_are_recorded_without_work(gitlab_svc):
    note = gitlab_payload("note_merge_request")
    # The recorded note overlaid into a system note ("added 1 commit"): GitLab's
    # record of a change the change's own event reports.
    note["object_attributes"]["system"] = True
    assert post_gitlab(gitlab_svc, "Note Hook", note).status_code == 202
    assert delivery_count(gitlab_svc) == 1
    key = PullKey("gitlab", note["project"]["path_with_namespace"], note["merge_request"]["iid"])
    assert dirty_row(gitlab_svc, key) is None


# -- GitLab signing tokens (Standard Webhooks) ---------------------------------------------

SIGNING_TOKEN = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_standard_webhooks_signatures_match_the_specifications_test_vector():
    # The test vector of the Standard Webhooks reference libraries.
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert standard_webhooks.sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}') == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"):
        with pytest.raises(ValueError):
            signing_key(bad)


def signed_svc(tmp_path, **extra: str) -> AppUnderTest:
    return build_app(
        {
            "GITLAB_TOKEN": "glpat-test",
            "GITLAB_WEBHOOK_SIGNING_TOKEN": SIGNING_TOKEN,
            "GITLAB_PROJECT": "gitlabhq/gitlab-test",  # the recorded merge request's
            "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/signed.sqlite3",
            **extra,
        }
    )


def post_signed(svc, payload, *, shift=0, signature=None, token=None):
    """A delivery signed as GitLab signs it, dated `shift` seconds from now."""
    body = json.dumps(payload).encode()
    webhook_id = str(uuid.uuid4())
    stamp = str(int(time.time() + shift))
    headers = {
        "X-Gitlab-Event": "Merge Request Hook",
        "Idempotency-Key": webhook_id,
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signature
        if signature is not None
        else "v1,bm90IGl0 " + standard_webhooks.sign(signing_key(SIGNING_TOKEN), webhook_id, stamp, body),
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return svc.client.post("/webhooks/gitlab", data=body, headers=headers)


def test_a_signed_gitlab_delivery_is_accepted_without_the_plain_secret(tmp_path):
    svc = signed_svc(tmp_path)
    mr = gitlab_payload("merge_request")
    assert post_signed(svc, mr).status_code == 202  # one of two offered values matches
    key = PullKey("gitlab", mr["project"]["path_with_namespace"], mr["object_attributes"]["iid"])
    assert dirty_row(svc, key) is not None


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("wrong signature", {"signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}),
        ("no signature", {"signature": ""}),
        ("replayed after 6 minutes", {"shift": -360}),
        ("dated in the future", {"shift": +360}),
    ],
)
def test_a_gitlab_delivery_whose_signature_does_not_hold_is_refused(tmp_path, case, options):
    svc = signed_svc(tmp_path)
    response = post_signed(svc, gitlab_payload("merge_request"), **options)
    assert response.status_code == 401, case
    with svc.store.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM deliveries").scalar_one() == 0


def test_with_both_configured_both_the_secret_and_the_signature_must_hold(tmp_path):
    svc = signed_svc(tmp_path, GITLAB_WEBHOOK_SECRET="gl-secret")
    mr = gitlab_payload("merge_request")
    assert post_signed(svc, mr).status_code == 401
    assert post_signed(svc, mr, token="gl-secret").status_code == 202
    assert post_gitlab(svc, "Merge Request Hook", mr).status_code == 401  # token, no signature


# -- GitLab: each hook's own secret ---------------------------------------------------


def gitlab_note_for(project_id: int, path: str) -> dict:
    """The recorded note delivery, retold as about project `path` (id `project_id`)."""
    note = gitlab_payload("note_merge_request")
    note["project"].update(id=project_id, path_with_namespace=path)
    note["project_id"] = project_id
    return note


@pytest.fixture
def per_project(tmp_path) -> AppUnderTest:
    svc = build_app(
        {
            "GITLAB_TOKEN": "glpat-test",
            "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/hooks.sqlite3",
        }
    )
    connect_hook(svc, gitlab_hooks.PROJECT, 11, "mallory/tools", "mallory-secret")
    connect_hook(svc, gitlab_hooks.PROJECT, 12, "acme/api", "acme-api-secret")
    connect_hook(svc, gitlab_hooks.GROUP, 20, "acme", "acme-group-secret")
    return svc


def test_one_projects_secret_never_authenticates_a_delivery_for_another(per_project):
    forged = gitlab_note_for(12, "acme/api")
    for token in ("mallory-secret", "", "acme-api-secret "):
        response = post_gitlab(per_project, "Note Hook", forged, token=token or None)
        assert response.status_code == 401, token
    assert delivery_count(per_project) == 0
    assert dirty_row(per_project, PullKey("gitlab", "acme/api", 1)) is None
    # The project's own secret, and its group's, do.
    assert post_gitlab(per_project, "Note Hook", forged, token="acme-api-secret").status_code == 202
    assert post_gitlab(per_project, "Note Hook", forged, token="acme-group-secret").status_code == 202


def test_a_group_secret_covers_the_projects_under_its_path_only(per_project):
    nested = gitlab_note_for(31, "acme/platform/web")
    assert post_gitlab(per_project, "Note Hook", nested, token="acme-group-secret").status_code == 202
    for outside in ("acme-evil/api", "other/acme/api", "acme"):
        note = gitlab_note_for(32, outside)
        assert post_gitlab(per_project, "Note Hook", note, token="acme-group-secret").status_code == 401
    assert delivery_count(per_project) == 1


def test_a_project_hook_holds_for_its_recorded_id_and_path_together(per_project):
    # Another path under the same id (a rename not yet connected again, or a lie).
    moved = gitlab_note_for(11, "mallory/renamed")
    assert post_gitlab(per_project, "Note Hook", moved, token="mallory-secret").status_code == 401
    # Another project's id with this project's path.
    swapped = gitlab_note_for(12, "mallory/tools")
    assert post_gitlab(per_project, "Note Hook", swapped, token="mallory-secret").status_code == 401
    own = gitlab_note_for(11, "mallory/tools")
    assert post_gitlab(per_project, "Note Hook", own, token="mallory-secret").status_code == 202


def test_a_project_never_connected_is_refused(per_project):
    stranger = gitlab_note_for(40, "someone/else")
    for token in ("mallory-secret", "acme-group-secret", "anything"):
        assert post_gitlab(per_project, "Note Hook", stranger, token=token).status_code == 401
    assert delivery_count(per_project) == 0


def test_a_delivery_naming_two_projects_is_refused(per_project):
    note = gitlab_note_for(11, "mallory/tools")
    note["project_id"] = 12  # the token is checked for one project, the handlers read another
    assert post_gitlab(per_project, "Note Hook", note, token="mallory-secret").status_code == 400
    assert delivery_count(per_project) == 0


def test_the_single_project_mode_accepts_the_global_secret_for_its_project_only(tmp_path):
    svc = build_app(
        {
            "GITLAB_TOKEN": "glpat-test",
            "GITLAB_WEBHOOK_SECRET": "gl-secret",
            "GITLAB_PROJECT": "acme/api",
            "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/single.sqlite3",
        }
    )
    assert post_gitlab(svc, "Note Hook", gitlab_note_for(12, "acme/api")).status_code == 202
    assert post_gitlab(svc, "Note Hook", gitlab_note_for(13, "acme/web")).status_code == 401
    assert post_gitlab(svc, "Note Hook", gitlab_note_for(12, "ACME/API")).status_code == 202
    assert delivery_count(svc) == 2
