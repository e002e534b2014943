"""Deploy outcomes in the store, on SQLite and PostgreSQL alike: one end per deployment,
one comment claim, the backoff, and the lookups events and callbacks use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import deploy_outcomes, deploys
from bot.store.deploys import DeployKey

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
KEY = DeployKey("github", "Acme/API", "c" * 40, "production")
HOUR = timedelta(hours=1)


def started(store, key: DeployKey = KEY, reference: str = "41") -> None:
    with store.begin() as conn:
        assert deploy_outcomes.start(conn, key, number=7, method="github_deployment",
                                     environment="prod", now=AT, reference=reference, access=3)


def test_a_deployment_ends_once_and_its_end_is_audited(store):
    started(store)
    with store.begin() as conn:
        assert not deploy_outcomes.start(conn, KEY, number=7, method="github_deployment",
                                         environment="prod", now=AT)
        assert deploy_outcomes.end(conn, KEY, "failed", AT + timedelta(seconds=90),
                                   message="smoke tests failed")
        assert not deploy_outcomes.end(conn, KEY, "succeeded", AT + HOUR)
        row = deploy_outcomes.get(conn, KEY)
        (entry,) = deploys.audit(conn)
    assert row is not None and (row.stage, row.duration_seconds()) == ("failed", 90.0)
    assert row.key.repo == "Acme/API"  # as the forge spells it
    assert (entry.outcome, entry.detail) == ("failed", "after 90 s: smoke tests failed")


def test_events_find_a_deployment_by_the_targets_own_id(store):
    started(store)
    with store.begin() as conn:
        found = deploy_outcomes.by_reference(conn, "github", "github_deployment", "41",
                                             "acme/api")
        assert deploy_outcomes.by_reference(conn, "gitlab", "github_deployment", "41") is None
        assert deploy_outcomes.by_reference(conn, None, "github_deployment", "42") is None
        assert deploy_outcomes.by_reference(conn, "github", "github_deployment", "41",
                                            "acme/other") is None
    assert found is not None and found.key == DeployKey("github", "Acme/API", "c" * 40,
                                                         "production")


def test_the_backoff_doubles_to_five_minutes_and_an_event_makes_it_due_at_once(store):
    started(store)
    waits = []
    now = AT + timedelta(seconds=15)
    with store.begin() as conn:
        for _ in range(7):
            assert [r.key for r in deploy_outcomes.due(conn, now, HOUR)] == [KEY]
            deploy_outcomes.checked(conn, KEY, now)
            row = deploy_outcomes.get(conn, KEY)
            assert row is not None and row.next_check_at is not None
            waits.append((row.next_check_at - now).total_seconds())
            assert deploy_outcomes.due(conn, now, HOUR) == []
            now = row.next_check_at
        assert deploy_outcomes.make_due(conn, KEY, now - timedelta(seconds=1))
        assert [r.key for r in deploy_outcomes.due(conn, now, HOUR)] == [KEY]
    assert waits == [15, 30, 60, 120, 240, 300, 300]


def test_a_silent_deployment_is_due_once_its_time_is_up_and_never_after_it_ended(store):
    started(store)
    with store.begin() as conn:
        deploy_outcomes.checked(conn, KEY, AT + timedelta(minutes=59))
        assert deploy_outcomes.due(conn, AT + timedelta(minutes=59, seconds=10), HOUR) == []
        assert len(deploy_outcomes.due(conn, AT + HOUR, HOUR)) == 1
        deploy_outcomes.end(conn, KEY, "timed out", AT + HOUR)
        assert deploy_outcomes.due(conn, AT + 2 * HOUR, HOUR) == []
        assert not deploy_outcomes.make_due(conn, KEY, AT + 2 * HOUR)


def test_the_comment_is_claimed_once_and_given_back_when_it_could_not_be_posted(store):
    started(store)
    with store.begin() as conn:
        assert [r.key for r in deploy_outcomes.unposted(conn)] == [KEY]
        assert deploy_outcomes.claim_comment(conn, KEY, AT)
        assert not deploy_outcomes.claim_comment(conn, KEY, AT)
        assert deploy_outcomes.unposted(conn) == []
        deploy_outcomes.drop_comment_claim(conn, KEY)
        assert deploy_outcomes.claim_comment(conn, KEY, AT)
        deploy_outcomes.shown(conn, KEY, "running", comment_id=2**40)
        deploy_outcomes.drop_comment_claim(conn, KEY)  # posted: the claim stays
        assert not deploy_outcomes.claim_comment(conn, KEY, AT)
        assert deploy_outcomes.unshown(conn) == []
        deploy_outcomes.end(conn, KEY, "succeeded", AT + HOUR)
        (behind,) = deploy_outcomes.unshown(conn)
        assert (behind.comment_id, behind.comment_stage, behind.stage) == (
            2**40, "running", "succeeded"
        )
        deploy_outcomes.shown(conn, KEY, "succeeded")
        assert deploy_outcomes.unshown(conn) == []
