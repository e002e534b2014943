"""The user docs (README.md, docs/**/*.md) as the doc tests read them: fenced blocks,
inline code spans and Markdown tables, found by their fences and headers — never by
position, so the docs can be reorganised freely.

A fenced block the tests cannot judge by its content is skipped only when the line
before its fence says so: `<!-- not validated: <why> -->`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = re.compile(r"^\s*<!--\s*not validated:\s*\S.*-->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    """The line of the opening fence, 1-based."""
    lang: str
    text: str
    """The content, dedented by the fence's indentation."""
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        body = "\n".join(lines[index + 1 : end])
        found.append(
            Block(
                path, index + 1, opening["lang"].lower(), textwrap.dedent(body) + "\n",
                skipped=bool(SKIP_MARKER.match(before)),
            )
        )
        index = end + 1
    return found


def prose(path: Path) -> str:
    """The text outside fenced blocks, whitespace collapsed."""
    lines = path.read_text().splitlines()
    kept, inside, fence = [], False, ""
    for line in lines:
        opening = _FENCE.match(line)
        if not inside and opening:
            inside, fence = True, opening["fence"]
        elif inside and line.strip().startswith(fence):
            inside = False
        elif not inside:
            kept.append(line)
    return " ".join(" ".join(kept).split())


def code_spans(path: Path) -> list[str]:
    """Inline code spans outside fenced blocks, line breaks inside them made spaces."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose(path))]


def table(path: Path, header: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The rows of the Markdown table whose header cells are `header`."""
    rows: list[tuple[str, ...]] = []
    inside = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            if inside:
                break
            continue
        cells = tuple(cell.strip() for cell in stripped.strip("|").split(" | "))
        if not inside:
            inside = cells == header
            continue
        if set(stripped) <= {"|", "-", ":", " "}:
            continue
        rows.append(cells)
    return rows
