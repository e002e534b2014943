"""The README's set-up commands are the ones CI and users actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> tuple[str, str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^(Run|Test)[^\n]*:\n\n```sh\n([^\n]+)\n```", text, flags=re.M)
    found = dict(blocks)
    return found["Run"], found["Test"]


def test_readme_gives_one_line_run_and_test_commands():
    run, test = _commands()
    assert run.startswith("python3 -m venv .venv && ")
    assert test.startswith("python3 -m venv .venv && ")
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_test_command():
    _, test = _commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci, "the README's test command must be a line of .ci/run"
