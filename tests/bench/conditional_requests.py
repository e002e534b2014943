"""Benchmark: the requests an evaluation sends and the ones GitHub counts against the
rate limit, with conditional GETs; and the time a changed verdict's writes take with
PyGithub's production pause between writes, posted at once and one after the other.

Run: .venv/bin/python tests/bench/conditional_requests.py

Against the fake GitHub (its log is the wire; a 304 is not counted, as on
GitHub), for the typical PR of the budget tests (one approval by a maintainer,
one green check, two commits, two files), evaluated in turn:

- cold: nothing known;
- settling: right after the first verdict (its own status and check run, and
  GitHub's mergeability, changed what the PR's reads answer);
- quiet: nothing changed;
- directory expired: the same after the reviewer's role has left the
  directory cache;
- new review: a reviewer asks for changes.

Then the writes of a changed verdict with `GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES=1`
(PyGithub's default), a median of a few runs each way. Prints one line per
case and, last, a JSON line with all figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import FakeGitHub  # noqa: E402
from github_helpers import ONE_APPROVAL_AND_CI, REPO, Rig, backdate_pr, settings_for  # noqa: E402
from support.forge_rig import Clock, migrated_store  # noqa: E402

from bot.providers import parallel  # noqa: E402
from bot.providers.github import publish  # noqa: E402

WRITE_RUNS = 3


def typical_pr(fake: FakeGitHub, number: int) -> None:
    if REPO.lower() not in fake.world.repos:
        fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL_AND_CI})
    fake.set_role(REPO, "mia", "maintain")
    pr = fake.open_pr(REPO, number, author="alice", commits=[{}, {}],
                      contents={"src/app.py": "print(2)\n", "docs/app.md": "# app\n"})
    fake.add_review(REPO, number, "mia", "APPROVED")
    fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion="success", app_slug="ci")
    backdate_pr(fake, REPO, number)


def evaluations() -> dict[str, dict[str, int]]:
    figures: dict[str, dict[str, int]] = {}
    with FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(fake, Path(tmp))
        with migrated_store(settings) as store:
            rig = Rig(fake, store, settings, Clock())
            typical_pr(fake, 7)

            def measure(case: str) -> None:
                mark = fake.mark()
                done = rig.evaluate(7)
                sent = fake.requests_since(mark)
                figures[case] = {
                    "sent": len(sent),
                    "counted": fake.counted(mark),
                    "not_modified": sum(1 for r in sent if r.status == 304),
                }
                conditional = [f"{r.operation_id}" for r in sent if r.status == 304]
                print(f"{case:18s} {done.decision.state:8s} sent {len(sent):2d}  counted "
                      f"{figures[case]['counted']:2d}  304: {', '.join(conditional) or '-'}")

            measure("cold")
            measure("settling")
            measure("quiet")
            rig.clock.advance(seconds=settings.directory_cache_seconds + 1)
            measure("directory_expired")
            fake.add_review(REPO, 7, "noor", "CHANGES_REQUESTED")
            fake.set_role(REPO, "noor", "write")
            measure("new_review")
    return figures


# Stand-ins for `bot.providers.parallel` inside the publisher: its own, and one that
# sends the calls one after the other.
AT_ONCE = parallel
ONE_AFTER_THE_OTHER = SimpleNamespace(gather=lambda *calls: tuple(call() for call in calls))


def writes_ms(sending: Any) -> float:
    """Median time of publishing a changed verdict (status and check run) with a one
    second pause between writes."""
    samples = []
    for run in range(WRITE_RUNS):
        with FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(fake, Path(tmp), GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES="1")
            with migrated_store(settings) as store:
                rig = Rig(fake, store, settings, Clock())
                typical_pr(fake, 7 + run)
                original = publish.parallel
                publish.parallel = sending
                try:
                    timings: list[float] = []

                    def timed(ev: Any, timings: list[float] = timings) -> None:
                        timings.append(time.perf_counter())

                    done = rig.evaluate(7 + run, inside=timed)
                    samples.append((time.perf_counter() - timings[0]) * 1000)
                finally:
                    publish.parallel = original
                assert done.outcome is not None and done.outcome.check_run_posted
    return statistics.median(samples)


def main() -> None:
    figures: dict[str, Any] = evaluations()
    at_once = writes_ms(AT_ONCE)
    one_after_other = writes_ms(ONE_AFTER_THE_OTHER)
    print(f"changed verdict's writes, 1 s between writes: at once {at_once:.0f} ms, "
          f"one after the other {one_after_other:.0f} ms")
    figures["writes_ms"] = {"at_once": round(at_once), "one_after_other": round(one_after_other)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
