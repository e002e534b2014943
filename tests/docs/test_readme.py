"""The README's set-up commands are the ones CI and users actually run, and the
settings table it links to lists every setting with its default."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from bot.settings import Settings, env_names

ROOT = Path(__file__).resolve().parents[2]


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


def _configuration_table() -> dict[str, str]:
    """docs/configuration.md's table (the README links to it): variable name -> its Default cell."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|.*\| (.+?) \|$", text, flags=re.M)
    return dict(rows)


def test_every_setting_is_in_the_configuration_table_with_its_default():
    table = _configuration_table()
    assert list(table) == env_names(), "one row per setting, in the order of bot/settings.py"
    for field in Settings.model_fields.values():
        env, default = str(field.validation_alias), field.default
        cell = table[env]
        if field.default_factory is not None or default in (None, ""):
            # A default worked out at start is described; each factory it names must exist.
            factories = re.findall(r"`([\w.]+:\w+)`", cell)
            assert cell == "unset" or factories, env
            for factory in factories:
                module, _, attr = factory.partition(":")
                assert hasattr(importlib.import_module(module), attr), (env, factory)
        elif isinstance(default, int | float):
            assert float(cell.strip("`")) == default, env
        else:
            assert cell == f"`{default}`", env
