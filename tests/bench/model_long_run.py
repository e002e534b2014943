"""The model of the whole gate, run for a long time (nightly): tests/model's machine
against the fake GitHub, batch after batch of seeded examples.

Run: .venv/bin/python tests/bench/model_long_run.py --minutes 30 --seed 1
Not part of the test run. Each batch `b` uses the seed `seed + b`, so a run is
reproduced by its seed and minutes (on the same code). Prints, per batch, the
sequences and steps covered; every failure hypothesis shrank (a bypass candidate:
the steps that lead to it, ready to become a regression test); and at the end
the totals, the rules exercised and the findings (gatebot stricter than the
oracle). Exits 1 if any batch failed.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import traceback
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import seed as with_seed  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from model.github_driver import GitHubRig  # noqa: E402
from model.machine import COVERAGE, machine_for, report  # noqa: E402


def _described(exc: BaseException) -> list[str]:
    """Each failure with the steps hypothesis shrank it to (its notes); several at once
    come as an exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return [line for inner in exc.exceptions for line in _described(inner)]
    notes = "\n".join(getattr(exc, "__notes__", []))
    return [*traceback.format_exception_only(exc), notes, "\n"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=100, help="examples per batch")
    parser.add_argument("--steps", type=int, default=60, help="at most this many steps each")
    args = parser.parse_args()

    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    failures: list[str] = []
    batch = 0
    rig = GitHubRig()
    try:
        while time.monotonic() < deadline:
            machine = with_seed(args.seed + batch)(machine_for(rig.driver))
            profile = settings(
                max_examples=args.examples,
                stateful_step_count=args.steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            shrunk = io.StringIO()
            try:
                with redirect_stdout(shrunk):
                    run_state_machine_as_test(machine, settings=profile)
            except Exception as exc:  # noqa: BLE001 - report every failure, then go on
                text = "".join(_described(exc)) + shrunk.getvalue()
                failures.append(f"batch {batch} (seed {args.seed + batch}):\n{text}")
                print(f"FAILURE in batch {batch}:\n{text}", flush=True)
            print(
                f"batch {batch} (seed {args.seed + batch}) done: {COVERAGE['sequences']} sequences,"
                f" {COVERAGE['steps']} steps, {(time.monotonic() - started) / 60:.1f} min",
                flush=True,
            )
            batch += 1
    finally:
        rig.close()
    print(f"\nseed {args.seed}, {batch} batches, {(time.monotonic() - started) / 60:.1f} minutes")
    print(report())
    print(f"failures: {len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
