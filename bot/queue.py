"""The work queue: huey wake-up calls for dirty PRs (and merge-queue groups), and the sweeper.

The store is the truth about what needs work; a queued task only says "look
at PR X" (a `bot.keys.WorkKey`, in a task's arguments as the store writes
it in its rows: `bot.store.key_columns`). huey has no acknowledgements, so a task lost with a killed process
is made good by the sweeper, which re-queues dirty PRs nobody holds a lease
on — once at start-up and then every `GATEBOT_SWEEP_SECONDS`. PRs with a
merge intent whose answer was never settled (a crash mid-merge, a lost
answer) are marked dirty first, so their evaluation reconciles the intent
against the PR's real state before anything is retried.

Queues: `SqliteHuey` in a file beside the store (consumed inside `gatebot
serve`) or `RedisHuey` when `GATEBOT_REDIS_URL` is set (consumed by `gatebot
worker` processes). Wake-ups are scheduled `GATEBOT_DEBOUNCE_SECONDS` ahead,
so a burst of events for one PR finds it still queued and is handled by one
run; each consumer process releases them at their due time
(`bot.due_scheduler`) and its idle worker threads take them at once
(`bot.consumer`).

Webhook deliveries the web tier kept in the inbox are ingested here
(`inbox_drainer`, `bot.events.inbox_drain`), looked for every
`bot.events.inbox_drain.POLL_SECONDS`.

Beside the sweeper, `start_catch_up` runs the catch-up rounds (`bot/catchup`):
at start and then every `GATEBOT_CATCHUP_SECONDS`, PRs whose webhooks were
lost are marked and woken here; and the deploy follower
(`bot.pipeline.deploy_follow_loop`) follows started deployments to their end.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from datetime import timedelta

from huey import Huey, RedisHuey, SqliteHuey
from huey.storage import SqliteStorage
from huey.utils import normalize_time
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.catchup.loop import CatchUpLoop
from bot.catchup.round import CatchUp
from bot.catchup.steps import steps
from bot.consumer import GatebotConsumer
from bot.due_scheduler import Alarm
from bot.events import inbox_drain
from bot.events.github import GitHubRouting
from bot.events.gitlab import GitLabRouting
from bot.events.inbox_drain import InboxDrainer
from bot.events.ingestion import ForgeRouting
from bot.forges import GITHUB, GITLAB
from bot.keys import WorkKey
from bot.periodic import Periodic
from bot.pipeline.deploy_follow_loop import start_deploy_follower
from bot.settings import ConfigurationError, Mode, Settings
from bot.store import Store, dirty, merges, utcnow
from bot.store.inbox import Inbox, open_inbox
from bot.store.key_columns import columns, key_of
from bot.worker import Outcome, PullWorker, build_worker

log = logging.getLogger(__name__)

TASK_NAME = "gatebot.process_pull"

# How long past its due time a wake-up may be before the sweeper assumes it
# was lost: it is released at its due time and taken at once, unless every
# worker thread is busy.
SWEEP_GRACE_SECONDS = 5.0

# While tasks wait in the queue, a PR marked or swept less than this ago is
# not queued by a sweep: its wake-up may be among them (unless a worker took
# it and then lost its lease, or failed and backs off). Each copy costs a
# worker a claim, and queueing every overdue PR at every pass put a busy queue
# further behind at each (the scale benchmark's workers spent most of their
# time on copies). Once nothing waits, a PR still dirty and free has lost its
# wake-up and is queued at the next pass.
RESWEEP_SECONDS = 300.0

# How often a consumer's scheduler looks at the storage for wake-ups other
# processes scheduled (its own ring its alarm): the web processes, on Redis or
# beside `gatebot serve`'s consumer process on SQLite. Half of it is the mean
# delay it adds to a wake-up.
SCHEDULE_POLL_SECONDS = 0.05

# The consumer's interpreter switch interval (Python's default: 5 ms).
CONSUMER_SWITCH_INTERVAL_SECONDS = 0.0005

# huey storage failures; anything else is a bug and propagates.
QUEUE_ERRORS = (RedisError, sqlite3.Error)


class WakeUpFile(SqliteStorage):  # type: ignore[misc]  # huey is untyped
    """huey's SQLite queue, flushed to the disk at checkpoints rather than every commit.

    A wake-up is a hint, not the truth: the dirty mark it stands for is in the
    store (flushed on every commit), and the sweeper wakes a dirty PR whose
    wake-up was lost. In WAL mode `synchronous=NORMAL` loses the last commits
    only to a power cut, never to a crash of the process, and never corrupts
    the file; every wake-up then costs no flush of its own.
    """

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url is not None:
        return RedisHuey(name=settings.queue_name, url=settings.redis_url, results=False)
    path = settings.sqlite_queue_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name=settings.queue_name, filename=str(path), results=False, storage_class=WakeUpFile
    )


class WorkQueue:
    """Wake-ups for dirty PRs on one huey instance.

    Without a `worker` the queue can only enqueue (a web process); with one it
    can also execute the tasks (a consumer process).
    """

    def __init__(
        self,
        huey: Huey,
        store: Store,
        *,
        debounce_seconds: float,
        worker: PullWorker | None = None,
    ) -> None:
        self.huey = huey
        self.store = store
        self.debounce_seconds = debounce_seconds
        self.worker = worker
        # Rung on every wake-up scheduled here: this process's scheduler may
        # be asleep until a later one.
        self.alarm = Alarm()

        # Registered per instance: huey finds tasks by name, and no huey
        # object (nor the store behind it) is a module global.
        @huey.task(name=TASK_NAME)
        def process_pull(provider: str, repo: str, number: int) -> None:
            self.run(key_of(provider, repo, number))

        self._task = process_pull

    def wake(self, key: WorkKey, delay: float | None = None) -> bool:
        """Queue a look at `key`; False (logged) if the queue is unreachable.

        A lost wake-up costs latency, not work: the sweeper finds the PR.
        """
        delay = self.debounce_seconds if delay is None else delay
        args = columns(key)
        try:
            if delay > 0:
                # Straight onto the schedule: huey's own `schedule()` queues the
                # task for a worker thread to find it early and put it there.
                task = self._task.s(*args)
                task.eta = normalize_time(delay=delay, utc=self.huey.utc)
                self.huey.add_schedule(task)
                self.alarm.ring()
            else:
                self._task(*args)
        except QUEUE_ERRORS as exc:
            log.warning("could not queue %s (the sweeper will): %s", key, exc)
            return False
        return True

    def run(self, key: WorkKey) -> Outcome:
        if self.worker is None:
            raise RuntimeError("this process only enqueues; run `gatebot worker` to consume")
        outcome = self.worker.process(key)
        if outcome is Outcome.AGAIN:
            self.wake(key)
        return outcome

    def sweep(self, *, everything: bool = False) -> int:
        """Queue every dirty PR that nobody works on; return how many.

        At start-up (`everything`) that is all of them; later only those
        whose own wake-up is overdue, leaving out, while tasks wait in the
        queue, those whose wake-up may be among them (`RESWEEP_SECONDS`).
        """
        now = utcnow()
        dirty_before = (
            None
            if everything
            else now - timedelta(seconds=self.debounce_seconds + SWEEP_GRACE_SECONDS)
        )
        busy = not everything and self.huey.pending_count() > 0
        swept_before = now - timedelta(seconds=RESWEEP_SECONDS) if busy else None
        with self.store.begin() as conn:
            unsettled = {
                i.key: i.installation_id
                for i in merges.open_intents(conn)
                if dirty_before is None or i.updated_at <= dirty_before
            }
            fresh = dirty.mark_many(conn, unsettled, now, reset_backoff=False)
            keys = dirty.claimable(conn, now, dirty_before, swept_before=swept_before)
            keys += [k for k in fresh if k not in keys]
            dirty.swept(conn, keys, now)
        lost = [key for key in keys if not self.wake(key, delay=0)]
        if lost:
            # Not queued after all: the next pass must not leave them out.
            with self.store.begin() as conn:
                dirty.swept(conn, lost, None)
        if keys:
            log.info(
                "sweep queued %d dirty PR(s)%s",
                len(keys) - len(lost),
                " while tasks wait" if busy else "",
            )
        return len(keys) - len(lost)

    def ping(self) -> None:
        """Raise one of `QUEUE_ERRORS` if the queue's storage is unreachable."""
        storage = self.huey.storage
        if isinstance(self.huey, RedisHuey):
            storage.conn.ping()
        else:
            storage.queue_size()

    def consumer(self, workers: int) -> GatebotConsumer:
        # Due wake-ups are released at their due time and ring the idle worker
        # threads; `max_delay` only bounds how late a task another process
        # queued on SQLite is seen (on Redis the threads block on the read).
        return GatebotConsumer(
            self.huey,
            self.alarm,
            poll_seconds=SCHEDULE_POLL_SECONDS,
            worker_type="thread",
            workers=workers,
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=1.0,
            check_worker_health=True,
            shutdown_timeout=30,
        )


class Sweeper(Periodic):
    """Sweeps at start (everything dirty) and then every `interval` seconds (only what
    is overdue), on a `Periodic` thread: a pass the store or the queue failed is
    skipped, so marks left during an outage are swept once it is over."""

    def __init__(self, queue: WorkQueue, interval: float) -> None:
        self.queue = queue
        self._everything = True
        super().__init__("sweeper", interval, self._sweep, skips=QUEUE_ERRORS)

    def _sweep(self) -> None:
        self.queue.sweep(everything=self._everything)
        self._everything = False  # only once a sweep of everything went through


def run_worker(settings: Settings) -> int:
    """`gatebot worker`: consume the queue in this process until a signal."""
    if settings.mode is not Mode.FULL:
        raise ConfigurationError(
            "No forge is configured, so a worker has nothing to do; set GITHUB_APP_ID"
            " (or GITLAB_TOKEN) and the rest first."
        )
    store = Store(settings.database_url)
    if not store.is_current():
        raise ConfigurationError("The database is not migrated; run gatebot migrate first.")
    worker = build_worker(settings, store)
    queue = build_queue(settings, store, worker)
    # A worker thread in a store transaction lets the interpreter lock go at
    # every database call and then waits for it behind a thread that computes
    # (an evaluation): with the default 5 ms switch interval a transaction held
    # the store, and the webhooks waiting on it, many times longer than its work.
    sys.setswitchinterval(CONSUMER_SWITCH_INTERVAL_SECONDS)
    inbox = inbox_drainer(settings, store, queue, open_inbox(store))
    drainer = Periodic(
        "inbox", inbox_drain.POLL_SECONDS, inbox.drain_if_waiting, skips=(sqlite3.Error,)
    )
    drainer.start()
    sweeper = Sweeper(queue, settings.sweep_seconds)
    sweeper.start()
    catch_up = start_catch_up(settings, store, queue)
    follower = start_deploy_follower(settings, store)
    try:
        # Consumer.run installs its signal handlers and blocks until stopped.
        queue.consumer(settings.worker_threads).run()
    finally:
        drainer.stop()
        # What was kept until the stop is ingested and woken (onto the queue's storage).
        try:
            inbox.drain_if_waiting()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            log.warning(
                "the inbox was not drained at the stop (the next start will): %s",
                type(exc).__name__,
            )
        follower.stop()
        catch_up.stop()
        sweeper.stop()
        inbox.inbox.close()
        store.close()
    return 0


def build_queue(settings: Settings, store: Store, worker: PullWorker | None = None) -> WorkQueue:
    return WorkQueue(
        make_huey(settings), store, debounce_seconds=settings.debounce_seconds, worker=worker
    )


def inbox_drainer(settings: Settings, store: Store, queue: WorkQueue, inbox: Inbox) -> InboxDrainer:
    """Ingests the webhook deliveries kept in `inbox` and wakes the PRs they mark."""
    routings: dict[str, ForgeRouting] = {
        GITHUB.provider: GitHubRouting(settings.github_app_id),
        GITLAB.provider: GitLabRouting(),
    }
    return InboxDrainer(store, inbox, routings, queue.wake, settings.debounce_seconds)


def start_catch_up(settings: Settings, store: Store, queue: WorkQueue) -> CatchUpLoop:
    """Start the catch-up rounds; each PR a round marks is woken at once."""
    loop = CatchUpLoop(
        CatchUp(steps(settings, store, utcnow, wake=lambda key: queue.wake(key, delay=0))),
        store,
        settings.catchup_seconds,
        utcnow,
    )
    loop.start()
    return loop
