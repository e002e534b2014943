"""Source text -> a `Source` with line numbers: YAML through the policy loader's
own reader (positions, YAML 1.2, size caps), TOML through `tomllib` with a
line index of its keys (tomllib keeps no positions)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from bot.core.policy.yamlsource import YamlProblem, parse_yaml
from bot.importing.report import BadInput, Path, Report, Source

_TOML_LINE = re.compile(r"""^\s*(?:\[\s*(?P<table>[^\]]+?)\s*\]|(?P<key>[A-Za-z0-9_.\-"' ]+?)\s*=)""")
_TOML_ERROR_AT = re.compile(r"\(at line (\d+), column \d+\)")


def yaml_source(text: str | bytes, file: str, source_format: str) -> Source:
    try:
        doc = parse_yaml(text)
    except YamlProblem as exc:
        raise BadInput(exc.message, exc.mark.line) from None
    if not isinstance(doc.data, dict):
        raise BadInput("the file must be a YAML mapping", 1)
    paths = [p for p in doc.keys if all(isinstance(k, str | int) for k in p)]
    return Source(
        doc.data,
        lambda path: doc.key_mark(path).line,
        sorted(paths, key=lambda p: doc.key_mark(p).line),
        Report(file, source_format),
    )


def _walk_keys(data: Any, path: Path, out: list[Path]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*path, key))
            _walk_keys(value, (*path, key), out)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _walk_keys(value, (*path, index), out)


def _toml_lines(text: str) -> dict[Path, int]:
    """The line of every table header and `key =` line, by dotted path."""
    lines: dict[Path, int] = {}
    table: Path = ()
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TOML_LINE.match(line)
        if not match:
            continue
        if match.group("table") is not None:
            table = tuple(_parts(match.group("table")))
            lines.setdefault(table, number)
        else:
            path = (*table, *_parts(match.group("key")))
            for i in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:i], number)
    return lines


def _parts(dotted_key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in dotted_key.split(".")]


def toml_source(text: str | bytes, file: str, source_format: str) -> Source:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("the file is not valid UTF-8 text", 1) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_ERROR_AT.search(str(exc))
        message = _TOML_ERROR_AT.sub("", str(exc)).strip()
        raise BadInput(f"invalid TOML: {message}", int(found.group(1)) if found else 1) from None
    lines = _toml_lines(text)
    keys: list[Path] = []
    _walk_keys(data, (), keys)

    def line_of(path: Path) -> int:
        while path and path not in lines:
            path = path[:-1]
        return lines.get(path, 1)

    return Source(data, line_of, keys, Report(file, source_format))
