"""SECURITY.md names a regression test for every attack: each one named must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _named() -> list[tuple[str, str]]:
    return NAMED.findall((ROOT / "SECURITY.md").read_text())


def test_every_test_security_md_names_exists():
    named = _named()
    assert len(named) >= 30, "SECURITY.md should prove each attack with a test"
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file()
        or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), flags=re.M)
    ]
    assert missing == [], f"SECURITY.md names tests that do not exist: {missing}"


def test_every_attack_row_names_a_test():
    rows = [
        line for line in (ROOT / "SECURITY.md").read_text().splitlines()
        if re.match(r"^\| (\d+[a-z]?|G\d+b?) \|", line)
    ]
    assert len(rows) >= 20
    assert [row for row in rows if not NAMED.search(row)] == []
