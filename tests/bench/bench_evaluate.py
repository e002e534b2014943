"""Benchmark: evaluation time of a typical and a worst-case pull request.

Run: .venv/bin/python tests/bench/bench_evaluate.py
Not part of the test run. Prints the typical and worst figures, the worst
case with a new file list every time, the growth sweep and, last, a JSON line
`{"typical_ms": ..., "worst_ms": ..., "worst_new_files_ms": ...}`: medians
with the policy already loaded (and compiled by its first evaluation),
snapshot to decision.

- typical: 40 files, 10 rules, 8 reviews;
- worst: 3,000 files, 60 path-scoped rules whose paths only match files at the
  end of the list, a 500-line CODEOWNERS with `code_owners` rules, 100 reviews,
  100 checks.

`typical` and `worst` evaluate the same pull request again, as the bot does on
every review, check and push: the glob and CODEOWNERS matches of its file list
come from their bounded memos. `worst_new_files` and the growth sweep give
every evaluation a file list not seen before, so all matching is done afresh.

Targets: typical <= 0.5 ms, worst <= 10 ms, growth no worse than linear in
files x rules. The benchmark asserts the verdict it expects, so a fast wrong
answer cannot pass for a result.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from factories import at, changed, check, make_snapshot, review  # noqa: E402

from bot.core.gate import decide  # noqa: E402
from bot.core.policy.evaluate import evaluate  # noqa: E402
from bot.core.policy.loader import load_policy_file  # noqa: E402
from bot.core.snapshot import Directory  # noqa: E402

TEAMS = 10


def _policy(rules: int, code_owner_rules: int) -> str:
    lines = ["version: 1", "policy:", "  approval:"]
    lines += [f"    - rule-{j}" for j in range(rules)]
    lines += [f"    - owners-{k}" for k in range(code_owner_rules)]
    lines.append("rules:")
    for j in range(rules):
        lines += [
            f"  - name: rule-{j}",
            "    if:",
            f'      changed_files: {{paths: ["services/svc{j}/**"], ignore: ["**/*.md"]}}',
            "    requires:",
            "      approvals: 1",
            f"      from: {{teams: [acme/team{j % TEAMS}]}}",
        ]
    for k in range(code_owner_rules):
        lines += [
            f"  - name: owners-{k}",
            "    requires:",
            "      approvals: 1",
            "      from: {code_owners: true}",
        ]
    lines += ['checks:', '  - "ci / *"', '  - {name: "lint", app: github-actions}']
    return "\n".join(lines) + "\n"


def _load(text: str):
    result = load_policy_file(text.encode(), "bench.yml")
    assert result.policy is not None, [p.format() for p in result.errors]
    return result.policy


def _directory(people: int) -> Directory:
    logins = [f"dev{i}" for i in range(people)]
    teams = {f"acme/team{t}": tuple(logins[t::TEAMS]) for t in range(TEAMS)}
    permissions = {login: "write" for login in logins}
    permissions["ada"] = "write"
    return Directory(teams=teams, organizations={"acme": tuple(logins)}, permissions=permissions)


def _codeowners(lines: int) -> str:
    # Broad rules first, specific ones later: the last matching line wins, so
    # every file is checked against the whole file.
    out = ["# generated", "* @acme/team0"]
    for i in range(lines - 2):
        out.append(f"/lib/mod{i}/ @acme/team{i % TEAMS}")
    return "\n".join(out) + "\n"


def _snapshot(files: int, rules: int, reviews: int, checks: int, codeowners: str | None,
              variant: int = 0):
    # `variant` renames the files: another file list, the same verdict.
    suffix = f"_{variant}" if variant else ""
    paths = [f"lib/mod{i % 400}/file{i}{suffix}.py" for i in range(files - rules)]
    # Rule j's path matches only near the end of the list: no early exit.
    paths += [f"services/svc{j}/handler.py" for j in range(rules)]
    return make_snapshot(
        files=tuple(changed(p) for p in paths),
        files_count=len(paths),
        reviews=tuple(review(f"dev{i}", minutes=5 + i * 0.01) for i in range(reviews)),
        checks=tuple(check(f"ci / job {i}", minutes=3) for i in range(checks - 1))
        + (check("lint"),),
        directory=_directory(max(reviews, TEAMS)),
        codeowners=codeowners,
        evaluated_at=at(90),
    )


def _median_ms(policy, snapshot, repeat: int) -> float:
    decide(evaluate(policy, snapshot), snapshot)  # compile globs and regexes once
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        decide(evaluate(policy, snapshot), snapshot)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _new_files_median_ms(policy, snapshots) -> float:
    """Median of one evaluation per snapshot, each with a file list not seen before."""
    decide(evaluate(policy, snapshots[0]), snapshots[0])  # compile globs and regexes once
    samples = []
    for snapshot in snapshots[1:]:
        gc.collect()  # the snapshots built for the samples: collected now, not while timed
        started = time.perf_counter()
        decision = decide(evaluate(policy, snapshot), snapshot)
        samples.append((time.perf_counter() - started) * 1000)
        assert decision.state == "success", decision.description
    return statistics.median(samples)


def main() -> None:
    typical_policy = _load(_policy(rules=10, code_owner_rules=0))
    typical = _snapshot(files=40, rules=10, reviews=8, checks=10, codeowners=None)
    decision = decide(evaluate(typical_policy, typical), typical)
    # 8 reviewers cover teams 0-7; rules for teams 8 and 9 stay pending.
    assert decision.state == "pending", decision.description
    assert "rule-8" in decision.description and "rule-9" in decision.description
    typical_ms = _median_ms(typical_policy, typical, 300)

    worst_policy = _load(_policy(rules=60, code_owner_rules=2))
    worst = _snapshot(files=3000, rules=60, reviews=100, checks=100,
                      codeowners=_codeowners(500))
    decision = decide(evaluate(worst_policy, worst), worst)
    assert decision.state == "success", decision.description
    worst_ms = _median_ms(worst_policy, worst, 25)
    codeowners = _codeowners(500)
    worst_new_files_ms = _new_files_median_ms(worst_policy, [
        _snapshot(files=3000, rules=60, reviews=100, checks=100, codeowners=codeowners,
                  variant=k)
        for k in range(1, 12)
    ])
    print(f"typical (40 files, 10 rules, 8 reviews):           {typical_ms:7.3f} ms median")
    print(f"worst (3,000 files, 60 rules, 500-line CODEOWNERS,  {worst_ms:7.2f} ms median\n"
          "       100 reviews, 100 checks), evaluated again")
    print(f"worst, a new file list every time:                 {worst_new_files_ms:7.2f} ms "
          "median")

    print("growth, a new file list every time (files x rules -> median ms):")
    sweep = {}
    for files in (750, 1500, 3000):
        for rules in (15, 30, 60):
            policy = _load(_policy(rules=rules, code_owner_rules=2))
            snapshots = [_snapshot(files=files, rules=rules, reviews=100, checks=100,
                                   codeowners=codeowners, variant=k) for k in range(100, 106)]
            sweep[(files, rules)] = _new_files_median_ms(policy, snapshots)
            per_unit = sweep[(files, rules)] / (files * rules) * 1e6
            print(f"  {files:5d} x {rules:2d}: {sweep[(files, rules)]:7.2f} ms "
                  f"({per_unit:6.1f} ns per file x rule)")
    ratio = sweep[(3000, 60)] / sweep[(750, 15)]
    print(f"16x more files x rules costs {ratio:.1f}x the time (linear would be 16x)")
    print(json.dumps({"typical_ms": round(typical_ms, 3), "worst_ms": round(worst_ms, 2),
                      "worst_new_files_ms": round(worst_new_files_ms, 2)}))


if __name__ == "__main__":
    main()
