"""The model of the whole gate against the fake GitLab (see tests/model and
`model.gitlab_driver` for how GitLab's verbs differ): the same machine, invariants and
oracle as on GitHub, the oracle told that approvals name no commit.

CI runs a bounded, derandomized number of examples (`GATEBOT_MODEL_EXAMPLES`, 60 by
default: about a minute, at most two); longer runs set it higher.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis.stateful import run_state_machine_as_test

from model.gitlab_driver import GitLabRig
from model.machine import machine_for, report
from model.test_model_github import model_settings


def test_the_gate_never_claims_more_than_the_oracle_allows_on_gitlab(tmp_path: Path) -> None:
    examples = int(os.environ.get("GATEBOT_MODEL_EXAMPLES", "60"))
    rig = GitLabRig(tmp_path)
    try:
        run_state_machine_as_test(
            machine_for(rig.driver),
            settings=model_settings(examples, 40, derandomize=os.environ.get("CI") == "true"),
        )
    finally:
        rig.close()
        print(report())
