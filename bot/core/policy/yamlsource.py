"""YAML text -> plain data plus the position of every key and value.

Policy files are written by PR authors, so the reader is defensive where
PyYAML's `safe_load` is not: it keeps positions (for `file:line:col` errors),
rejects duplicate keys, reads scalars with the YAML 1.2 core schema (`on`,
`no`, `yes` stay strings; only `true`/`false` are booleans), refuses tags it
does not know, and caps the size, the nesting depth and the number of nodes an
alias may expand to (billion-laughs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.policy.problems import ProblemCode

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]


def too_large(size: int) -> str:
    """The sentence for a policy file of `size` bytes, over the cap."""
    return f"the policy file is {size:,} bytes; the limit is {MAX_BYTES // 1024} KiB"


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column inside the file."""

    line: int
    column: int


@dataclass
class Document:
    """Parsed data with the positions of its values and mapping keys."""

    data: Any
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    line_count: int = 1

    def value_mark(self, path: Path) -> Mark:
        """Position of the value at `path`, or of its closest ancestor."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Mark(1, 1))

    def key_mark(self, path: Path) -> Mark:
        """Position of the key naming `path` (falls back to the value's position)."""
        return self.keys.get(path) or self.value_mark(path)


class YamlProblem(Exception):
    """The text is not a usable YAML document; carries a code and a position."""

    def __init__(self, code: ProblemCode, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


# YAML 1.2 core schema, as regexes over plain (unquoted) scalars.
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

_TAG = "tag:yaml.org,2002:"
_KNOWN_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


class _CoreResolver(yaml.resolver.BaseResolver):
    """Resolves plain scalars per the YAML 1.2 core schema (no YAML 1.1 `yes`/`on`)."""


for _tag, _regex, _first in (
    ("bool", _BOOL_RE, "tTfF"),
    ("int", _INT_RE, "-+0123456789"),
    ("float", _FLOAT_RE, "-+0123456789."),
    ("null", _NULL_RE, ["~", "n", "N", ""]),
):
    _CoreResolver.add_implicit_resolver(f"{_TAG}{_tag}", _regex, list(_first))


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _CoreResolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _CoreResolver.__init__(self)
        self.line_count = max(stream.count("\n") + 1, 1)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # PyYAML's composer recurses once per level (three frames each), so
        # about 300 levels of `[` exhaust Python's stack before the builder's
        # own depth check ever runs: the cap has to hold while composing.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise YamlProblem(
                    "yaml-too-complex",
                    f"nesting deeper than {MAX_DEPTH} levels",
                    # types-PyYAML leaves Parser.peek_event unannotated.
                    _mark(self.peek_event().start_mark, self.line_count),  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _mark(node_mark: Any, text_lines: int) -> Mark:
    line = min(node_mark.line + 1, max(text_lines, 1))
    return Mark(line, node_mark.column + 1 if node_mark.line + 1 <= text_lines else 1)


def _line_col(text: str, index: int) -> Mark:
    before = text[:index]
    line = before.count("\n") + 1
    return Mark(line, index - (before.rfind("\n") + 1) + 1)


def parse_yaml(raw: bytes | str) -> Document:
    """Parse one YAML document; raise YamlProblem with a position when it is unusable."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise YamlProblem("yaml-too-large", too_large(len(raw)), Mark(1, 1))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlProblem(
                "yaml-syntax", "the file is not valid UTF-8 text",
                _line_col(raw[: exc.start].decode("utf-8", "replace"), exc.start),
            ) from None
    else:
        text = raw
        size = len(text.encode("utf-8", "replace"))
        if size > MAX_BYTES:
            raise YamlProblem("yaml-too-large", too_large(size), Mark(1, 1))
    text = text.removeprefix("\ufeff")
    line_count = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)

    try:
        # What yaml.compose(text, Loader=_Loader) does; its stubs only name PyYAML's loaders.
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(mark, line_count) if mark is not None else Mark(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in (exc.context or ""):
            problem = "the file holds several YAML documents; a policy is one document"
        raise YamlProblem("yaml-syntax", f"invalid YAML: {problem}", where) from None
    except yaml.reader.ReaderError as exc:
        raise YamlProblem(
            "yaml-syntax",
            f"invalid character {exc.character!r} in the file",
            _line_col(text, exc.position),
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem("yaml-syntax", f"invalid YAML: {exc}", Mark(1, 1)) from None

    if root is None:
        raise YamlProblem("yaml-empty", "the policy file is empty", Mark(1, 1))
    doc = Document(data=None, line_count=line_count)
    builder = _Builder(doc, line_count)
    doc.data = builder.build(root, (), 0)
    return doc


class _Builder:
    """Walks composed nodes into plain data, recording positions and enforcing caps."""

    def __init__(self, doc: Document, line_count: int) -> None:
        self.doc = doc
        self.line_count = line_count
        self.nodes = 0

    def build(self, node: Node, path: Path, depth: int) -> Any:
        self.nodes += 1
        here = _mark(node.start_mark, self.line_count)
        if self.nodes > MAX_NODES:
            raise YamlProblem(
                "yaml-too-complex",
                f"the document expands to more than {MAX_NODES:,} values "
                "(anchors and aliases included)",
                here,
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(
                "yaml-too-complex", f"nesting deeper than {MAX_DEPTH} levels", here
            )
        self.doc.values.setdefault(path, here)
        if node.tag not in _KNOWN_TAGS:
            raise YamlProblem(
                "yaml-syntax", f"unsupported YAML tag `{node.tag}`; remove the tag", here
            )
        if isinstance(node, ScalarNode):
            return self._scalar(node, here)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        raise YamlProblem("yaml-syntax", "unsupported YAML node", here)

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Mark] = {}
        for key_node, value_node in node.value:
            key_mark = _mark(key_node.start_mark, self.line_count)
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(
                    "yaml-syntax", "mapping keys must be plain text, not lists or mappings",
                    key_mark,
                )
            if key_node.tag not in _KNOWN_TAGS:
                raise YamlProblem(
                    "yaml-syntax", f"unsupported YAML tag `{key_node.tag}` on a key", key_mark
                )
            key = self._scalar(key_node, key_mark)
            if isinstance(key, float) and math.isnan(key):
                key = "nan"
            if key in first_seen:
                first = first_seen[key]
                raise YamlProblem(
                    "yaml-duplicate-key",
                    f"duplicate key `{key}` (first defined at line {first.line}); "
                    "YAML would silently keep only the last one",
                    key_mark,
                )
            first_seen[key] = key_mark
            child = (*path, key)
            self.doc.keys[child] = key_mark
            result[key] = self.build(value_node, child, depth + 1)
        return result

    @staticmethod
    def _scalar(node: ScalarNode, here: Mark) -> Any:
        value = node.value
        tag = node.tag
        if tag == f"{_TAG}str":
            return value
        if tag == f"{_TAG}null":
            return None
        if tag == f"{_TAG}bool":
            if not _BOOL_RE.match(value):
                raise YamlProblem("yaml-syntax", f"`{value}` is not a boolean", here)
            return value.lower() == "true"
        if tag == f"{_TAG}int":
            if not _INT_RE.match(value):
                raise YamlProblem("yaml-syntax", f"`{value}` is not an integer", here)
            if value.startswith("0o"):
                return int(value[2:], 8)
            if value.startswith("0x"):
                return int(value[2:], 16)
            if len(value) > 30:
                raise YamlProblem("yaml-syntax", f"number `{value[:20]}...` is too long", here)
            return int(value)
        if tag == f"{_TAG}float":
            lowered = value.lower()
            if lowered.endswith(".inf"):
                return -math.inf if lowered.startswith("-") else math.inf
            if lowered == ".nan":
                return math.nan
            try:
                return float(value)
            except ValueError:
                raise YamlProblem("yaml-syntax", f"`{value}` is not a number", here) from None
        raise YamlProblem("yaml-syntax", f"unsupported YAML tag `{tag}`", here)
