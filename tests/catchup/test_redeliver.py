"""The redelivery step against the fake GitHub's App webhook delivery log.

The fake's log is shaped from GitHub's own description of
`GET /app/hook/deliveries` (newest first, `per_page` at most 100, a
`cursor` in the `rel="next"` link) and `POST .../attempts`; the step reads
it with the App's JWT, asks once per failed event the bot does not have,
stays within its per-round bounds and resumes where a round stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from fakegithub import FakeGitHub
from github import Auth
from github_helpers import settings_for

from bot.catchup.redeliver import Redeliver, redeliver_step
from bot.events.parsed import DeliveryRecord
from bot.providers.github.hook_deliveries import next_cursor
from bot.store import Store, deliveries, delivery_log

ONE_HOUR = timedelta(hours=1)


def now() -> datetime:
    return datetime.now(UTC)


def failing_every(n: int, status: int = 502):
    return lambda i: status if i % n == n - 1 else 202


def make_step(fake: FakeGitHub, store: Store, tmp_path: Path, **bounds: str) -> Redeliver:
    settings = settings_for(fake, tmp_path, **bounds)
    step = redeliver_step(settings, store, now)
    assert step is not None
    return step


def jwt(fake: FakeGitHub) -> dict[str, str]:
    token = Auth.AppAuth(fake.app_id, fake.private_key_pem).create_jwt()
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}


@pytest.fixture
def fake(fake_github: FakeGitHub):
    yield fake_github
    fake_github.assert_all_valid()


# -- the fake's log, as GitHub documents it ------------------------------------------------


def test_the_log_is_listed_newest_first_in_cursor_pages(fake):
    seeded = fake.seed_deliveries(250, start=now() - ONE_HOUR)
    url = f"{fake.url}/app/hook/deliveries"
    seen, cursor, pages = [], None, 0
    while True:
        params = {"per_page": "100", **({"cursor": cursor} if cursor else {})}
        answer = requests.get(url, params=params, headers=jwt(fake), timeout=10)
        assert answer.status_code == 200
        pages += 1
        seen.extend(item["id"] for item in answer.json())
        cursor = next_cursor(answer.headers.get("Link"))
        if cursor is None:
            break
        assert 'rel="next"' in answer.headers["Link"] and "cursor=" in answer.headers["Link"]
    assert pages == 3
    assert seen == [d.id for d in reversed(seeded)]
    too_many = requests.get(url, params={"per_page": "101"}, headers=jwt(fake), timeout=10)
    assert too_many.status_code == 422


def test_the_log_takes_only_the_apps_jwt(fake):
    fake.add_repo("acme/api")
    token = fake.mint_token("acme/api")
    answer = requests.get(
        f"{fake.url}/app/hook/deliveries",
        headers={"Authorization": f"token {token}"},
        timeout=10,
    )
    assert answer.status_code == 401


def test_a_redelivery_sends_the_same_payload_and_guid_again(fake, free_port):
    fake.add_repo("acme/api")
    fake.open_pr("acme/api", 1)
    event, payload = fake.webhook("pull_request", "opened", "acme/api", 1)
    down = f"http://127.0.0.1:{free_port}/webhooks/github"
    first, response = fake.send_webhook(event, payload, url=down)
    assert response is None and first.status_code == 502 and first.status == "failed to connect"

    got = requests.get(
        f"{fake.url}/app/hook/deliveries/{first.id}", headers=jwt(fake), timeout=10
    ).json()
    assert got["guid"] == first.guid and got["request"]["payload"]["number"] == 1
    assert got["request"]["headers"]["X-GitHub-Delivery"] == first.guid

    asked = requests.post(
        f"{fake.url}/app/hook/deliveries/{first.id}/attempts", headers=jwt(fake), timeout=10
    )
    assert asked.status_code == 202
    fake.wait_redeliveries()
    again = fake.hook_deliveries()[-1]
    assert again.redelivery and again.guid == first.guid and again.id != first.id
    assert again.body == first.body


# -- the step ---------------------------------------------------------------------------


def test_failed_events_are_asked_for_once_and_never_again(fake, store, tmp_path):
    log = fake.seed_deliveries(30, start=now() - ONE_HOUR, status_code=failing_every(10))
    failed = [d for d in log if d.status_code != 202]
    step = make_step(fake, store, tmp_path)

    report = step.run(now())
    assert report.complete and report.error is None
    assert report.acted == 3 and report.examined == 30 and report.requests == 1 + 3
    assert sorted(fake.redeliveries_asked) == sorted(d.id for d in failed)
    assert report.caught_up_to == log[-1].delivered_at
    assert all(line.startswith("asked GitHub to redeliver check_run.completed") for line in report.lines)
    fake.wait_redeliveries()  # nobody listens: each redelivery fails again, logged newest

    second = step.run(now())
    assert second.complete and second.acted == 0 and second.requests == 1
    assert len(fake.redeliveries_asked) == 3


def test_an_event_the_bot_has_or_that_a_later_attempt_delivered_is_not_asked_for(
    fake, store, tmp_path
):
    start = now() - ONE_HOUR
    recorded, redelivered, lost = fake.seed_deliveries(3, start=start, status_code=lambda i: 503)
    # A later attempt of `redelivered` got through.
    later = fake.seed_deliveries(1, start=start + timedelta(minutes=5))[0]
    later.guid = redelivered.guid
    with store.begin() as conn:
        deliveries.record(
            conn, DeliveryRecord("github", recorded.guid, "check_run", "completed"), now()
        )
    report = make_step(fake, store, tmp_path).run(now())
    assert report.acted == 1 and fake.redeliveries_asked == [lost.id]
    with store.begin() as conn:
        assert delivery_log.asked(conn, [recorded.guid, redelivered.guid, lost.guid]) == {
            lost.guid
        }


def test_ten_thousand_deliveries_are_walked_in_bounded_rounds_that_resume(
    fake, store, tmp_path
):
    log = fake.seed_deliveries(
        10_000, start=now() - timedelta(hours=3), status_code=failing_every(1000)
    )
    step = make_step(fake, store, tmp_path, GATEBOT_REDELIVER_PAGES_PER_ROUND="40")
    mark = fake.mark()

    first = step.run(now())
    assert not first.complete and first.error is None
    assert first.requests == 40 + 4 and first.examined == 4000 and first.acted == 4
    assert first.caught_up_to is None  # nothing below the walk is known good yet

    second = step.run(now())
    assert not second.complete and second.requests == 40 + 4 and second.acted == 4

    fake.wait_redeliveries()
    third = step.run(now())
    # The backlog's last 20 pages, then one page of what arrived since it began
    # (the redeliveries asked, failing again: asked already).
    assert third.complete and third.acted == 2
    assert third.requests == 20 + 2 + 1
    assert third.caught_up_to is not None and third.caught_up_to > log[-1].delivered_at

    lists = fake.requests_for("apps/list-webhook-deliveries")
    assert len(fake.requests_since(mark)) == 44 + 44 + 23
    assert all(r.query.get("per_page") == ["100"] for r in lists)
    assert len(set(fake.redeliveries_asked)) == len(fake.redeliveries_asked) == 10
    fake.wait_redeliveries()
    assert step.run(now()).acted == 0


def test_the_redeliveries_of_a_round_are_bounded(fake, store, tmp_path):
    fake.seed_deliveries(5, start=now() - ONE_HOUR, status_code=lambda i: 502)
    step = make_step(fake, store, tmp_path, GATEBOT_REDELIVER_ASKS_PER_ROUND="2")
    reports = [step.run(now()) for _ in range(3)]
    assert [r.acted for r in reports] == [2, 2, 1]
    assert [r.complete for r in reports] == [False, False, True]
    assert len(set(fake.redeliveries_asked)) == 5


def test_nothing_older_than_githubs_three_days_is_asked_for(fake, store, tmp_path):
    old = fake.seed_deliveries(3, start=now() - timedelta(days=3, hours=1), status_code=lambda i: 502)
    new = fake.seed_deliveries(2, start=now() - ONE_HOUR, status_code=lambda i: 502)
    report = make_step(fake, store, tmp_path).run(now())
    assert report.complete and report.examined == 2
    assert sorted(fake.redeliveries_asked) == sorted(d.id for d in new)
    assert not set(fake.redeliveries_asked) & {d.id for d in old}


def test_a_low_rate_limit_stops_the_round_and_the_next_resumes(fake, store, tmp_path):
    fake.seed_deliveries(300, start=now() - ONE_HOUR, status_code=failing_every(100))
    step = make_step(fake, store, tmp_path)
    step.rate_floor = 10_000  # more than the fake's limit: every page is "the last we can afford"
    report = step.run(now())
    assert not report.complete and "rate limit" in (report.error or "")
    assert report.requests == 1 + 1 and report.acted == 1
    with store.begin() as conn:
        assert delivery_log.get(conn, step.app_id).walk_cursor is not None

    step.rate_floor = 0
    resumed = step.run(now())
    assert resumed.complete and resumed.acted == 2


def test_a_refused_redelivery_is_not_remembered_and_stops_the_round(fake, store, tmp_path):
    fake.seed_deliveries(2, start=now() - ONE_HOUR, status_code=lambda i: 502)
    fake.fail(
        "apps/redeliver-webhook-delivery",
        status=422,
        body={"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest"},
    )
    step = make_step(fake, store, tmp_path)
    refused = step.run(now())
    assert not refused.complete and refused.acted == 0
    assert refused.error is not None and "422" in refused.error and "http" not in refused.error
    again = step.run(now())
    assert again.complete and again.acted == 2


def test_without_github_there_is_no_step(tmp_path):
    from bot.settings import Settings

    settings = Settings.model_validate({"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    assert redeliver_step(settings, Store(settings.database_url), now) is None
