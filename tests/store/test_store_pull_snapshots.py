"""The kept snapshots of open PRs and delayed marks, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.keys import PullKey
from bot.store import dirty, pull_snapshots, utcnow
from bot.store.pull_snapshots import BASE, OWNER, SavedPull


def saved(repo: str, number: int, *, base: str = "main", digest: str = "d1",
          origin: str | None = "repository", proposes: str | None = None) -> SavedPull:
    return SavedPull(
        provider="github", repo=repo, number=number, base_ref=base, head_sha="a" * 40,
        origin=origin, policy_file=".github/gatebot.yml", policy_text="version: 1\n",
        needs="{}", snapshot="{}", digest=digest, proposes=proposes, saved_at=utcnow(),
    )


def test_a_save_says_whether_the_pr_changed_and_a_closed_pr_is_forgotten(store):
    with store.begin() as conn:
        assert pull_snapshots.save(conn, saved("acme/api", 1)) is True
        assert pull_snapshots.save(conn, saved("acme/api", 1)) is False
        assert pull_snapshots.save(conn, saved("acme/api", 1, digest="d2")) is True
        assert pull_snapshots.save(conn, saved("acme/api", 1, digest="d2", base="next")) is True
        (row,) = pull_snapshots.in_repo(conn, "github", "acme/api")
        assert (row.digest, row.base_ref) == ("d2", "next")
        pull_snapshots.forget(conn, "github", "acme/api", 1)
        assert pull_snapshots.in_repo(conn, "github", "acme/api") == []


def test_lookups_by_base_owner_and_the_prs_showing_an_impact(store):
    with store.begin() as conn:
        pull_snapshots.save(conn, saved("acme/api", 1))
        pull_snapshots.save(conn, saved("acme/api", 2, base="next"))
        pull_snapshots.save(conn, saved("acme/api", 3, proposes=BASE))
        pull_snapshots.save(conn, saved("acme/web", 4, origin="owner"))
        pull_snapshots.save(conn, saved("acme/.github", 5, proposes=OWNER))
        pull_snapshots.save(conn, saved("globex/api", 6, origin="owner", proposes=BASE))
        assert [r.number for r in pull_snapshots.on_base(conn, "github", "acme/api", "main")] == [
            1, 3,
        ]
        assert [r.number for r in pull_snapshots.of_owner(conn, "github", "ACME", ["owner"])] == [4]
        assert pull_snapshots.proposing(
            conn, "github", "acme/api", "main", owner_wide=True
        ) == [("acme/.github", 5), ("acme/api", 3)]
        assert pull_snapshots.proposing(
            conn, "github", "acme/api", "next", owner_wide=True
        ) == [("acme/.github", 5)]
        # A PR its repository's own policy judges is no concern of the owner-wide one.
        assert pull_snapshots.proposing(
            conn, "github", "acme/api", "main", owner_wide=False
        ) == [("acme/api", 3)]
        assert len(pull_snapshots.every(conn, "github")) == 6


def test_a_delayed_mark_waits_and_keeps_an_earlier_time(store):
    key, now = PullKey("github", "acme/api", 3), utcnow()
    with store.begin() as conn:
        dirty.mark_later(conn, key, now, 30, installation_id=9)
        assert dirty.claimable(conn, now + timedelta(seconds=10)) == []
        assert dirty.claimable(conn, now + timedelta(seconds=31)) == [key]
        # A second change before it ran does not push it further out.
        dirty.mark_later(conn, key, now + timedelta(seconds=20), 30)
        row = dirty.get(conn, key)
        assert row.retry_at == now + timedelta(seconds=30) and row.installation_id == 9
        assert row.generation == 2


def test_a_delayed_mark_leaves_a_pending_mark_as_it_is(store):
    key, now = PullKey("github", "acme/api", 3), utcnow()
    with store.begin() as conn:
        dirty.mark(conn, key, now, 9)
        dirty.mark_later(conn, key, now, 30)
        assert dirty.claimable(conn, now + timedelta(seconds=1)) == [key]
