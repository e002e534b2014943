"""Every relative link in README.md and docs/ leads somewhere: the file exists,
and a `#section` names a heading of that file (as GitHub makes its anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_anchor_is_githubs():
    assert anchor("1. Create the GitHub App") == "1-create-the-github-app"
    assert anchor("`version`, `mode`") == "version-mode"
    assert anchor("The whole loop, against a fake GitHub") == "the-whole-loop-against-a-fake-github"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path):
    broken = []
    for target in links(doc):
        file_part, _, section = target.partition("#")
        found = (doc.parent / file_part).resolve() if file_part else doc
        if not found.exists():
            broken.append(f"{target}: no such file")
        elif section and found.suffix == ".md" and section not in anchors(found):
            broken.append(f"{target}: no such section")
    assert not broken, broken
