"""The worker and the queue: claims, generations, failures, sweeps — and two
`gatebot worker` processes on Redis + PostgreSQL sharing the PRs safely."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from support.processes import clean_env, wait_until
from support.webhooks import github_payload, send_github, with_pr_number

from bot.due_scheduler import Alarm, DueScheduler
from bot.keys import GroupKey, Job, PullKey, WorkKey
from bot.queue import RESWEEP_SECONDS, Sweeper, WorkQueue, make_huey
from bot.settings import Settings
from bot.store import Store, dirty, runs, utcnow
from bot.store.inbox import open_inbox
from bot.worker import Outcome, PullWorker, load_pipeline, record_only_pipeline

KEY = PullKey("github", "acme/app", 7)


@pytest.fixture
def store(tmp_path):
    found = Store(f"sqlite:///{tmp_path}/q.sqlite3")
    found.migrate()
    yield found
    found.close()


def mark(store: Store, key: WorkKey = KEY, when=None) -> int:
    with store.begin() as conn:
        return dirty.mark(conn, key, when or utcnow(), installation_id=5)


def make_worker(store: Store, pipeline, lease_seconds: float = 30) -> PullWorker:
    return PullWorker(store, pipeline, owner="test-host:1:abc", lease_seconds=lease_seconds)


def sqlite_queue(store: Store, tmp_path, name: str, debounce: float = 1.0) -> WorkQueue:
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/q.sqlite3", "GATEBOT_QUEUE_NAME": name}
    )
    return WorkQueue(make_huey(settings), store, debounce_seconds=debounce)


def test_record_only_pipeline_records_an_evaluation_and_clears(store):
    mark(store)
    settings = Settings.model_validate({})
    outcome = make_worker(store, record_only_pipeline(settings, store)).process(KEY)
    assert outcome is Outcome.DONE
    with store.begin() as conn:
        [run] = runs.for_pull(conn, KEY)
        assert dirty.get(conn, KEY) is None
    assert run.outcome == "ok"
    assert run.generation == 1
    assert run.summary == f"evaluated PR 7 of acme/app at {run.started_at.isoformat()}"
    assert run.started_at <= run.finished_at


def test_clean_pr_is_skipped_without_a_run(store):
    assert make_worker(store, lambda job: "x").process(KEY) is Outcome.SKIPPED
    with store.begin() as conn:
        assert runs.for_pull(conn, KEY) == []


def test_job_carries_ids_and_a_lease_that_can_be_extended(store):
    mark(store)
    seen: list[Job] = []

    def pipeline(job: Job) -> str:
        seen.append(job)
        assert job.lease.extend()
        return "ok"

    make_worker(store, pipeline).process(KEY)
    assert seen[0].key == KEY and seen[0].access == 5 and seen[0].generation == 1


def test_mark_arriving_mid_run_makes_the_pr_go_round_again(store):
    mark(store)
    calls: list[int] = []

    def pipeline(job: Job) -> str:
        calls.append(job.generation)
        if len(calls) == 1:
            mark(store)  # an event for this PR arrives while it is being worked on
        return "ok"

    worker = make_worker(store, pipeline)
    assert worker.process(KEY) is Outcome.AGAIN
    with store.begin() as conn:
        row = dirty.get(conn, KEY)
    assert row is not None and row.lease_owner is None
    assert worker.process(KEY) is Outcome.DONE
    assert calls == [1, 2]


def test_failing_pipeline_leaves_the_pr_dirty_and_unlocked(store):
    mark(store)

    def pipeline(job: Job) -> str:
        raise ConnectionError("forge unreachable")

    with pytest.raises(ConnectionError):
        make_worker(store, pipeline).process(KEY)
    with store.begin() as conn:
        row = dirty.get(conn, KEY)
        [run] = runs.for_pull(conn, KEY)
    assert row is not None and row.lease_owner is None
    assert run.outcome == "error" and run.finished_at is not None


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


class FailingPipeline:
    """Raises every time; remembers what the worker told it after each failure."""

    def __init__(self) -> None:
        self.calls = 0
        self.told: list[tuple[str, object]] = []

    def __call__(self, job: Job) -> str:
        self.calls += 1
        raise RecursionError("maximum recursion depth exceeded")

    def failed(self, job: Job, error: Exception, retry_at) -> None:
        self.told.append((type(error).__name__, retry_at))


def test_a_failing_evaluation_backs_off_with_a_growing_capped_delay(store, tmp_path):
    clock, pipeline = Clock(), FailingPipeline()
    worker = PullWorker(
        store, pipeline, owner="h:1:a", lease_seconds=30, clock=clock,
        backoff_seconds=60, backoff_max_seconds=300,
    )
    queue = sqlite_queue(store, tmp_path, "bo", debounce=0)
    mark(store, when=clock.now)
    waits = []
    for _ in range(5):
        with pytest.raises(RecursionError):
            worker.process(KEY)
        _, retry_at = pipeline.told[-1]
        waits.append((retry_at - clock.now).total_seconds())
        # Until then neither a claim nor a sweep touches it, whatever wakes it.
        assert worker.process(KEY) is Outcome.SKIPPED
        with store.begin() as conn:
            assert KEY not in dirty.claimable(conn, clock.now)
            assert KEY not in dirty.claimable(conn, retry_at - timedelta(seconds=1))
            assert KEY in dirty.claimable(conn, retry_at)
        clock.now = retry_at
    assert waits == [60, 120, 240, 300, 300]
    assert pipeline.calls == 5
    assert pipeline.told[0][0] == "RecursionError"
    with store.begin() as conn:
        assert runs.for_pull(conn, KEY)[-1].summary.startswith("failed (RecursionError); next try")

    # The sweeper's own marks (an unsettled merge) leave the back-off alone...
    with pytest.raises(RecursionError):
        worker.process(KEY)
    with store.begin() as conn:
        dirty.mark_many(conn, {KEY: 5}, clock.now, reset_backoff=False)
    assert worker.process(KEY) is Outcome.SKIPPED
    assert queue.sweep(everything=True) == 0
    # ...a new delivery resets it: the PR is tried at once, the delay starts over.
    mark(store, when=clock.now)
    with pytest.raises(RecursionError):
        worker.process(KEY)
    assert (pipeline.told[-1][1] - clock.now).total_seconds() == 60


def test_pr_held_by_another_worker_is_skipped(store):
    mark(store)
    with store.begin() as conn:
        dirty.claim(conn, KEY, "someone-else", utcnow(), 60)
    assert make_worker(store, lambda job: "x").process(KEY) is Outcome.SKIPPED


def test_lost_lease_does_not_clear_the_new_holders_work(store):
    mark(store)

    def pipeline(job: Job) -> str:
        # This run outlives its lease; another worker takes the PR over.
        with store.begin() as conn:
            later = utcnow() + timedelta(seconds=5)
            assert dirty.claim(conn, KEY, "other", later, 60) is not None
        return "late"

    assert make_worker(store, pipeline, lease_seconds=1).process(KEY) is Outcome.LOST
    with store.begin() as conn:
        assert dirty.get(conn, KEY).lease_owner == "other"


def test_pipeline_is_loaded_from_the_setting(store):
    settings = Settings.model_validate({"GATEBOT_PIPELINE": "support.pipelines:slow_pipeline"})
    pipeline = load_pipeline(settings, store)
    mark(store)
    make_worker(store, pipeline).process(KEY)
    with store.begin() as conn:
        assert runs.for_pull(conn, KEY)[0].summary == "slowly evaluated PR 7 of acme/app"


def test_sweep_requeues_dirty_prs_whose_wake_up_was_lost(store, tmp_path):
    queue = sqlite_queue(store, tmp_path, "sweep")
    now = utcnow()
    mark(store, PullKey("github", "acme/app", 1), now - timedelta(minutes=10))
    mark(store, PullKey("github", "acme/app", 2), now)  # its own wake-up is still due
    assert queue.sweep() == 1
    assert queue.sweep(everything=True) == 2
    assert queue.huey.pending_count() == 3


def test_a_sweep_queues_no_copy_of_a_wake_up_that_may_still_wait(store, tmp_path):
    """While tasks wait, a PR swept lately is not queued again (each copy costs a
    worker a claim); once nothing waits, one still dirty has lost its wake-up."""
    queue = sqlite_queue(store, tmp_path, "resweep")
    old = PullKey("github", "acme/app", 1)
    mark(store, old, utcnow() - timedelta(minutes=10))
    assert queue.sweep() == 1
    assert [queue.sweep() for _ in range(3)] == [0, 0, 0]
    assert queue.huey.pending_count() == 1
    # A PR swept before, and marked long ago, is queued once it too is overdue.
    other = PullKey("github", "acme/app", 2)
    mark(store, other, utcnow() - timedelta(minutes=10))
    assert queue.sweep() == 1
    assert queue.huey.pending_count() == 2
    # Taken and lost (a worker killed before its claim): nothing waits any more.
    queue.huey.flush()
    assert queue.sweep() == 2
    # Still waiting after RESWEEP_SECONDS: it may have been lost while the queue was busy.
    with store.begin() as conn:
        dirty.swept(conn, [old], utcnow() - timedelta(seconds=RESWEEP_SECONDS + 1))
    assert queue.sweep() == 1
    # A claim forgets the sweep: after a failed run the PR is swept at its retry.
    with store.begin() as conn:
        assert dirty.claim(conn, other, "w", utcnow(), 60) is not None
        assert dirty.get(conn, other).swept_at is None


def test_while_tasks_wait_a_sweep_queues_only_wake_ups_evidently_taken(store, tmp_path):
    """A PR marked seconds ago has its own wake-up waiting; one whose worker lost
    its lease, or whose run failed and backs off, had it taken."""
    queue = sqlite_queue(store, tmp_path, "taken")
    recent = utcnow() - timedelta(seconds=30)  # overdue: debounce and grace are 6 s
    waiting, leased, failed = (PullKey("github", "acme/app", n) for n in (1, 2, 3))
    for key in (waiting, leased, failed):
        mark(store, key, recent)
    with store.begin() as conn:
        assert dirty.claim(conn, leased, "killed", recent, 1) is not None  # long expired
        claim = dirty.claim(conn, failed, "w", recent, 60)
        dirty.back_off(conn, claim, recent, 1, 1)  # retry a second later: passed
    queue.wake(PullKey("github", "acme/app", 99), delay=0)  # a task waits
    assert queue.sweep() == 2
    assert queue.huey.pending_count() == 3
    assert queue.sweep() == 0  # and the copies are not queued twice
    queue.huey.flush()
    assert queue.sweep() == 3  # nothing waits: all three lost their wake-ups


def test_a_sweep_whose_wake_up_could_not_be_queued_is_not_remembered(store, tmp_path, monkeypatch):
    queue = sqlite_queue(store, tmp_path, "unqueued")
    mark(store, KEY, utcnow() - timedelta(minutes=10))
    monkeypatch.setattr(queue, "wake", lambda key, delay=None: False)  # the queue refused it
    assert queue.sweep() == 0
    with store.begin() as conn:
        assert dirty.get(conn, KEY).swept_at is None
    monkeypatch.undo()
    assert queue.sweep() == 1
    with store.begin() as conn:
        assert dirty.get(conn, KEY).swept_at is not None


class StoreDown(Store):
    """The store with its database down (every transaction refused) until `down` is
    cleared; counts the transactions it refused."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.down = False
        self.refused = 0

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if self.down:
            self.refused += 1
            raise OperationalError("BEGIN", {}, ConnectionRefusedError("the database is down"))
        with super().begin() as conn:
            yield conn


def test_the_sweeper_outlives_a_store_outage_and_sweeps_after_it(tmp_path):
    store = StoreDown(f"sqlite:///{tmp_path}/q.sqlite3")
    store.migrate()
    queue = sqlite_queue(store, tmp_path, "down", debounce=0.0)
    mark(store, KEY, utcnow() - timedelta(minutes=10))
    store.down = True
    sweeper = Sweeper(queue, interval=0.02)
    sweeper.start()
    try:
        wait_until(lambda: store.refused >= 3, timeout=10, message="the sweeper stopped")
        assert queue.huey.pending_count() == 0
        store.down = False
        # The mark made before the outage is swept once the database is back.
        wait_until(lambda: queue.huey.pending_count() >= 1, timeout=10)
    finally:
        sweeper.stop()
        store.close()


def test_wake_ups_run_the_worker_through_huey(store, tmp_path):
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/q.sqlite3", "GATEBOT_QUEUE_NAME": "exec"}
    )
    queue = WorkQueue(
        make_huey(settings),
        store,
        debounce_seconds=0.0,
        worker=make_worker(store, lambda job: "done"),
    )
    mark(store)
    queue.wake(KEY)
    queue.wake(KEY)  # a duplicate wake-up finds the PR clean
    huey = queue.huey
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    with store.begin() as conn:
        assert len(runs.for_pull(conn, KEY)) == 1
        assert dirty.get(conn, KEY) is None


def test_a_merge_group_rides_the_queue_as_a_group_key(store, tmp_path):
    settings = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path}/q.sqlite3", "GATEBOT_QUEUE_NAME": "groups"}
    )
    seen: list[WorkKey] = []

    def pipeline(job: Job) -> str:
        seen.append(job.key)
        return "judged"

    queue = WorkQueue(
        make_huey(settings), store, debounce_seconds=0.0, worker=make_worker(store, pipeline)
    )
    group, pull = GroupKey("github", "acme/app", 7), KEY
    mark(store, group)
    mark(store, pull)
    assert queue.sweep(everything=True) == 2
    huey = queue.huey
    while (task := huey.dequeue()) is not None:
        # The task's arguments are the row's columns, as queued before keys had kinds.
        assert task.args in (("github-mq", "acme/app", 7), ("github", "acme/app", 7))
        huey.execute(task)
    assert len(seen) == 2 and set(seen) == {pull, group} and group != pull
    assert {type(key) for key in seen} == {PullKey, GroupKey}


# -- several worker processes on Redis + PostgreSQL ---------------------------


@pytest.mark.services
@pytest.mark.slow
def test_two_worker_processes_never_work_on_one_pr_at_once(
    gatebot, github_app_env, postgres_url, redis_queue, free_port
):
    redis_url, queue_name = redis_queue
    env = clean_env(
        **{
            **github_app_env,
            "GATEBOT_DATABASE_URL": postgres_url,
            "GATEBOT_PIPELINE": "support.pipelines:slow_pipeline",
        },
        GATEBOT_REDIS_URL=redis_url,
        GATEBOT_QUEUE_NAME=queue_name,
        GATEBOT_TEST_PIPELINE_SECONDS="0.25",
        GATEBOT_DEBOUNCE_SECONDS="0.2",
        GATEBOT_WORKER_THREADS="2",
        GATEBOT_SWEEP_SECONDS="1",
    )
    migrate = gatebot(["migrate"], env)
    assert migrate.proc.wait(60) == 0, migrate.output()
    workers = [gatebot(["worker"], env, name=f"worker{i}") for i in range(2)]
    web = gatebot(["serve", "--port", str(free_port)], env)
    base = f"http://127.0.0.1:{free_port}"
    web.wait_http(f"{base}/healthz")

    # Deliveries for four PRs, then duplicate wake-ups straight onto the queue
    # so that every worker thread races for the same PRs, then more deliveries
    # while runs are under way.
    secret = github_app_env["GITHUB_WEBHOOK_SECRET"]
    pulls = [with_pr_number(github_payload("pull_request/synchronize.1"), n) for n in range(1, 5)]
    for payload in pulls:
        assert send_github(base, "pull_request", payload, secret).status_code == 202
    store = Store(postgres_url)
    settings = Settings.model_validate(
        {"GATEBOT_REDIS_URL": redis_url, "GATEBOT_QUEUE_NAME": queue_name}
    )
    enqueue_only = WorkQueue(make_huey(settings), store, debounce_seconds=0)
    keys = [PullKey("github", "Codertocat/Hello-World", n) for n in range(1, 5)]
    for _ in range(8):
        for key in keys:
            enqueue_only.wake(key, delay=0)
    time.sleep(0.4)
    for payload in pulls:
        assert send_github(base, "pull_request", payload, secret).status_code == 202
    for _ in range(4):
        for key in keys:
            enqueue_only.wake(key, delay=0)

    kept = open_inbox(store)

    def all_done() -> bool:
        if kept.waiting():  # a delivery not yet taken in marks nothing yet
            return False
        with store.begin() as conn:
            if any(dirty.get(conn, key) is not None for key in keys):
                return False
            return all(r.finished_at is not None for r in runs.all_runs(conn))

    wait_until(all_done, timeout=30, message="PRs still dirty:\n" + workers[0].output())
    with store.begin() as conn:
        every = runs.all_runs(conn)
    assert {r.outcome for r in every} == {"ok"}
    for key in keys:
        mine = sorted(
            (r for r in every if (r.repo, r.number) == key[1:]), key=lambda r: r.started_at
        )
        assert mine, f"{key} never ran"
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.finished_at <= after.started_at, f"overlapping runs for {key}"
    processes = {r.worker.rsplit(":", 1)[0] for r in every}
    assert len(processes) == 2, "both worker processes should have taken PRs"
    store.close()
    for worker in workers:
        assert worker.stop() == 0


# -- releasing wake-ups at their due time ---------------------------------------


class HueyClock:
    """huey's own clock (naive UTC), held still unless moved."""

    def __init__(self, now) -> None:
        self.now = now

    def __call__(self):
        return self.now


def test_a_wake_up_is_handed_over_when_due_and_not_before(store, tmp_path):
    queue = sqlite_queue(store, tmp_path, "due", debounce=30.0)
    huey = queue.huey
    clock = HueyClock(huey._get_timestamp())
    scheduler = DueScheduler(huey, threading.Event(), queue.alarm, poll_seconds=600, clock=clock)
    assert scheduler.next_sleep() == 600  # nothing scheduled: the poll
    queue.wake(KEY)  # due in 30 s
    [scheduled] = huey.scheduled()
    due = scheduled.eta
    # It sleeps until the wake-up is due, not a second tick more...
    assert scheduler.next_sleep() == pytest.approx((due - clock.now).total_seconds(), abs=1e-3)
    clock.now = due - timedelta(milliseconds=1)
    assert scheduler.release_due() == 0
    assert huey.pending_count() == 0 and huey.scheduled_count() == 1
    assert scheduler.next_sleep() == pytest.approx(0.001, abs=1e-4)
    # ...and then hands it over, once.
    clock.now = due
    assert scheduler.release_due() == 1
    assert scheduler.release_due() == 0
    [task] = huey.pending()
    assert task.args == ("github", "acme/app", 7)
    assert huey.scheduled_count() == 0


class WatchedAlarm(Alarm):
    """An alarm that says how long its scheduler went to sleep for."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []
        self.asleep = threading.Event()

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.asleep.set()
        return super().sleep(seconds)


def test_a_sleeping_scheduler_is_woken_for_a_sooner_wake_up(store, tmp_path):
    queue = sqlite_queue(store, tmp_path, "sooner")
    huey = queue.huey
    alarm = queue.alarm = WatchedAlarm()
    stop = threading.Event()
    scheduler = DueScheduler(huey, stop, alarm, poll_seconds=3600)
    queue.wake(PullKey("github", "acme/app", 1), delay=3000)

    def run() -> None:
        while not stop.is_set():
            scheduler.loop()

    loop = threading.Thread(target=run, daemon=True)
    loop.start()
    try:
        # Asleep until the far wake-up is due...
        assert alarm.asleep.wait(10)
        assert alarm.sleeps[0] > 2900
        # ...it is woken for a sooner one, and hands it over.
        queue.wake(KEY, delay=0.001)
        wait_until(lambda: huey.pending_count() == 1, timeout=10)
        assert [t.args for t in huey.pending()] == [("github", "acme/app", 7)]
        assert huey.scheduled_count() == 1
    finally:
        stop.set()
        alarm.ring()
        loop.join(10)


@pytest.mark.services
def test_several_schedulers_on_one_redis_release_each_wake_up_once(store, redis_queue):
    redis_url, queue_name = redis_queue
    settings = Settings.model_validate(
        {"GATEBOT_REDIS_URL": redis_url, "GATEBOT_QUEUE_NAME": queue_name}
    )
    web = WorkQueue(make_huey(settings), store, debounce_seconds=0.05)
    keys = [PullKey("github", "acme/app", n) for n in range(1, 201)]
    for key in keys:
        web.wake(key)
    # Four consumer processes' schedulers, each with its own connection, all
    # releasing at once once everything is due.
    due = web.huey._get_timestamp() + timedelta(seconds=1)
    consumers = [WorkQueue(make_huey(settings), store, debounce_seconds=0.05) for _ in range(4)]
    schedulers = [
        DueScheduler(c.huey, threading.Event(), c.alarm, poll_seconds=1, clock=lambda: due)
        for c in consumers
    ]
    start = threading.Barrier(len(schedulers))
    released: list[int] = []

    def release(scheduler: DueScheduler) -> None:
        start.wait()
        for _ in range(20):
            released.append(scheduler.release_due())

    threads = [threading.Thread(target=release, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(released) == len(keys)
    queued = [t.args for t in web.huey.pending()]
    assert sorted(queued) == sorted(("github", "acme/app", n) for n in range(1, 201))
    assert web.huey.scheduled_count() == 0


def test_an_idle_worker_thread_is_rung_for_a_task_queued_in_its_process(store, tmp_path):
    seen: list[WorkKey] = []
    queue = sqlite_queue(store, tmp_path, "bell", debounce=0.0)
    queue.worker = make_worker(store, lambda job: seen.append(job.key) or "done")
    consumer = queue.consumer(workers=1)
    [(worker, _)] = consumer.worker_threads
    consumer.max_delay = worker.max_delay = 3600.0  # a poll would never come in time
    worker.delay = 3600.0
    # Started as huey's `start` does, without its signal handlers.
    consumer.scheduler.start()
    for _, thread in consumer.worker_threads:
        thread.start()
    try:
        mark(store)
        queue.wake(KEY, delay=0)
        wait_until(lambda: seen == [KEY], timeout=10)
    finally:
        consumer.stop(graceful=True)


def test_the_sqlite_queue_flushes_at_checkpoints_the_store_on_every_commit(store, tmp_path):
    queue = sqlite_queue(store, tmp_path, "sync")
    [(mode,)] = queue.huey.storage.sql("pragma synchronous", results=True)
    assert mode == 1  # NORMAL: a wake-up is a hint, its dirty mark is in the store
    with store.begin() as conn:
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL
