"""The `gatebot-validate` pre-commit hook: run by `pre-commit try-repo` on a scratch
repository holding a broken policy, it fails and names the line; its file pattern
takes every policy file name gatebot reads, and nothing else.

The run is offline: pre-commit installs this checkout into the hook's environment
with pip, told to reach no index (`PIP_NO_INDEX`) and to install gatebot alone
(`PIP_NO_DEPS`, no build isolation); gatebot's dependencies come from the test's own
environment (`PYTHONPATH`), since the machine's local package index does not hold
them all.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from bot.forges import FORGES

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"

BROKEN = """\
version: 1
policy:
  approval: [reviewd]
rules:
  - name: reviewed
    requires:
      approvals: 1
"""


def _hook() -> dict:
    (hook,) = [h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "gatebot-validate"]
    return hook


def test_the_hook_runs_gatebot_validate_on_the_policy_files():
    hook = _hook()
    assert hook["language"] == "python"
    assert hook["entry"].split()[:2] == ["gatebot", "validate"]
    pattern = re.compile(hook["files"])
    names = {p for kind in FORGES for p in kind.policy_paths} | {"gatebot.yml"}
    assert all(pattern.search(name) for name in names), names
    for other in ("src/gatebot.py", "docs/gatebot.yml.md", ".github/workflows/ci.yml",
                  "policies/schema.json", "notgatebot.yml"):
        assert not pattern.search(other), other


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.slow
def test_pre_commit_try_repo_fails_on_a_broken_policy_and_names_the_line(tmp_path):
    scratch = tmp_path / "scratch"
    (scratch / ".github").mkdir(parents=True)
    (scratch / ".github" / "gatebot.yml").write_text(BROKEN)
    (scratch / "README.md").write_text("not a policy: broken [\n")
    _git(scratch, "init", "-q")
    _git(scratch, "add", "-A")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        # pip reads a `--no-*` flag's variable the other way round: 0 turns isolation off.
        "PIP_NO_BUILD_ISOLATION": "0",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "gatebot-validate",
         "--all-files"],
        cwd=scratch, env=env, capture_output=True, text=True, timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "gatebot validate" in output and "Failed" in output, output
    assert ".github/gatebot.yml:3:14: undefined-rule unknown rule `reviewd`" in output, output
    assert "README.md" not in output.split("Failed", 1)[1]

    (scratch / ".github" / "gatebot.yml").write_text(BROKEN.replace("reviewd", "reviewed"))
    fixed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "gatebot-validate",
         "--all-files"],
        cwd=scratch, env=env, capture_output=True, text=True, timeout=300,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Passed" in fixed.stdout
