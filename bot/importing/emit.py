"""The imported policy as YAML text, each value commented with the source line
it came from.

A small writer rather than PyYAML's dumper: it puts a `# FILE:LINE` comment
on the line of each key or list item that came from the source, and quotes
every string (YAML 1.2 reads `on`, `no` or `1.0` as text only when quoted
reliably).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class At:
    """A value of the output and the source line it came from."""

    value: Any
    line: int


@dataclass(frozen=True)
class Default:
    """A value the source tool assumes when its key is absent, written out."""

    value: Any
    tool: str


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else _scalar(key)


def _unwrap(value: Any) -> tuple[Any, int | str | None]:
    """The plain value and what its comment says: a source line or whose default it is."""
    if isinstance(value, At):
        inner, _ = _unwrap(value.value)
        return inner, value.line
    if isinstance(value, Default):
        inner, _ = _unwrap(value.value)
        return inner, f"{value.tool}'s default"
    return value, None


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or not value


def _leaf(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


class _Writer:
    def __init__(self, file: str) -> None:
        self.file = file
        self.out: list[str] = []

    def note(self, origin: int | str | None) -> str:
        if origin is None:
            return ""
        return f"  # {self.file}:{origin}" if isinstance(origin, int) else f"  # {origin}"

    def mapping(self, data: dict[str, Any], indent: int, first_prefix: str | None = None) -> None:
        for index, (key, raw) in enumerate(data.items()):
            value, line = _unwrap(raw)
            lead = first_prefix if (index == 0 and first_prefix is not None) else " " * indent
            if _is_leaf(value):
                self.out.append(f"{lead}{_key(key)}: {_leaf(value)}{self.note(line)}")
            else:
                self.out.append(f"{lead}{_key(key)}:{self.note(line)}")
                self.block(value, indent + 2)

    def block(self, value: Any, indent: int) -> None:
        if isinstance(value, dict):
            self.mapping(value, indent)
            return
        for raw in value:
            item, line = _unwrap(raw)
            pad = " " * indent
            if _is_leaf(item):
                self.out.append(f"{pad}- {_leaf(item)}{self.note(line)}")
            elif isinstance(item, dict):
                if line is not None:
                    self.out.append(f"{pad}-{self.note(line)}")
                    self.mapping(item, indent + 2)
                else:
                    self.mapping(item, indent + 2, first_prefix=f"{pad}- ")
            else:
                self.out.append(f"{pad}-{self.note(line)}")
                self.block(item, indent + 2)


SCHEMA_LINE = "# yaml-language-server: $schema=gatebot.schema.json"


def to_yaml(data: dict[str, Any], file: str, header: list[str]) -> str:
    """`data` (values possibly wrapped in `At` or `Default`) as a YAML document with a header comment."""
    writer = _Writer(file)
    # Editors validate the file against the schema `gatebot schema` writes beside it,
    # as every example policy does.
    writer.out.append(SCHEMA_LINE)
    writer.out.extend(f"# {line}" if line else "#" for line in header)
    writer.mapping(data, 0)
    return "\n".join(writer.out) + "\n"
