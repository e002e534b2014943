"""What an import did with each source key: mapped, mapped with a stated
difference, or not carried over (with what gatebot does instead).

`Source` wraps the parsed source file and records every key a converter
handles; whatever it never handled is reported as unknown at the end, so no
key of the source is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Path = tuple[str | int, ...]


class Kind(StrEnum):
    MAPPED = "mapped"
    DIFFERENCE = "difference"
    UNSUPPORTED = "unsupported"
    STRUCTURE = "structure"
    """A section whose keys are reported one by one; not printed."""


@dataclass(frozen=True)
class Entry:
    kind: Kind
    path: Path
    line: int
    message: str
    covers: bool
    """Whether the entry speaks for the keys below `path` too."""


def dotted(path: Path) -> str:
    """`approval_rules[0].requires.count` for a path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


class BadInput(Exception):
    """The source cannot be read as its format (exit 2); carries the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Report:
    """Every entry of one import, in the order they were made."""

    file: str
    source_format: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def unsupported(self) -> list[Entry]:
        return [e for e in self.entries if e.kind is Kind.UNSUPPORTED]

    @property
    def complete(self) -> bool:
        """Everything carried over (possibly with stated differences)."""
        return not self.unsupported

    def covered(self, path: Path) -> bool:
        """Whether an entry speaks for the key at `path`."""
        for entry in self.entries:
            if entry.path == path:
                return True
            if entry.covers and path[: len(entry.path)] == entry.path:
                return True
        return False

    def lines(self) -> list[str]:
        """The report for people: one line per entry, grouped by kind."""
        out = [f"{self.file}: imported from {self.source_format}"]
        titles = (
            (Kind.MAPPED, "mapped"),
            (Kind.DIFFERENCE, "mapped, with a difference in meaning"),
            (Kind.UNSUPPORTED, "no gatebot counterpart"),
        )
        for kind, title in titles:
            chosen = sorted((e for e in self.entries if e.kind is kind), key=lambda e: e.line)
            if not chosen:
                continue
            out.append(f"{title}:")
            out.extend(
                f"  {self.file}:{e.line}: {dotted(e.path)}: {e.message}" for e in chosen
            )
        verdict = (
            "every key was carried over"
            if self.complete
            else f"{len(self.unsupported)} key(s) could not be carried over"
        )
        out.append(f"{self.file}: {verdict}")
        return out


class Source:
    """A parsed source file: typed reads with file-and-line errors, and the report."""

    def __init__(
        self,
        data: Any,
        line_of: Callable[[Path], int],
        key_paths: list[Path],
        report: Report,
    ) -> None:
        self.data = data
        self._line_of = line_of
        self._key_paths = key_paths
        self.report = report

    def line(self, path: Path) -> int:
        return self._line_of(path)

    @property
    def key_paths(self) -> list[Path]:
        """Every key of the source, in file order."""
        return list(self._key_paths)

    # -- reading -------------------------------------------------------------

    def at(self, path: Path) -> Any:
        value = self.data
        for part in path:
            if isinstance(part, int):
                value = value[part]
            else:
                if not isinstance(value, dict) or part not in value:
                    return None
                value = value[part]
        return value

    def has(self, path: Path) -> bool:
        parent = self.at(path[:-1]) if path[:-1] else self.data
        return isinstance(parent, dict) and path[-1] in parent

    def _fail(self, path: Path, expected: str) -> BadInput:
        return BadInput(f"{dotted(path)} must be {expected}", self.line(path))

    def mapping(self, path: Path) -> dict[str, Any]:
        value = self.at(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._fail(path, "a mapping")
        return value

    def items(self, path: Path) -> list[Any]:
        value = self.at(path)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(path, "a list")
        return value

    def strings(self, path: Path) -> list[str]:
        value = self.at(path)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(path, "a list of text values")
        return list(value)

    def text(self, path: Path, default: str | None = None) -> str | None:
        value = self.at(path)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._fail(path, "text")
        return value

    def flag(self, path: Path, default: bool = False) -> bool:
        value = self.at(path)
        if value is None:
            return default
        if not isinstance(value, bool):
            if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
                # Go's YAML reader (policy-bot, bulldozer) takes these as booleans;
                # gatebot reads YAML 1.2, where they are text.
                raise self._fail(path, f"true or false (`{value}` is text in YAML 1.2)")
            raise self._fail(path, "true or false")
        return value

    def number(self, path: Path, default: int = 0) -> int:
        value = self.at(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(path, "a whole number of at least 0")
        return value

    def choice(self, path: Path, options: tuple[str, ...], default: str) -> str:
        value = self.text(path, default)
        assert value is not None
        if value not in options:
            raise BadInput(
                f"{dotted(path)} is `{value}`; expected one of {', '.join(options)}",
                self.line(path),
            )
        return value

    # -- reporting -----------------------------------------------------------

    def _add(self, kind: Kind, path: Path, message: str, covers: bool) -> None:
        self.report.entries.append(Entry(kind, path, self.line(path), message, covers))

    def mapped(self, path: Path, message: str) -> None:
        self._add(Kind.MAPPED, path, message, True)

    def differs(self, path: Path, message: str, *, covers: bool = True) -> None:
        self._add(Kind.DIFFERENCE, path, message, covers)

    def unsupported(self, path: Path, message: str) -> None:
        self._add(Kind.UNSUPPORTED, path, message, True)

    def note(self, message: str) -> None:
        """A difference of the whole file rather than of one key."""
        self.report.entries.append(Entry(Kind.DIFFERENCE, (), 1, message, False))

    def section(self, path: Path) -> None:
        self._add(Kind.STRUCTURE, path, "", False)

    def finish(self) -> None:
        """Report every key no converter handled: never dropped silently."""
        for path in self._key_paths:
            if not self.report.covered(path):
                self._add(
                    Kind.UNSUPPORTED, path,
                    f"`{path[-1]}` is not a key gatebot knows how to import; nothing was "
                    "written for it", True,
                )
