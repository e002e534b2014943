"""Benchmark: scale-out — 2 gunicorn web processes and 1, then 2 `gatebot worker`
processes on PostgreSQL and Redis, against the fake GitHub answering every request
50 ms late; then the same with a worker SIGKILLed and PostgreSQL restarted mid-run.

Full run (500 PRs x 4 events, each delivery sent twice; about 7 minutes on a
busy 2-core machine):

    .venv/bin/python tests/bench/bench_scale.py

Smaller: `--prs 50 --events 2`; `--no-chaos` leaves out the chaos run,
`--only-chaos` runs it alone, `--logs DIR` keeps every process's log,
`--latency` and `--timeout` (seconds a run may take to settle) change those.
Needs PostgreSQL on 127.0.0.1:5432 (a fresh database is created and dropped;
the chaos run stops and starts the machine's cluster with `pg_ctlcluster`, and
starts it again whatever happens) and Redis on 127.0.0.1:6379 (a fresh queue
name, its keys deleted after).

The set-up is the Procfile's: `gatebot migrate` (its `release`), two gunicorn
`web` lines (one worker each, each on its own port; every delivery goes to one
and its second sending to the other) and `gatebot worker` processes, all
configured as the fake's GitHub App. Each run gets a repository of its own with
the one-approval policy and one required check. Per PR, in four rounds over all
PRs: open it (`pull_request.opened`), submit a review (`pull_request_review`: a
writer approves, or for every fifth PR a reader does, which counts for nothing),
complete the check (`check_run.completed`: every seventh PR's fails) and add a
label (`pull_request.labeled`). Each event is POSTed twice under one delivery id,
by 8 sending threads, and logged in the fake's App webhook delivery log, so the
catch-up can redeliver what was refused. The fake's rate limit is raised: the
run sends GitHub more requests in minutes than an installation may in an hour.

Figures per run: evaluations/s end to end (runs the store recorded as done,
from the first delivery to the last status the bot posted; with the bench, the
web tier, the fake and the workers sharing two cores, the delivery pace bounds
it), events/s, requests to GitHub per evaluation, the backlog drain (the
workers stopped, one more event per PR delivered — the label removed again —
then the workers started: evaluations/s from their start to the last run's
end, the workers' own pace), the peak RSS (VmHWM) of every process, and the
counts that must be 0: duplicates (a head given the same verdict twice in a
row, an event accepted twice) and losses (a PR whose last status is not the
verdict its final state deserves, an event refused and never brought back, an
event answered 202 but not recorded). Before the runs, one PR is evaluated
alone to count the round trips of an evaluation (its requests that waited one
after another), cold and warm. The chaos run SIGKILLs one worker a third of
the way through the events (a replacement starts 2 s later, and again each
second while it exits at start because the database is down), and stops
PostgreSQL for 3 s half way: the web tier must answer 503 meanwhile, never
500, and the catch-up (every 5 s here) brings the refused deliveries back.

Prints one line per run and, last, a JSON line with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench_ingest import free_port, procfile_command, services_available, wait_ready

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import FakeGitHub  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from support.bench_counts import (  # noqa: E402
    PullFacts,
    accepted_twice,
    expected_state,
    refused_events,
    repeated_posts,
)
from support.e2e import MAIN, service_env  # noqa: E402
from support.fakes.recording import RecordedRequest, round_trips  # noqa: E402
from support.policies import ONE_APPROVAL  # noqa: E402
from support.processes import GatebotProcess  # noqa: E402

from bot.store import runs  # noqa: E402

BIN = Path(sys.executable).parent
ORG = "bench"
CHECK = "ci / test"
POLICY = ONE_APPROVAL + f'checks:\n  - "{CHECK}"\n'
WRITER, READER = "walt", "rita"
EVENTS = ("opened", "review", "check", "label")
SENDERS = 8
PG_DOWN_SECONDS = 3.0
PG_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]

SETTINGS = dict(
    WEB_CONCURRENCY="1",
    GATEBOT_WORKER_THREADS="8",
    GATEBOT_SWEEP_SECONDS="1",
    GATEBOT_LEASE_SECONDS="10",
    GATEBOT_CATCHUP_SECONDS="5",
    GATEBOT_CATCHUP_REQUESTS="1000",
    GATEBOT_REDELIVER_PAGES_PER_ROUND="100",
    GATEBOT_REDELIVER_ASKS_PER_ROUND="1000",
    GATEBOT_FAILURE_BACKOFF_SECONDS="1",
    GATEBOT_FAILURE_BACKOFF_MAX_SECONDS="4",
    GATEBOT_DEBOUNCE_SECONDS="1",
)
"""Beyond the App's settings (`support.e2e.service_env`, which zeroes PyGithub's own
pauses: the fake's latency stands for the network): one gunicorn worker per web
process, leases, sweeps, back-off and catch-up rounds short enough for a run of
minutes."""


# -- processes and their memory ------------------------------------------------------------


def vm_hwm_kb(pid: int) -> int:
    """The peak resident set of a live process (VmHWM), in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class Peaks:
    """The highest VmHWM seen per process name, in MB."""

    mb: dict[str, float] = field(default_factory=dict)

    def note(self, name: str, pid: int) -> None:
        seen = round(vm_hwm_kb(pid) / 1024, 1)
        self.mb[name] = max(self.mb.get(name, 0.0), seen)


class Web:
    """One gunicorn started from the Procfile's `web` line on its own port."""

    def __init__(self, index: int, env: dict[str, str], workdir: Path) -> None:
        self.index = index
        self.port = free_port()
        self.log = workdir / f"web{index}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                procfile_command("web", self.port),
                shell=True,
                env=env,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(self.port, self.proc, self.log)
        self.url = f"http://127.0.0.1:{self.port}/webhooks/github"

    def note(self, peaks: Peaks) -> None:
        # The Procfile line runs under `sh -c`, which may or may not exec gunicorn.
        master = self.proc.pid
        if Path(f"/proc/{master}/comm").read_text().strip() in ("sh", "dash", "bash"):
            master = children(master)[0]
        peaks.note(f"web{self.index} gunicorn master", master)
        for worker in children(master):
            peaks.note(f"web{self.index} gunicorn worker", worker)

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


class Workers:
    """The `gatebot worker` processes of a run, by name."""

    def __init__(self, label: str, env: dict[str, str], workdir: Path, peaks: Peaks) -> None:
        self.label = label
        self.env = env
        self.workdir = workdir
        self.peaks = peaks
        self.running: dict[str, GatebotProcess] = {}
        self.started = 0

    def start(self) -> str:
        self.started += 1
        name = f"{self.label}: worker{self.started}"
        log = self.workdir / f"{self.label.replace(' ', '-')}-worker{self.started}.log"
        self.running[name] = GatebotProcess(["worker"], self.env, cwd=self.workdir, log_path=log)
        return name

    def up(self, name: str) -> bool:
        """Wait until the worker's consumer runs; False if the process exited first (the
        store unreachable at its start, for one), and it is forgotten."""
        proc = self.running[name]
        deadline = time.monotonic() + 30
        while "consumer started" not in proc.output():
            if proc.proc.poll() is not None:
                self.running.pop(name).stop()
                return False
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{proc.output()[-3000:]}")
            time.sleep(0.1)
        return True

    def wait_up(self, name: str) -> None:
        if not self.up(name):
            raise SystemExit(f"{name} exited at its start; see its log in --logs")

    def supervise(self) -> tuple[str, int]:
        """Start a worker as a process manager would: again a second after each exit at
        start; (its name, how many starts failed before)."""
        failed = 0
        while not self.up(name := self.start()):
            failed += 1
            time.sleep(1)
        return name, failed

    def note(self) -> None:
        for name, proc in self.running.items():
            self.peaks.note(name, proc.proc.pid)

    def kill(self, name: str) -> None:
        self.note()
        self.running.pop(name).kill()

    def stop_all(self) -> None:
        self.note()
        for proc in self.running.values():
            proc.stop()
        self.running.clear()


# -- PostgreSQL ---------------------------------------------------------------------------


def pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def pg_cluster(action: str) -> None:
    subprocess.run([*PG_CLUSTER, pg_version(), "main", action], check=True, capture_output=True)


def pg_running() -> bool:
    found = subprocess.run([*PG_CLUSTER, pg_version(), "main", "status"], capture_output=True)
    return found.returncode == 0


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh database, dropped after; its URL. The cluster is left running."""
    name = f"gatebot_scale_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        if not pg_running():
            pg_cluster("start")
        admin.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_queue(redis_url: str, queue: str) -> None:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"huey.*{queue}*"))
    if keys:
        client.delete(*keys)
    client.close()


# -- one run --------------------------------------------------------------------------------


@dataclass
class Load:
    fake: FakeGitHub
    repo: str
    prs: int
    events: int
    webs: list[Web]
    facts: dict[int, PullFacts] = field(default_factory=dict)
    sent: int = 0
    answers: dict[int, int] = field(default_factory=dict)
    accepted_guids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return self.prs * self.events

    def prepare(self) -> None:
        self.fake.add_repo(self.repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
        self.fake.set_role(self.repo, WRITER, "write")
        self.fake.set_role(self.repo, READER, "read")

    def step(self, number: int, event: str) -> None:
        """Change PR `number` as `event` says, then deliver the event twice."""
        fake, repo = self.fake, self.repo
        facts = self.facts.get(number, PullFacts(approved_by_writer=False, check=None))
        if event == "opened":
            fake.open_pr(repo, number, contents={f"src/f{number}.py": f"{number}\n"})
            payload = fake.webhook("pull_request", "opened", repo, number)
        elif event == "review":
            writer = number % 5 != 0
            fake.add_review(repo, number, WRITER if writer else READER)
            facts = PullFacts(writer, facts.check)
            payload = fake.webhook("pull_request_review", "submitted", repo, number)
        elif event == "check":
            conclusion = "failure" if number % 7 == 0 else "success"
            run = fake.set_check_run(repo, fake.pr(repo, number).head_sha, CHECK,
                                     conclusion=conclusion)
            facts = PullFacts(facts.approved_by_writer, conclusion)
            payload = fake.webhook("check_run", "completed", repo, check_run_id=run.id)
        else:
            fake.add_label(repo, number, "ready")
            payload = fake.webhook("pull_request", "labeled", repo, number, label="ready")
        with self.lock:
            self.facts[number] = facts
        first = self.webs[number % len(self.webs)].url
        second = self.webs[(number + 1) % len(self.webs)].url
        delivery, response = fake.send_webhook(*payload, url=first)
        _, again = fake.send_webhook(*payload, url=second, guid=delivery.guid)
        with self.lock:
            self.sent += 1
            for answer in (response, again):
                code = answer.status_code if answer is not None else 0
                self.answers[code] = self.answers.get(code, 0) + 1
                if code == 202:
                    self.accepted_guids.add(delivery.guid)

    def unlabel_all(self) -> None:
        """Remove every PR's label and deliver `unlabeled` twice: one more evaluation per
        PR, its verdict unchanged."""

        def unlabel(number: int) -> None:
            self.fake.remove_label(self.repo, number, "ready")
            payload = self.fake.webhook(
                "pull_request", "unlabeled", self.repo, number, label="ready"
            )
            delivery, _ = self.fake.send_webhook(*payload, url=self.webs[0].url)
            self.fake.send_webhook(*payload, url=self.webs[1].url, guid=delivery.guid)

        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(unlabel, range(1, self.prs + 1)))

    def drive(self) -> None:
        with ThreadPoolExecutor(SENDERS) as pool:
            for event in EVENTS[: self.events]:
                list(pool.map(lambda n, e=event: self.step(n, e), range(1, self.prs + 1)))


def unsettled(db_url: str, repo: str) -> int:
    """PRs of `repo` still marked dirty — waiting, or being worked on (a run clears its
    mark only when it ends; a run a killed worker left unfinished keeps its mark) —
    and deliveries answered but not yet taken in from the inbox (they mark PRs once
    a worker takes them in; the one run at a time is this run's)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            marked = conn.execute(
                text("SELECT count(*) FROM dirty_pulls WHERE repo = :r"), {"r": repo}
            ).scalar_one()
            kept = conn.execute(
                text("SELECT count(*) FROM inbox WHERE taken_at IS NULL")
            ).scalar_one()
        return int(marked) + int(kept)
    finally:
        engine.dispose()


def last_finished(db_url: str, repo: str) -> tuple[int, float]:
    """(runs of `repo` that evaluated, when the last one finished, as a Unix time)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            found, last = conn.execute(
                text("SELECT count(*), max(finished_at) FROM runs WHERE repo = :r"
                     " AND outcome = :ok"),
                {"r": repo, "ok": runs.OK},
            ).one()
        return int(found), last.timestamp() if last is not None else 0.0
    finally:
        engine.dispose()


def drain(
    load: Load, workers: Workers, worker_count: int, db_url: str, timeout: float
) -> dict[str, object]:
    """The workers' own pace: with them stopped, every PR gets one more event; then they
    start on the backlog, timed from their consumers running to the last run's end."""
    workers.stop_all()
    before, _ = last_finished(db_url, load.repo)
    load.unlabel_all()
    names = [workers.start() for _ in range(worker_count)]
    for name in names:
        workers.wait_up(name)
    began = time.time()
    deadline = time.monotonic() + timeout
    while unsettled(db_url, load.repo) and time.monotonic() < deadline:
        workers.note()
        time.sleep(0.2)
    done, last = last_finished(db_url, load.repo)
    evaluations = done - before
    seconds = max(last - began, 0.001)
    return {
        "evaluations": evaluations,
        "seconds": round(seconds, 2),
        "evaluations_per_second": round(evaluations / seconds, 1),
        "settled": unsettled(db_url, load.repo) == 0,
    }


def store_counts(db_url: str, repo: str, guids: set[str]) -> tuple[int, int, int]:
    """(runs of `repo` that evaluated, runs that failed — the store down mid-run —, how
    many of `guids` the deliveries table lacks)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            outcomes = dict(
                conn.execute(
                    text("SELECT outcome, count(*) FROM runs WHERE repo = :r"
                         " AND finished_at IS NOT NULL GROUP BY outcome"),
                    {"r": repo},
                ).all()
            )
            recorded = {
                row[0]
                for row in conn.execute(
                    text("SELECT delivery_id FROM deliveries WHERE repo = :r"), {"r": repo}
                )
            }
        failed = sum(int(n) for outcome, n in outcomes.items() if outcome != runs.OK)
        return int(outcomes.get(runs.OK, 0)), failed, len(guids - recorded)
    finally:
        engine.dispose()


def wait_settled(
    load: Load, db_url: str, timeout: float, every: Callable[[], None]
) -> bool:
    """Until no PR of the run is marked or being worked on and no refused event waits for
    its redelivery, twice in a row a second apart (a catch-up round may mark more)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        every()
        attempts = [(d.guid, d.status_code) for d in load.fake.hook_deliveries()]
        waiting = refused_events(attempts).lost
        quiet = quiet + 1 if unsettled(db_url, load.repo) == 0 and waiting == 0 else 0
        if quiet >= 2:
            return True
        time.sleep(1.0)
    return False


def count(load: Load, db_url: str, began: float, settled: bool) -> dict[str, object]:
    fake, repo = load.fake, load.repo
    posts = [
        r for r in fake.requests
        if r.method == "POST" and r.path.startswith(f"/repos/{repo}/statuses/")
    ]
    last_post = max((r.ended for r in posts), default=time.monotonic())
    elapsed = last_post - began
    losses = repeated = 0
    for number, facts in load.facts.items():
        sha = fake.pr(repo, number).head_sha
        mine = [s for s in fake.statuses(repo, sha) if s.context == MAIN]
        repeated += repeated_posts([(s.state, s.description) for s in mine])
        if not mine or mine[-1].state != expected_state(facts):
            losses += 1
    attempts = [
        (d.guid, d.status_code)
        for d in fake.hook_deliveries()
        if d.repository_id == fake.repo(repo).id
    ]
    refused = refused_events(attempts)
    finished, failed, unrecorded = store_counts(db_url, repo, load.accepted_guids)
    to_github = [r for r in fake.requests if about(r, repo)]
    counted = [r for r in to_github if r.status != 304]
    return {
        "prs": load.prs,
        "events": load.total,
        "deliveries_sent": 2 * load.total,
        "answers": {str(k): v for k, v in sorted(load.answers.items())},
        "settled": settled,
        "seconds": round(elapsed, 2),
        "evaluations": finished,
        "failed_runs": failed,
        "evaluations_per_second": round(finished / elapsed, 1),
        "events_per_second": round(load.total / elapsed, 1),
        "requests_to_github": len(to_github),
        "requests_per_evaluation": round(len(to_github) / max(finished, 1), 1),
        "counted_per_evaluation": round(len(counted) / max(finished, 1), 2),
        "duplicates": {"repeated_status": repeated, "accepted_twice": accepted_twice(attempts)},
        "losses": {
            "wrong_final_status": losses,
            "refused_never_recovered": refused.lost,
            "accepted_not_recorded": unrecorded,
        },
        "answered_500": load.answers.get(500, 0),
        "refused_by_web": refused.refused,
        "refused_recovered": refused.recovered,
        "redeliveries_asked": len(fake.redeliveries_asked),
    }


def about(request: RecordedRequest, repo: str) -> bool:
    """A request about `repo`: a REST path under it, or a GraphQL query naming it."""
    if request.path.startswith(f"/repos/{repo}/"):
        return True
    if request.operation_id != "graphql":
        return False
    variables = (request.json or {}).get("variables") or {}
    return f"{variables.get('owner')}/{variables.get('name')}" == repo


def probe_round_trips(fake: FakeGitHub, webs: list[Web], db_url: str) -> dict[str, object]:
    """One PR evaluated alone, cold (nothing cached) then warm (a review): its requests to
    GitHub and their round trips."""
    repo = f"{ORG}/probe"
    fake.add_repo(repo, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
    fake.set_role(repo, WRITER, "write")
    fake.open_pr(repo, 1, contents={"src/one.py": "1\n"})
    figures: dict[str, object] = {}
    for label, change, event in (
        ("cold", lambda: None, ("pull_request", "opened")),
        ("warm", lambda: fake.add_review(repo, 1, WRITER), ("pull_request_review", "submitted")),
    ):
        change()
        began = time.monotonic()
        fake.send_webhook(*fake.webhook(*event, repo, 1), url=webs[0].url)
        deadline = time.monotonic() + 60
        # Settled: the PR is clean again and its verdict for this state was posted.
        time.sleep(0.5)
        while unsettled(db_url, repo) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The evaluation's requests: about the repository, but for the catch-up's list.
        mine = [
            r for r in fake.requests
            if r.started >= began and about(r, repo) and r.operation_id != "pulls/list"
        ]
        figures[label] = {
            "requests": len(mine),
            "counted": sum(1 for r in mine if r.status != 304),
            "round_trips": round_trips((r.started, r.ended) for r in mine),
        }
    return figures


@dataclass
class Chaos:
    """Acts at fractions of the events sent: SIGKILLs a worker (a third of the way) and
    starts another 2 s later; stops PostgreSQL (half way) for `PG_DOWN_SECONDS` and
    starts it again, noting what the web tier answered meanwhile."""

    load: Load
    workers: Workers
    events: list[str] = field(default_factory=list)
    pg_down_seconds: float = 0.0
    answers_while_down: dict[int, int] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for act in (self._kill_a_worker, self._restart_postgresql):
            thread = threading.Thread(target=act, name=act.__name__, daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(120)

    def _at(self, fraction: float) -> str:
        while self.load.sent < self.load.total * fraction:
            time.sleep(0.02)
        return f"at {self.load.sent}/{self.load.total} events"

    def _kill_a_worker(self) -> None:
        when = self._at(1 / 3)
        victim = next(iter(self.workers.running))
        self.workers.kill(victim)
        self.events.append(f"SIGKILL {victim} {when}")
        time.sleep(2)
        replacement, failed = self.workers.supervise()
        self.events.append(
            f"{replacement} started in its place"
            + (f" (after {failed} start(s) that exited: the store was down)" if failed else "")
        )

    def _restart_postgresql(self) -> None:
        when = self._at(1 / 2)
        before = dict(self.load.answers)
        stopped = time.monotonic()
        pg_cluster("stop")
        self.events.append(f"PostgreSQL stopped {when}")
        try:
            time.sleep(PG_DOWN_SECONDS)
        finally:
            pg_cluster("start")
        self.pg_down_seconds = round(time.monotonic() - stopped, 1)
        self.events.append(f"PostgreSQL running again {self.pg_down_seconds} s after the stop")
        after = dict(self.load.answers)
        self.answers_while_down = {
            code: after.get(code, 0) - before.get(code, 0)
            for code in sorted(after)
            if after.get(code, 0) != before.get(code, 0)
        }


def run(
    label: str,
    fake: FakeGitHub,
    webs: list[Web],
    env: dict[str, str],
    workdir: Path,
    peaks: Peaks,
    db_url: str,
    args: argparse.Namespace,
    worker_count: int,
    chaos: bool = False,
) -> dict[str, object]:
    workers = Workers(label, env, workdir, peaks)
    load = Load(fake, f"{ORG}/{label.replace(' ', '-')}", args.prs, args.events, webs)
    load.prepare()
    for name in [workers.start() for _ in range(worker_count)]:
        workers.wait_up(name)
    chaos_run = Chaos(load, workers) if chaos else None
    began = time.monotonic()
    if chaos_run is not None:
        chaos_run.start()
    load.drive()
    if chaos_run is not None:
        chaos_run.join()
    settled = wait_settled(load, db_url, args.timeout, workers.note)
    figures = count(load, db_url, began, settled)
    if chaos_run is None:
        figures["backlog"] = drain(load, workers, worker_count, db_url, args.timeout)
    workers.stop_all()
    if chaos_run is not None:
        figures["chaos"] = chaos_run.events
        figures["postgresql_down_seconds"] = chaos_run.pg_down_seconds
        figures["answers_while_postgresql_down"] = {
            str(k): v for k, v in chaos_run.answers_while_down.items()
        }
    return figures


def line(label: str, f: dict) -> str:
    dup = sum(f["duplicates"].values())
    lost = sum(f["losses"].values())
    text_ = (
        f"{label:<22} {f['evaluations']:>5} evaluations in {f['seconds']:>6.1f} s:"
        f" {f['evaluations_per_second']:>6.1f} evaluations/s, {f['events_per_second']:>6.1f}"
        f" events/s, {f['requests_per_evaluation']} requests/evaluation"
        f" ({f['counted_per_evaluation']} counted by GitHub);"
        f" duplicates {dup}, losses {lost}, answers {f['answers']}"
        f" ({f['answered_500']} answered 500)"
    )
    if "chaos" in f:
        text_ += (
            f"\n{'':<22} {'; '.join(f['chaos'])}; {f['failed_runs']} runs failed;"
            f" answers meanwhile"
            f" {f['answers_while_postgresql_down']}; refused {f['refused_by_web']},"
            f" brought back {f['refused_recovered']} ({f['redeliveries_asked']} redeliveries)"
        )
    if not f["settled"]:
        text_ += "  (NOT SETTLED within the timeout)"
    if "backlog" in f:
        b = f["backlog"]
        text_ += (
            f"\n{'':<22} backlog of {b['evaluations']} PRs drained in {b['seconds']:.1f} s:"
            f" {b['evaluations_per_second']} evaluations/s"
            + ("" if b["settled"] else "  (NOT SETTLED within the timeout)")
        )
    return text_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=500)
    parser.add_argument("--events", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to settle a run")
    parser.add_argument("--no-chaos", action="store_true")
    parser.add_argument("--only-chaos", action="store_true", help="the chaos run alone")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    args = parser.parse_args()
    found = services_available()
    if found is None:
        raise SystemExit("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are needed")
    pg, redis_url = found
    queue = f"gatebotscale{secrets.token_hex(4)}"
    results: dict[str, object] = {
        "prs": args.prs,
        "events_per_pr": args.events,
        "latency_ms": args.latency * 1000,
    }
    started = time.monotonic()
    peaks = Peaks()
    with tempfile.TemporaryDirectory(prefix="gatebot-scale-") as tmp, scratch_database(pg) as db:
        workdir = Path(tmp)
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            workdir = args.logs.resolve()
        fake = FakeGitHub().start()
        webs: list[Web] = []
        try:
            # Every request of the run counts against the limit the answers report, and
            # the catch-up stops when it runs low: an hour's worth of GitHub's in minutes.
            fake.rate_limit = 10_000_000
            fake.add_installation(ORG)
            env = service_env(
                fake,
                workdir,
                free_port(),
                GATEBOT_DATABASE_URL=db,
                GATEBOT_REDIS_URL=redis_url,
                GATEBOT_QUEUE_NAME=queue,
                PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"),
                HOME=str(workdir),
                XDG_DATA_HOME=str(workdir),
                **SETTINGS,
            )
            env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
            subprocess.run(
                shlex.split(procfile_command("release", 0)), env=env, cwd=workdir, check=True,
                capture_output=True,
            )
            webs = [Web(i, env, workdir) for i in (1, 2)]
            fake.set_webhook_url(webs[0].url)
            fake.set_latency(args.latency)
            workers = Workers("probe", env, workdir, peaks)
            workers.wait_up(workers.start())
            results["one_evaluation"] = probe_round_trips(fake, webs, db)
            workers.stop_all()
            print(f"one evaluation alone: {results['one_evaluation']}", flush=True)

            plan = [] if args.only_chaos else [("1 worker", 1, False), ("2 workers", 2, False)]
            if not args.no_chaos:
                plan.append(("2 workers chaos", 2, True))
            for label, count_, chaos in plan:
                figures = run(label, fake, webs, env, workdir, peaks, db, args, count_, chaos)
                for web in webs:
                    web.note(peaks)
                results[label] = figures
                print(line(label, figures), flush=True)
        finally:
            for web in webs:
                web.note(peaks)
                web.stop()
            fake.stop()
            drop_queue(redis_url, queue)
    results["peak_rss_mb"] = peaks.mb
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    print("peak RSS (VmHWM, MB): " + ", ".join(f"{k} {v}" for k, v in peaks.mb.items()))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
