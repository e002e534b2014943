"""Benchmark: webhook-to-status latency and GitHub requests per evaluation.

Run: .venv/bin/python tests/bench/bench_gate_latency.py [--runs N] [--debounce S ...]

Starts the fake GitHub and a real `gatebot serve` (SQLite store, embedded
queue) as the App the fake knows, on 127.0.0.1, once per debounce value:
by default once, at the default debounce (`GATEBOT_DEBOUNCE_SECONDS`).
A wake-up is due a debounce after the webhook; what the figures add to it is
releasing it, taking it and evaluating the PR.
Each run opens a typical PR — a policy asking one approval from a write
collaborator and a green `ci / test`, two changed files, one approval, the
check run done — POSTs its signed `pull_request.opened` webhook and times
until the bot's `gatebot: main` status appears at the fake. Then the same
PR gets a second event that changes nothing (a label nobody asked about):
that evaluation's requests are the "unchanged" figure.

Requests per evaluation are read from the store (`bot.store.requests`: every
request the evaluation sent, counted at the HTTP layer), and again without the
304s, which GitHub does not count against the rate limit. Prints one line per
debounce setting and, last, a JSON line with all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from support.e2e import GateService  # noqa: E402
from support.policies import ONE_APPROVAL  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.store import requests as request_counts  # noqa: E402

DEFAULT_DEBOUNCE = Settings.model_fields["debounce_seconds"].default

POLICY = ONE_APPROVAL + """\
checks: ["ci / test"]
"""
REPO = "acme/bench"
TIMEOUT_S = 30.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def wait_for_status(gate: GateService, sha: str, count: int) -> float:
    """Poll the fake until `sha` carries `count` statuses of the bot; return when."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if len(gate.gate_statuses(REPO, sha)) >= count:
            return time.monotonic()
        time.sleep(0.002)
    raise SystemExit(f"no status on {sha[:7]} within {TIMEOUT_S}s:\n{gate.proc.output()[-3000:]}")


def evaluation_totals(gate: GateService, number: int) -> list[int]:
    with gate.store.begin() as conn:
        return [c.total for c in request_counts.for_pull(conn, "github", REPO, number)]


def evaluation_counted(gate: GateService, number: int) -> list[int]:
    """Requests per evaluation GitHub counts against a rate limit: a 304 is not counted."""
    with gate.store.begin() as conn:
        stored = request_counts.for_pull(conn, "github", REPO, number)
    return [sum(1 for line in c.requests if not line.endswith("-> 304")) for c in stored]


def bench(debounce: float | None, runs: int) -> dict[str, object]:
    # The test service's environment sets a short debounce: give the default back.
    chosen = DEFAULT_DEBOUNCE if debounce is None else debounce
    with tempfile.TemporaryDirectory(prefix="gatebot-bench-") as workdir:
        gate = GateService.start(Path(workdir), GATEBOT_DEBOUNCE_SECONDS=str(chosen))
        try:
            fake = gate.fake
            fake.add_repo(REPO, files={".github/gatebot.yml": POLICY, "src/app.py": "1\n"})
            fake.set_role(REPO, "mia", "maintain")
            latencies: list[float] = []
            for number in range(1, runs + 1):
                pr = fake.open_pr(
                    REPO,
                    number,
                    author="alice",
                    commits=[{}, {}],
                    contents={"src/app.py": f"{number}\n", "docs/app.md": "# app\n"},
                )
                fake.add_review(REPO, number, "mia", "APPROVED")
                fake.set_check_run(REPO, pr.head_sha, "ci / test", app_slug="github-actions")
                started = time.monotonic()
                response = gate.send("pull_request", "opened", REPO, number)
                assert response.status_code == 202, response.text
                latencies.append(wait_for_status(gate, pr.head_sha, 1) - started)
                gate.settle(REPO, number)
                fake.add_label(REPO, number, "bench")
                gate.deliver("pull_request", "labeled", REPO, number)
            totals = [evaluation_totals(gate, n) for n in range(1, runs + 1)]
            counted = [evaluation_counted(gate, n) for n in range(1, runs + 1)]
            assert all(len(t) == 2 for t in totals), totals
            fake.assert_all_valid()
        finally:
            gate.stop()
    first = [t[0] for t in totals]
    return {
        "debounce_s": DEFAULT_DEBOUNCE if debounce is None else debounce,
        "default_settings": debounce is None,
        "runs": runs,
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "p90": round(percentile(latencies, 0.9) * 1000, 1),
            "min": round(min(latencies) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        "requests_per_evaluation": {
            "first_of_the_process": first[0],
            "new_pr_median": statistics.median(first[1:]) if len(first) > 1 else first[0],
            "unchanged_median": statistics.median(t[1] for t in totals),
        },
        "counted_per_evaluation": {
            "new_pr_median": statistics.median(c[0] for c in counted[1:])
            if len(counted) > 1
            else counted[0][0],
            "unchanged_median": statistics.median(c[1] for c in counted),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--debounce", type=float, nargs="+", default=[None],
        help="GATEBOT_DEBOUNCE_SECONDS values to measure (default: the default settings)",
    )
    args = parser.parse_args()
    results = [bench(debounce, args.runs) for debounce in args.debounce]
    for r in results:
        lat, req, cnt = r["latency_ms"], r["requests_per_evaluation"], r["counted_per_evaluation"]
        setting = " (default settings)" if r["default_settings"] else ""
        print(
            f"debounce {r['debounce_s']:>4} s{setting}: webhook-to-status median {lat['median']} ms"
            f" (p90 {lat['p90']}, min {lat['min']}, max {lat['max']}) over {r['runs']} PRs;"
            f" requests per evaluation: first {req['first_of_the_process']},"
            f" new PR {req['new_pr_median']}, unchanged {req['unchanged_median']};"
            f" counted by GitHub (no 304s): new PR {cnt['new_pr_median']},"
            f" unchanged {cnt['unchanged_median']}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
