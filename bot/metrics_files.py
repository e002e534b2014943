"""The directory where every gatebot process of one host writes its metrics.

prometheus_client's multi-process mode keeps each process's counters in
memory-mapped files under `PROMETHEUS_MULTIPROC_DIR`, and a scrape sums
them, so `/metrics` answered by any gunicorn worker (or by `gatebot serve`)
includes what `gatebot worker` processes counted. The library decides the
mode when it is first imported, and a metric keeps the mode it was created
in, so `prepare` runs before anything imports `bot.metrics`: the CLI calls
it for `serve` and `worker` once the settings are checked, the gunicorn
configuration (`bot.gunicorn_config`) in the master before it
forks.

`PROMETHEUS_MULTIPROC_DIR` set by the operator is used as it is; unset,
gatebot uses `Settings.metrics_directory()` (beside the SQLite store, so the
processes sharing a store share it). On start, under a lock: when no
process that wrote there is alive, the directory is emptied (the whole
deployment restarted: counters start again from zero, which Prometheus
reads as a reset); otherwise the live gauges of the dead processes are
dropped (`mark_process_dead`) and their counters kept, so totals never go
backwards while others run. gunicorn's `child_exit` hook does the same for
each worker it reaps.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


def prepare(default: Path) -> Path:
    """Make sure this process writes its metrics to the shared directory (the
    operator's `PROMETHEUS_MULTIPROC_DIR`, else `default`), tidied; returns it."""
    if "bot.metrics" in sys.modules:
        raise RuntimeError(
            "gatebot's metrics were created before their directory was set up; "
            "this process's metrics would not be shared"
        )
    given = os.environ.get(VARIABLE)
    directory = Path(given) if given else default
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[VARIABLE] = str(directory)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # The library picked its value class when it was imported (say, by a client
        # library); no metric exists yet, so the choice can still be made again.
        values.ValueClass = values.get_value_class()
    # No metric of this process exists yet: files under its own pid were left by
    # an earlier process (containers reuse pids).
    tidy(directory, counting=False)
    return directory


def tidy(directory: Path, *, counting: bool = True) -> None:
    """Empty `directory` if no process that wrote there lives, else forget the dead;
    `counting`: whether this process may have written there already."""
    from prometheus_client import multiprocess

    with open(directory / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = list(directory.glob("*.db"))
        pids = {int(m.group(1)) for f in files if (m := _PID.search(f.name))}
        dead = {pid for pid in pids if not _alive(pid, counting)}
        if dead == pids:
            for f in files:
                f.unlink(missing_ok=True)
            return
        for pid in dead:
            multiprocess.mark_process_dead(pid, str(directory))


def mark_dead(pid: int) -> None:
    """Drop the live gauges of a process that ended (gunicorn's `child_exit`)."""
    directory = os.environ.get(VARIABLE)
    if directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, directory)


def _alive(pid: int, counting: bool) -> bool:
    if pid == os.getpid():
        return counting
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
