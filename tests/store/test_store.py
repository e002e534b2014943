"""The store on SQLite and on PostgreSQL: the same code, the same behaviour."""

from __future__ import annotations

import threading
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from bot.keys import GroupKey, PullKey
from bot.store import (
    Store,
    deploys,
    dirty,
    heads,
    merges,
    migrate,
    pull_heads,
    utcnow,
    verdicts,
)
from bot.store.deploys import DeployKey
from bot.store.dirty import Finish
from bot.store.tables import dirty_pulls, metadata

KEY = PullKey("github", "acme/app", 7)


def test_migrations_create_exactly_the_declared_tables(store):
    assert store.is_current()
    assert store.migrate() == migrate.head_revision()  # a second run changes nothing
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/nested/dir/x.sqlite3")
    with store.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_claim_is_exclusive_until_finish_or_expiry(store):
    now = utcnow()
    with store.begin() as conn:
        dirty.mark(conn, KEY, now)
        mine = dirty.claim(conn, KEY, "w1", now, lease_seconds=30)
        assert mine is not None and mine.generation == 1
        assert dirty.claim(conn, KEY, "w2", now, lease_seconds=30) is None
        # After expiry anyone may take it over; the first holder has lost it.
        later = now + timedelta(seconds=31)
        theirs = dirty.claim(conn, KEY, "w2", later, lease_seconds=30)
        assert theirs is not None
        assert dirty.finish(conn, mine) is Finish.LEASE_LOST
        assert dirty.finish(conn, theirs) is Finish.CLEARED
        assert dirty.get(conn, KEY) is None
        assert dirty.claim(conn, KEY, "w3", later, lease_seconds=30) is None  # clean


def test_a_mark_during_a_run_survives_the_runs_finish(store):
    now = utcnow()
    with store.begin() as conn:
        dirty.mark(conn, KEY, now)
        claim = dirty.claim(conn, KEY, "w1", now, 30)
        assert dirty.mark(conn, KEY, now) == 2  # an event arrives mid-run
        assert dirty.finish(conn, claim) is Finish.NEWER_MARK
        row = dirty.get(conn, KEY)
        assert row.generation == 2 and row.lease_owner is None
        again = dirty.claim(conn, KEY, "w1", now, 30)
        assert again.generation == 2
        assert dirty.finish(conn, again) is Finish.CLEARED


def test_extend_keeps_the_lease_alive(store):
    now = utcnow()
    with store.begin() as conn:
        dirty.mark(conn, KEY, now)
        claim = dirty.claim(conn, KEY, "w1", now, 10)
        assert dirty.extend(conn, claim, now + timedelta(seconds=9), 10)
        assert dirty.claim(conn, KEY, "w2", now + timedelta(seconds=15), 10) is None
        assert not dirty.extend(conn, dirty.Claim(KEY, "w2", 1, None), now, 10)


def test_claimable_lists_unleased_and_expired_rows_oldest_first(store):
    now = utcnow()
    old, fresh, leased = (PullKey("github", "acme/app", n) for n in (1, 2, 3))
    with store.begin() as conn:
        dirty.mark(conn, old, now - timedelta(minutes=5))
        dirty.mark(conn, fresh, now)
        dirty.mark(conn, leased, now)
        dirty.claim(conn, leased, "w1", now, 60)
        assert dirty.claimable(conn, now) == [old, fresh]
        recent = now - timedelta(minutes=1)
        assert dirty.claimable(conn, now, dirty_before=recent) == [old]
        later = now + timedelta(seconds=61)
        assert dirty.claimable(conn, later) == [old, fresh, leased]
        # An expired lease means its holder is gone: listed however recent the mark.
        assert dirty.claimable(conn, later, dirty_before=recent) == [old, leased]


def test_a_group_key_and_a_pr_key_with_the_same_parts_are_two_marks(store):
    now = utcnow()
    pull, group = PullKey("github", "acme/app", 3), GroupKey("github", "acme/app", 3)
    with store.begin() as conn:
        assert dirty.mark_many(conn, {group: 5, pull: 5}, now) == [pull, group]
        # Kept as the rows always were: the group under its forge's provider with `-mq`.
        rows = conn.execute(select(dirty_pulls.c.provider, dirty_pulls.c.number)).all()
        assert sorted(tuple(r) for r in rows) == [("github", 3), ("github-mq", 3)]
        assert set(dirty.claimable(conn, now)) == {pull, group}
        claim = dirty.claim(conn, group, "w1", now, 60)
        assert claim is not None and claim.key == group
        assert dirty.get(conn, pull).lease_owner is None
        assert dirty.finish(conn, claim) is Finish.CLEARED
        assert dirty.claimable(conn, now) == [pull]


def test_push_time_keeps_the_earliest_values(store):
    t0 = utcnow()
    t1 = t0 + timedelta(minutes=1)
    with store.begin() as conn:
        heads.record(conn, "github", "acme/app", "abc1234", t0)
        heads.record(conn, "github", "acme/app", "abc1234", t1, pushed=True, pusher="bob")
        heads.record(
            conn, "github", "acme/app", "abc1234", t1 + t1.resolution, pushed=True, pusher="mallory"
        )
        row = heads.get(conn, "github", "acme/app", "abc1234")
    assert row.first_seen_at == t0
    assert row.pushed_at == t1
    assert row.pusher == "bob"


def test_head_history_is_per_pr_and_a_head_that_comes_back_gets_a_new_row(store):
    t0 = utcnow()
    other = PullKey("github", "acme/app", 8)
    with store.begin() as conn:
        # The same SHA was the head of another PR long before: no time of it carries over.
        assert pull_heads.note(conn, other, "aaa", "main", t0 - timedelta(days=3))
        assert pull_heads.note(conn, KEY, "aaa", "main", t0, forge_updated_at=t0)
        assert not pull_heads.note(conn, KEY, "aaa", "main", t0 + timedelta(minutes=1))
        assert pull_heads.note(conn, KEY, "bbb", "main", t0 + timedelta(minutes=2))
        assert pull_heads.note(conn, KEY, "aaa", "main", t0 + timedelta(minutes=3))
        assert pull_heads.note(conn, KEY, "aaa", "release", t0 + timedelta(minutes=4))
        rows = pull_heads.history(conn, KEY)
    assert [(r.sha, r.base_ref, r.at - t0) for r in rows] == [
        ("aaa", "main", timedelta(0)),
        ("bbb", "main", timedelta(minutes=2)),
        ("aaa", "main", timedelta(minutes=3)),
        ("aaa", "release", timedelta(minutes=4)),
    ]


def test_a_newer_push_of_the_recorded_head_is_recorded_as_its_return(store):
    # A -> B -> A with B unheard of: the push of A's return names the recorded head.
    t0 = utcnow()
    with store.begin() as conn:
        assert pull_heads.note(conn, KEY, "aaa", "main", t0, forge_updated_at=t0)
        # The same push again, or a read of the PR (not a push), is no news.
        assert not pull_heads.note(conn, KEY, "aaa", "main", t0, forge_updated_at=t0, pushed=True)
        later = t0 + timedelta(minutes=2)
        assert not pull_heads.note(conn, KEY, "aaa", "main", later, forge_updated_at=later)
        assert pull_heads.note(conn, KEY, "aaa", "main", later, forge_updated_at=later, pushed=True)
        rows = pull_heads.history(conn, KEY)
    assert [(r.sha, r.at - t0) for r in rows] == [("aaa", timedelta(0)), ("aaa", timedelta(minutes=2))]


def test_an_event_older_than_the_recorded_state_is_not_recorded(store):
    t0 = utcnow()
    with store.begin() as conn:
        pull_heads.note(conn, KEY, "aaa", "main", t0, forge_updated_at=t0)
        pull_heads.note(conn, KEY, "bbb", "main", t0, forge_updated_at=t0 + timedelta(seconds=5))
        # A synchronize for aaa delivered late: aaa did not become the head again.
        late = pull_heads.note(
            conn, KEY, "aaa", "main", t0 + timedelta(minutes=1), forge_updated_at=t0
        )
        rows = pull_heads.history(conn, KEY)
    assert not late
    assert [r.sha for r in rows] == ["aaa", "bbb"]


def test_concurrent_claims_on_one_pr_give_it_to_exactly_one(store):
    with store.begin() as conn:
        dirty.mark(conn, KEY, utcnow())
    barrier = threading.Barrier(8)
    winners: list[str] = []

    def contend(name: str) -> None:
        barrier.wait()
        with store.begin() as conn:
            if dirty.claim(conn, KEY, name, utcnow(), 30) is not None:
                winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_once_only_keys_tell_the_first_writer_from_the_others(store):
    # ON CONFLICT DO NOTHING reports no rowcount on PostgreSQL: the first claim must
    # still be told apart from the second, on both databases.
    key = DeployKey("github", "acme/app", "f" * 40, "production")
    now = utcnow()
    with store.begin() as conn:
        first = deploys.open_intent(conn, key, number=7, method="github_deployment",
                                    environment="prod", now=now)
        second = deploys.open_intent(conn, key, number=7, method="github_deployment",
                                     environment="prod", now=now)
        assert first is not None and first.state == deploys.OPEN and second is None
        assert first.reference is None
        assert deploys.settle(conn, key, deploys.DEPLOYED, now, reference="d-7PKX2")
        kept = deploys.intent(conn, key)
        assert kept is not None and kept.state == deploys.DEPLOYED
        assert kept.reference == "d-7PKX2"
        assert merges.claim_feedback(conn, KEY, "a" * 40, "merged", now)
        assert not merges.claim_feedback(conn, KEY, "a" * 40, "merged", now)
        assert merges.claim_feedback(conn, KEY, "a" * 40, "refused", now)


def test_verdicts_are_kept_per_pull_head_and_context(store):
    sha, main, dev = "a" * 40, "gatebot: main", "gatebot: dev"
    other = PullKey("github", "acme/app", KEY.number + 1)
    now = utcnow()
    with store.begin() as conn:
        verdicts.record(conn, KEY, sha, main, state="pending", report_only=False, now=now)
        verdicts.record(conn, KEY, sha, main, state="success", report_only=False,
                        now=now + timedelta(seconds=1))
        verdicts.record(conn, other, sha, dev, state="success", report_only=False, now=now)
        verdicts.record(conn, other, sha, main, state="success", report_only=True, now=now)
    with store.begin() as conn:
        latest = verdicts.get(conn, KEY, sha, main)
        assert latest is not None and latest.passed
        assert latest.decided_at == now + timedelta(seconds=1)
        assert verdicts.get(conn, KEY, sha, dev) is None  # another base: nothing for #KEY
        shadow = verdicts.get(conn, other, sha, main)
        assert shadow is not None and shadow.report_only and not shadow.passed
        assert verdicts.get(conn, KEY, "b" * 40, main) is None


def test_gitlab_hooks_keep_only_a_hash_and_answer_for_their_own_project(store):
    from bot.store import gitlab_hooks

    now = utcnow()
    with store.begin() as conn:
        gitlab_hooks.record(conn, gitlab_hooks.PROJECT, 7, "Acme/API", 70, secret="s-project", now=now)
        gitlab_hooks.record(conn, gitlab_hooks.GROUP, 3, "acme", 30, secret="s-group", now=now)
        rows = conn.exec_driver_sql("SELECT path, secret_hash FROM gitlab_hooks").all()
        assert all("s-" not in str(row) for row in rows)
        assert {row.path for row in rows} == {"acme/api", "acme"}

        def holds(token: str, project_id: int | None, path: str | None) -> str | None:
            hook = gitlab_hooks.authenticates(
                conn, token, project_id=project_id, project_path=path
            )
            return None if hook is None else hook.kind

        assert holds("s-project", 7, "acme/api") == "project"
        assert holds("s-group", 7, "ACME/api") == "group"
        assert holds("s-group", 99, "acme/sub/web") == "group"
        assert holds("s-project", 8, "acme/web") is None
        assert holds("s-project", 7, "acme/renamed") is None
        assert holds("s-group", 9, "acme-evil/api") is None
        assert holds("wrong", 7, "acme/api") is None
        # Connected again (a rename): the secret stays unless a new one is given.
        gitlab_hooks.record(conn, gitlab_hooks.PROJECT, 7, "acme/renamed", 70, secret=None, now=now)
        assert holds("s-project", 7, "acme/renamed") == "project"
        assert gitlab_hooks.forget(conn, gitlab_hooks.PROJECT, 7)
        assert holds("s-project", 7, "acme/renamed") is None
        assert not gitlab_hooks.forget(conn, gitlab_hooks.PROJECT, 7)


def test_merge_verdicts_are_kept_per_commit_and_the_first_one_stays(store):
    from bot.store import merge_verdicts
    from bot.store.merge_verdicts import MergeVerdict

    now = utcnow()
    with store.begin() as conn:
        merge_verdicts.put(conn, "github", "Acme/App", "a" * 40, MergeVerdict(True), now)
        merge_verdicts.put(
            conn, "github", "acme/app", "b" * 40, MergeVerdict(False, "it changes x.py"), now
        )
        merge_verdicts.put(conn, "github", "acme/app", "a" * 40, MergeVerdict(False, "no"), now)
    with store.begin() as conn:
        found = merge_verdicts.get_many(conn, "github", "ACME/app", ["a" * 40, "b" * 40, "c" * 40])
        assert merge_verdicts.get_many(conn, "gitlab", "acme/app", ["a" * 40]) == {}
    assert found == {
        "a" * 40: MergeVerdict(True),
        "b" * 40: MergeVerdict(False, "it changes x.py"),
    }


def test_gatebot_audit_lists_tampering_but_not_an_authors_own_edits(
    tmp_path, monkeypatch, capsys
):
    from datetime import UTC, datetime

    from bot.cli import main
    from bot.store import tampering

    url = f"sqlite:///{tmp_path}/audit.sqlite3"
    found = Store(url)
    found.migrate()
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with found.begin() as conn:
        for editor, subject, minutes in (("mallory", "review", 1), ("bob", "review", 2),
                                         ("carol", "comment", 3)):
            tampering.record(conn, tampering.TamperRecord(
                provider="github", repo="acme/app", number=7, comment_id=55, author="bob",
                editor=editor, head_sha="c" * 40, at=moment + timedelta(minutes=minutes),
                subject=subject,
            ))
    found.close()
    monkeypatch.setenv("GATEBOT_DATABASE_URL", url)
    assert main(["audit"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"2026-03-02T09:01:00+00:00 acme/app#7 {'c' * 12} tampering: mallory edited bob's "
        "review body 55",
        f"2026-03-02T09:03:00+00:00 acme/app#7 {'c' * 12} tampering: carol edited bob's "
        "comment 55",
    ]


def test_the_verdict_history_keeps_changes_only_newest_first(store):
    from bot.store import verdict_history
    from bot.store.evaluations import Posted

    def shown(sha: str, state: str, minute: int, description: str = "needs 1 more") -> Posted:
        return Posted(
            provider="github", repo="Acme/App", sha=sha, context="gatebot: main", number=7,
            state=state, description=description, details_url=None, report_only=False,
            status_posted=True, check_run_id=None, explanation=None,
            posted_at=utcnow().replace(minute=minute, second=0, microsecond=0),
        )

    with store.begin() as conn:
        assert verdict_history.add(conn, shown("a" * 40, "pending", 1))
        assert not verdict_history.add(conn, shown("a" * 40, "pending", 2))  # reposted
        assert verdict_history.add(conn, shown("b" * 40, "pending", 3))  # a new head
        assert verdict_history.add(conn, shown("b" * 40, "success", 4, "approved"))
    with store.begin() as conn:
        history = verdict_history.for_pull(conn, "github", "acme/app", 7)
    assert [(h.sha[0], h.state, h.at.minute) for h in history] == [
        ("b", "success", 4), ("b", "pending", 3), ("a", "pending", 1),
    ]
