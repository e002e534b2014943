"""GitHub's REST operations as documented in tests/fixtures/github/rest-operations.json.

Loads the file once, turns each operation's path template into a matcher and
answers "which operation is `GET /repos/acme/api/pulls/7`?" with the
operationId and the decoded path parameters. Also hands out the documented
example responses that the fake's bodies are built from.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPERATIONS_FILE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "github" / "rest-operations.json"
)

# Path parameters that may contain slashes: a file path, a git ref ("heads/x"),
# and the two sides of a compare ("main...feature/x").
_GREEDY_PARAMS = {"path", "head"}
_REF_OPERATIONS_WITH_SLASHES = {"git/delete-ref", "repos/get-commit"}


@dataclass(frozen=True)
class Operation:
    """One documented operation: method, path template, parameters, bodies."""

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False, compare=False)
    pattern: re.Pattern[str] = field(repr=False, compare=False)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    def query_parameters(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.parameters if p["in"] == "query"}

    def path_parameters(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.parameters if p["in"] == "path"}

    @property
    def request_body(self) -> dict[str, Any] | None:
        return self.spec.get("requestBody")

    def response(self, status: int) -> dict[str, Any] | None:
        return self.spec["responses"].get(str(status))

    def documented_statuses(self) -> list[int]:
        return sorted(int(s) for s in self.spec["responses"])

    def example(
        self, status: int, name: str | None = None, media_type: str = "application/json"
    ) -> Any:
        """A fresh copy of the documented example for `status` (the first, or the one named)."""
        return json.loads(self._example_text(status, name, media_type))

    @functools.cache  # noqa: B019 - operations live as long as the process
    def _example_text(self, status: int, name: str | None, media_type: str) -> str:
        response = self.response(status)
        if response is None:
            raise KeyError(f"{self.operation_id} documents no {status} response")
        content = response.get("content", {}).get(media_type)
        if content is None or not content.get("examples"):
            raise KeyError(f"{self.operation_id} {status} has no {media_type} example")
        examples = content["examples"]
        chosen = examples[name] if name is not None else next(iter(examples.values()))
        return json.dumps(chosen["value"])


def _compile(operation_id: str, template: str) -> re.Pattern[str]:
    out = ["^"]
    pos = 0
    for match in re.finditer(r"\{([^}]+)\}", template):
        out.append(re.escape(template[pos : match.start()]))
        name = match.group(1)
        greedy = name in _GREEDY_PARAMS or (
            name == "ref" and operation_id in _REF_OPERATIONS_WITH_SLASHES
        )
        if name == "base":
            out.append(r"(?P<base>[^/]+?)")
        elif greedy:
            out.append(rf"(?P<{name}>.+)")
        else:
            out.append(rf"(?P<{name}>[^/]+)")
        pos = match.end()
    out.append(re.escape(template[pos:]))
    out.append("$")
    return re.compile("".join(out))


class OperationIndex:
    """All operations of the file, matched most specific template first."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.source: str = document.get("source", "")
        self.by_id: dict[str, Operation] = {}
        for operation_id, spec in document["operations"].items():
            self.by_id[operation_id] = Operation(
                operation_id=operation_id,
                method=spec["method"].upper(),
                path=spec["path"],
                spec=spec,
                pattern=_compile(operation_id, spec["path"]),
            )
        # More literal characters first, so "/commits/{ref}/status" wins over
        # "/commits/{ref}" and "/app/installations/..." over "/app".
        self._ordered = sorted(
            self.by_id.values(),
            key=lambda op: -len(re.sub(r"\{[^}]+\}", "", op.path)),
        )

    def __getitem__(self, operation_id: str) -> Operation:
        return self.by_id[operation_id]

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self.by_id

    def match(self, method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method raw_path` (path still percent-encoded) and its parameters."""
        method = method.upper()
        for operation in self._ordered:
            if operation.method != method:
                continue
            found = operation.pattern.match(raw_path)
            if found:
                params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                return operation, params
        return None


@functools.cache
def load_operations(path: Path = OPERATIONS_FILE) -> OperationIndex:
    return OperationIndex(json.loads(Path(path).read_text()))
