"""Catch-up rounds: the store's lease and record, `/readyz`, the loop, `gatebot reconcile`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from github_helpers import settings_for

from bot.catchup.loop import CatchUpLoop
from bot.catchup.report import StepReport
from bot.catchup.round import CatchUp
from bot.catchup.status import FAILING_ROUNDS, summary
from bot.cli import main
from bot.store import Store, catchup_rounds, pulls, reconcile_marks

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_one_instance_holds_the_round_and_the_record_counts_failures(store):
    with store.begin() as conn:
        assert catchup_rounds.last(conn) is None
        assert catchup_rounds.take(conn, "a", T0, 60)
        assert not catchup_rounds.take(conn, "b", T0, 60)
        assert catchup_rounds.finish(
            conn, "a", T0 + timedelta(seconds=2), caught_up_to=T0, requests=3, marked=1,
            error="reconcile github: the forge's list failed (server 502)",
        )
        assert not catchup_rounds.finish(
            conn, "a", T0, caught_up_to=None, requests=0, marked=0, error=None
        )
        # an expired lease is taken over
        assert catchup_rounds.take(conn, "b", T0, 1)
        assert catchup_rounds.take(conn, "c", T0 + timedelta(seconds=5), 60)
        assert catchup_rounds.finish(
            conn, "c", T0 + timedelta(seconds=6), caught_up_to=None, requests=0, marked=0,
            error="again",
        )
        last = catchup_rounds.last(conn)
    assert last is not None
    assert last.failures == 2 and last.caught_up_to == T0 and last.duration_seconds == 1.0
    shown = summary(last, T0 + timedelta(minutes=1))
    assert shown["behind_seconds"] == 60.0 and shown["state"] == "ok"


def test_a_lease_its_round_could_not_give_back_is_taken_again_by_its_holder_only(store):
    with store.begin() as conn:
        assert catchup_rounds.take(conn, "a", T0, 120)
    # The round failed with the store down: neither its record nor the lease's return
    # was written. The next round of the same instance goes ahead; others still wait.
    later = T0 + timedelta(seconds=5)
    with store.begin() as conn:
        assert not catchup_rounds.take(conn, "b", later, 120)
        assert catchup_rounds.take(conn, "a", later, 120)
        assert catchup_rounds.finish(
            conn, "a", later, caught_up_to=None, requests=0, marked=0, error=None
        )
        assert catchup_rounds.take(conn, "b", later, 120)


def test_marks_never_move_back(store):
    with store.begin() as conn:
        reconcile_marks.advance(conn, "gitlab", "g/p", T0, T0)
        reconcile_marks.advance(conn, "gitlab", "g/p", T0 - timedelta(hours=1), T0)
        assert reconcile_marks.get(conn, "gitlab", "g/p").reconciled_to == T0
        reconcile_marks.advance(conn, "gitlab", "g/p", T0 + timedelta(hours=1), T0)
        assert reconcile_marks.all_of(conn, "gitlab")["g/p"].reconciled_to == T0 + timedelta(hours=1)


def test_known_repositories_say_where_a_first_walk_starts(store):
    with store.begin() as conn:
        for number, state, updated in ((1, pulls.OPEN, T0), (2, pulls.CLOSED, T0 - timedelta(days=3)),
                                       (3, pulls.OPEN, T0 + timedelta(hours=1))):
            pulls.remember(conn, pulls.PullState("github", "Acme/Api", number, "main", "a" * 40,
                                                 state, 7, updated), T0)
        found = pulls.known_repositories(conn, "github")
    assert [(k.repo, k.installation_id, k.oldest_open_update) for k in found] == [
        ("Acme/Api", 7, T0)
    ]


class Counting:
    name = "reconcile"

    def __init__(self, error: str | None = None) -> None:
        self.runs = 0
        self.error = error

    def run(self, now: datetime) -> StepReport:
        self.runs += 1
        return StepReport("reconcile", "github", 2, 1, 1, now, True, self.error)


def test_the_loop_runs_one_round_per_interval_across_instances_and_readyz_shows_it(store):
    step = Counting()
    clock = [T0]
    first = CatchUpLoop(CatchUp([step]), store, 300, lambda: clock[0])
    second = CatchUpLoop(CatchUp([step]), store, 300, lambda: clock[0])
    assert first.run_once()
    assert not second.run_once()  # the other instance finished one a moment ago
    clock[0] += timedelta(seconds=300)
    assert second.run_once()
    assert step.runs == 2
    with store.begin() as conn:
        last = catchup_rounds.last(conn)
    assert last.marked == 1 and last.requests == 1 and last.error is None


def test_readyz_turns_unready_after_failing_rounds(github_app_env):
    from bot.queue import build_queue
    from bot.settings import Settings
    from bot.web import create_app

    settings = Settings.model_validate(github_app_env)
    store = Store(settings.database_url)
    store.migrate()
    app = create_app(settings, store=store, queue=build_queue(settings, store))
    failing = Counting(error="the forge's list failed (server 502)")
    clock = [datetime.now(UTC)]
    loop = CatchUpLoop(CatchUp([failing]), store, 1, lambda: clock[0])
    for _ in range(FAILING_ROUNDS):
        assert loop.run_once()
        clock[0] += timedelta(seconds=2)
        response = app.test_client().get("/readyz")
        catchup = response.get_json()["catchup"]
        assert catchup["error"] == "reconcile github: the forge's list failed (server 502)"
    assert response.status_code == 503 and catchup["state"] == "failing"
    page = app.test_client().get("/").get_data(as_text=True)
    assert "the forge&#39;s list failed" in page
    store.close()


def test_gatebot_reconcile_prints_what_it_marked(fake_github, tmp_path, monkeypatch, capsys):
    settings = settings_for(fake_github, tmp_path)
    for name, value in {
        "GITHUB_APP_ID": str(fake_github.app_id),
        "GITHUB_PRIVATE_KEY": fake_github.private_key_pem,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_WEBHOOK_SECRET": "s3cret",
        "GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
        "GATEBOT_DATABASE_URL": settings.database_url,
    }.items():
        monkeypatch.setenv(name, value)
    store = Store(settings.database_url)
    store.migrate()
    fake_github.add_repo("acme/api")
    pr = fake_github.open_pr("acme/api", 5)
    with store.begin() as conn:
        pulls.remember(conn, pulls.PullState(
            "github", "acme/api", 5, "main", "0" * 40, pulls.OPEN,
            fake_github.installation_id("acme/api"), pr.updated_at), pr.updated_at)
    store.close()

    assert main(["reconcile", "--repo", "acme/api", "--since", "2026-01-01"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"github:acme/api#5 marked: head 0000000 in the store, {pr.head_sha[:7]} on the forge"
    assert out[-1] == "reconcile github: 1 PR(s) examined, 1 marked, 2 request(s), complete"
