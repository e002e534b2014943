"""The metrics of several processes in one scrape, the directory they share, and the
store's queue read at scrape time."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.processes import clean_env

from bot import metrics, metrics_files
from bot.keys import PullKey
from bot.store import Store, dirty, utcnow

# A process that sets up the shared directory, counts `N` accepted deliveries and
# sets a live gauge, then waits until its standard input closes.
COUNTING = """\
import sys
from pathlib import Path
from bot import metrics_files
metrics_files.prepare(Path(sys.argv[1]))
from bot import metrics
metrics.DELIVERIES.labels(forge="github", event="push", outcome="accepted").inc(int(sys.argv[2]))
metrics.RATE_LIMIT_REMAINING.labels(forge="github", resource="core").set(int(sys.argv[2]))
print("counted", flush=True)
sys.stdin.read()
"""


class Counting:
    """One counting process, alive until `end()`."""

    def __init__(self, directory: Path, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", COUNTING, str(directory), str(count)],
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "counted"

    def end(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0


def scraped(directory: Path, monkeypatch: pytest.MonkeyPatch, store: Store | None = None):
    directory.mkdir(exist_ok=True)
    monkeypatch.setenv(metrics_files.VARIABLE, str(directory))
    body, content_type = metrics.exposition(store)
    assert content_type.startswith("text/plain")
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = sample.name + "".join(f",{k}={v}" for k, v in sorted(sample.labels.items()))
            found[key] = found.get(key, 0) + sample.value
    return found


ACCEPTED = "gatebot_deliveries_total,event=push,forge=github,outcome=accepted"
REMAINING = "gatebot_forge_rate_limit_remaining,forge=github,resource=core"


@pytest.mark.slow
def test_one_scrape_sums_the_processes_writing_into_the_directory(tmp_path, monkeypatch):
    shared = tmp_path / "metrics"
    first, second = Counting(shared, 2), Counting(shared, 3)
    try:
        assert scraped(shared, monkeypatch)[ACCEPTED] == 5
        first.end()
        # A process starting while another still runs keeps the dead one's counts.
        third = Counting(shared, 4)
        found = scraped(shared, monkeypatch)
        assert found[ACCEPTED] == 9
        assert found[REMAINING] == 4  # the latest value any process set
        third.end()
    finally:
        second.end()
    # The whole deployment stopped: the next start begins from zero.
    fresh = Counting(shared, 1)
    try:
        assert scraped(shared, monkeypatch)[ACCEPTED] == 1
    finally:
        fresh.end()


def test_the_operators_directory_is_used_as_given(tmp_path):
    given = tmp_path / "given"
    script = (
        "from pathlib import Path; from bot import metrics_files; "
        f"print(metrics_files.prepare(Path({str(tmp_path / 'default')!r})))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(given)), check=True)
    assert run.stdout.strip() == str(given)
    assert given.is_dir() and not (tmp_path / "default").exists()


def test_a_process_whose_metrics_exist_cannot_share_them_any_more(tmp_path):
    # This test process created them (bot.metrics is imported above) in memory.
    with pytest.raises(RuntimeError, match="before their directory was set up"):
        metrics_files.prepare(tmp_path)


def test_tidying_forgets_the_dead_and_empties_a_directory_nobody_lives_in(tmp_path):
    dead = _a_dead_pid()
    for name in (f"counter_{dead}.db", f"gauge_livesum_{dead}.db"):
        (tmp_path / name).write_bytes(b"")
    metrics_files.tidy(tmp_path)
    assert list(tmp_path.glob("*.db")) == []


def test_tidying_keeps_the_counters_of_the_dead_while_others_live(tmp_path):
    dead = _a_dead_pid()
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        names = (f"counter_{dead}.db", f"gauge_liveall_{dead}.db", f"counter_{alive.pid}.db")
        for name in names:
            (tmp_path / name).write_bytes(b"")
        metrics_files.tidy(tmp_path)
        assert sorted(p.name for p in tmp_path.glob("*.db")) == sorted(
            [f"counter_{dead}.db", f"counter_{alive.pid}.db"]
        )
    finally:
        alive.communicate(b"")


def _a_dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_queue_is_read_from_the_store_at_scrape_time(tmp_path, monkeypatch):
    store = Store(f"sqlite:///{tmp_path / 'gatebot.sqlite3'}")
    store.migrate()
    now = utcnow()
    with store.begin() as conn:
        dirty.mark(conn, PullKey("github", "acme/api", 1), now - timedelta(seconds=90))
        dirty.mark(conn, PullKey("github", "acme/api", 2), now - timedelta(seconds=5))
        dirty.mark(conn, PullKey("gitlab", "acme/web", 3), now - timedelta(seconds=30))
    found = scraped(tmp_path / "metrics", monkeypatch, store)
    assert found["gatebot_queue_depth,forge=github"] == 2
    assert found["gatebot_queue_depth,forge=gitlab"] == 1
    assert 90 <= found["gatebot_oldest_mark_age_seconds,forge=github"] < 120
    assert 30 <= found["gatebot_oldest_mark_age_seconds,forge=gitlab"] < 60
    with store.begin() as conn:
        dirty.mark(conn, PullKey("github", "acme/api", 4), now)
    assert scraped(tmp_path / "metrics", monkeypatch, store)["gatebot_queue_depth,forge=github"] == 3
    store.close()


@pytest.mark.parametrize(
    ("outcome", "label"),
    [("merged", "merged"), ("not deployed", "not_deployed"), ("head moved", "head_moved")],
)
def test_outcomes_become_label_values(outcome, label):
    assert metrics.label(outcome) == label
