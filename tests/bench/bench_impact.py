"""Benchmark: the impact section of a policy PR over 200 open PRs.

Run: .venv/bin/python tests/bench/bench_impact.py
Not part of the test run. 200 open PRs into one base are saved in a SQLite
store as the pipeline saves them (snapshot, needs, policy); a proposed policy
raising the approvals from 1 to 2 and adding a path-scoped rule is then
tried on them the way a policy PR's evaluation does (`ImpactStep.section`:
read the rows, parse the snapshots, evaluate each PR under both policies,
sort), and, apart, the pure part alone (`bot.core.simulate.impact`).
Prints each median and, last, a JSON line
`{"pulls": 200, "section_ms": ..., "core_ms": ...}`. Target: section < 1 s.
The benchmark checks the changes it expects, so a fast wrong answer cannot
pass for a result.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from factories import changed, check, make_snapshot, policy, review  # noqa: E402
from support.policies import ONE_APPROVAL  # noqa: E402

from bot.core.gate_state import GateState  # noqa: E402
from bot.core.policy.evaluate import needs_for  # noqa: E402
from bot.core.simulate import Policies, StoredPull, impact  # noqa: E402
from bot.keys import PullKey  # noqa: E402
from bot.pipeline.impact import ImpactStep, Judged  # noqa: E402
from bot.store import Store  # noqa: E402

PULLS = 200
REPO = "acme/api"
CURRENT = ONE_APPROVAL + 'checks: ["ci / test"]\n'
PROPOSED = CURRENT.replace("approvals: 1", "approvals: 2").replace(
    "policy:\n  approval: [reviewed]\n", "policy:\n  approval: [reviewed, auth]\n"
).replace(
    "checks:",
    "  - name: auth\n"
    "    if:\n      changed_files: {paths: ['services/auth/**']}\n"
    "    requires:\n      approvals: 1\n      from: {teams: [acme/platform]}\n"
    "checks:",
)


def snapshot(number: int):
    """PRs of 20 files; every third approved twice, the others once; every tenth red."""
    area = "auth" if number % 4 == 0 else "api"
    approvers = ("bob", "dave") if number % 3 == 0 else ("bob",)
    return make_snapshot(
        number=number,
        files=tuple(changed(f"services/{area}/f{i}.py") for i in range(20)),
        reviews=tuple(review(login) for login in approvers),
        checks=(check("ci / test", "failure" if number % 10 == 0 else "success"),),
    )


def median_ms(run, times: int = 7) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    current, proposed = Policies(policy(CURRENT)), Policies(policy(PROPOSED))
    snapshots = [snapshot(n) for n in range(1, PULLS + 1)]
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        store.migrate()
        now = datetime.now(UTC)
        step = ImpactStep(store, forge=None, clock=lambda: now, delay_seconds=30)  # type: ignore[arg-type]
        judged = Judged("repository", ".github/gatebot.yml", CURRENT)
        # Stored as read for a policy needing what both do: no refresh from the forge here.
        needs = needs_for(current.policy, proposed.policy)
        for snap in snapshots:
            step.remember(PullKey("github", REPO, snap.number), snap, judged, needs, None, 1)
        policy_pr = PullKey("github", REPO, PULLS + 1)

        found = step.section(policy_pr, 1, "main", current, proposed, "base")
        # Red PRs fail either way; those approved by bob and dave (of acme/platform)
        # pass either way; the rest lack a second approval.
        expected = {n for n in range(1, PULLS + 1) if n % 10 and n % 3}
        assert {c.number for c in found.changes} == expected, "unexpected changes"
        assert all(c.after is GateState.PENDING for c in found.changes)
        section_ms = median_ms(lambda: step.section(policy_pr, 1, "main", current, proposed, "base"))
        store.close()
    pulls = [StoredPull(REPO, s) for s in snapshots]
    core_ms = median_ms(lambda: impact("main", current, proposed, pulls))
    print(f"{PULLS} open PRs, {len(found.changes)} would change")
    print(f"section (store read, parse, evaluate twice, sort)  median {section_ms:8.1f} ms")
    print(f"core alone (evaluate twice, sort)                  median {core_ms:8.1f} ms")
    print(json.dumps({"pulls": PULLS, "section_ms": round(section_ms, 1),
                      "core_ms": round(core_ms, 1)}))


if __name__ == "__main__":
    main()
