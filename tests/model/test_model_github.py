"""The model of the whole gate against the fake GitHub (see tests/model): random
sequences of pushes, reviews, comments, edits, checks, policy edits, merges, lost and
reordered deliveries and worker restarts; after every step the bot must claim no
more than the oracle written from the spec allows.

CI runs a bounded, derandomized number of examples (`model_settings`); the long
run is `tests/bench/model_long_run.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from model.github_driver import GitHubRig
from model.machine import machine_for, report


def model_settings(examples: int, steps: int, *, derandomize: bool) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def test_the_gate_never_claims_more_than_the_oracle_allows_on_github(tmp_path: Path) -> None:
    examples = int(os.environ.get("GATEBOT_MODEL_EXAMPLES", "100"))
    rig = GitHubRig(tmp_path)
    try:
        run_state_machine_as_test(
            machine_for(rig.driver),
            settings=model_settings(examples, 40, derandomize=os.environ.get("CI") == "true"),
        )
    finally:
        rig.close()
        print(report())
