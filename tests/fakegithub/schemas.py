"""Validate requests and responses against the schemas in rest-operations.json
(GraphQL requests against GitHub's GraphQL schema, in `graphql`).

The file's schemas are OpenAPI 3.0 (dereferenced): `nullable` is turned into
a JSON-Schema `null` type here and the rest is checked with `jsonschema`
(draft 4, whose `exclusiveMinimum` semantics OpenAPI 3.0 shares). Formats
are not asserted except `date-time`, because GitHub's `format: uri` fields
carry URI templates such as `.../commits{/sha}`.

Leniency is limited to where GitHub's own data is known to be wrong or
incomplete, each listed in `KNOWN_DEVIATIONS` with its reason:

- `issues/add-labels` request: PyGithub sends a bare JSON array of names,
  which GitHub accepts although the documented body is `{"labels": [...]}`.
- Error statuses an operation does not document (401 bad credentials, 403/429
  rate limits, 404 for a missing resource, 5xx): GitHub answers them on every
  endpoint with its "Basic Error" body, so they are checked against that
  shape instead of failing as undocumented; likewise a body sent with an
  error status documented without content.
- 304 Not Modified to a conditional GET (`If-None-Match`): GitHub answers it
  on any GET that sends an ETag, documented per operation or not.

A response sent under one of the operation's other documented media types
(`application/vnd.github.sha`: the SHA alone, as text) is checked as that
media type, not against the JSON schema.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import jsonschema

from . import graphql
from .operations import Operation, OperationIndex, load_operations

if TYPE_CHECKING:
    from support.fakes.recording import RecordedRequest

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "not", "additionalProperties")
_OPENAPI_ONLY = {
    "nullable",
    "example",
    "examples",
    "discriminator",
    "readOnly",
    "writeOnly",
    "deprecated",
    "xml",
    "externalDocs",
}

# GitHub's error body, as documented by the "Basic Error" schema the file uses
# for its 403/404 responses.
BASIC_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "documentation_url": {"type": "string"},
        "url": {"type": "string"},
        "status": {"type": "string"},
    },
    "required": ["message"],
}

NO_BODY_STATUSES = frozenset({204, 302, 304})

# Statuses GitHub may answer on any endpoint, documented or not.
GENERIC_ERROR_STATUSES = frozenset({401, 403, 404, 422, 429, 500, 502, 503, 504})

KNOWN_DEVIATIONS: dict[str, str] = {
    "issues/add-labels": (
        "PyGithub sends the label names as a bare JSON array; GitHub accepts it "
        "although the documented body is an object with `labels`."
    ),
    "conditional requests": (
        "GitHub's REST guide documents 304 Not Modified for any GET whose "
        "`If-None-Match` matches the resource's ETag; few operations list it."
    ),
    "error bodies": (
        "Some error statuses are documented with a description only (e.g. 409 of "
        "repos/create-deployment, 404 of teams/get-membership-for-user-in-org); GitHub "
        "still sends its Basic Error body with them, so a body there is checked "
        "against that shape."
    ),
}


def to_json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema (nullable -> null type)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS:
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = to_json_schema(value)
        elif key in _OPENAPI_ONLY or key.startswith("x-"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(_is_date_time)


@functools.cache
def _validator(
    operation_id: str, where: str, status: int | None = None
) -> jsonschema.Draft4Validator | None:
    operation = load_operations()[operation_id]
    if where == "request":
        body = operation.request_body or {}
        raw = body.get("content", {}).get("application/json", {}).get("schema")
    else:
        response = operation.response(status or 0) or {}
        raw = response.get("content", {}).get("application/json", {}).get("schema")
    if raw is None:
        return None
    return jsonschema.Draft4Validator(to_json_schema(raw), format_checker=_FORMATS)


def _messages(validator: jsonschema.Draft4Validator, instance: Any, limit: int = 5) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    out = []
    for error in errors[:limit]:
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        out.append(f"{where}: {error.message[:300]}")
    if len(errors) > limit:
        out.append(f"... and {len(errors) - limit} more")
    return out


def _param_errors(operation: Operation, record: RecordedRequest) -> list[str]:
    errors: list[str] = []
    for name, spec in operation.path_parameters().items():
        value = record.path_params.get(name)
        if value is None:
            errors.append(f"path parameter {name} missing")
        elif spec.get("schema", {}).get("type") == "integer" and not value.isdigit():
            errors.append(f"path parameter {name}={value!r} is not an integer")
    documented = operation.query_parameters()
    for name, values in record.query.items():
        spec = documented.get(name)
        if spec is None:
            errors.append(f"query parameter {name!r} is not documented")
            continue
        schema = to_json_schema(spec.get("schema", {}))
        for value in values:
            instance: Any = value
            if schema.get("type") == "integer" or schema.get("type") == ["integer", "null"]:
                if not value.lstrip("-").isdigit():
                    errors.append(f"query parameter {name}={value!r} is not an integer")
                    continue
                instance = int(value)
            elif schema.get("type") == "boolean":
                if value not in ("true", "false"):
                    errors.append(f"query parameter {name}={value!r} is not a boolean")
                    continue
                instance = value == "true"
            validator = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)
            errors.extend(f"query parameter {name}: {m}" for m in _messages(validator, instance))
    for name, spec in documented.items():
        if spec.get("required") and name not in record.query:
            errors.append(f"required query parameter {name!r} missing")
    return errors


def body_errors(operation_id: str, body: Any) -> list[str]:
    """What the operation's request body schema rejects in `body` (parsed JSON)."""
    if operation_id == "issues/add-labels" and isinstance(body, list):
        # KNOWN_DEVIATIONS["issues/add-labels"]
        return (
            []
            if all(isinstance(name, str) for name in body)
            else ["bare label array must hold strings"]
        )
    operation = load_operations()[operation_id]
    if operation.request_body is None:
        return [] if body in ({}, None) else ["operation takes no request body"]
    validator = _validator(operation_id, "request")
    if validator is None:
        return []
    return [f"request body {m}" for m in _messages(validator, body)]


def request_errors(record: RecordedRequest) -> list[str]:
    """What is wrong with a recorded request, checked against its operation (empty: valid)."""
    if record.operation_id is None:
        return [f"{record.method} {record.path}: not an operation in rest-operations.json"]
    operation = load_operations()[record.operation_id]
    errors = _param_errors(operation, record)
    body_spec = operation.request_body
    if not record.body:
        if body_spec and body_spec.get("required"):
            errors.append("request body is required")
        return errors
    try:
        body = json.loads(record.body)
    except ValueError as exc:
        return [*errors, f"request body is not JSON: {exc}"]
    return errors + body_errors(record.operation_id, body)


def response_errors(record: RecordedRequest) -> list[str]:
    """What is wrong with a recorded response, checked against the documented one."""
    if record.operation_id is None:
        return []
    operation = load_operations()[record.operation_id]
    status = record.status
    if status == 304 and record.method == "GET" and _header(record.headers, "If-None-Match"):
        # KNOWN_DEVIATIONS["conditional requests"]
        return ["status 304 must have no body, got one"] if record.response_body else []
    documented = operation.response(status)
    media = (_header(record.response_headers, "Content-Type") or "").split(";")[0].strip()
    if documented is not None and media and media != "application/json":
        if media not in documented.get("content", {}):
            return [f"media type {media} is not documented for {record.operation_id} {status}"]
        if media == "application/vnd.github.sha" and not _SHA.fullmatch(
            record.response_body.decode(errors="replace")
        ):
            return ["response body is not a commit SHA"]
        return []
    if documented is None:
        if status not in GENERIC_ERROR_STATUSES:
            return [f"status {status} is not documented for {record.operation_id}"]
        schema_validator = jsonschema.Draft4Validator(BASIC_ERROR_SCHEMA)
        return [f"error body {m}" for m in _messages(schema_validator, record.response_json)]
    if "content" not in documented:
        if not record.response_body:
            return []
        if status in NO_BODY_STATUSES:
            return [f"status {status} of {record.operation_id} must have no body, got one"]
        # KNOWN_DEVIATIONS["error bodies"]: documented without content, sent with one.
        schema_validator = jsonschema.Draft4Validator(BASIC_ERROR_SCHEMA)
        return [f"error body {m}" for m in _messages(schema_validator, record.response_json)]
    validator = _validator(record.operation_id, "response", status)
    if validator is None:
        return []
    return [f"response body {m}" for m in _messages(validator, record.response_json)]


_SHA = re.compile(r"[0-9a-f]{40}")


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def validation_report(records: Iterable[RecordedRequest]) -> list[str]:
    """One line per problem across `records`: unknown operations, bad requests, bad responses."""
    problems: list[str] = []
    for index, record in enumerate(records):
        label = f"#{index} {record.method} {record.path} [{record.operation_id or 'unknown'}]"
        if record.operation_id == graphql.OPERATION:
            problems.extend(f"{label} {m}" for m in graphql.problems(record))
            continue
        problems.extend(f"{label} request: {m}" for m in request_errors(record))
        if record.operation_id is not None:
            problems.extend(f"{label} -> {record.status}: {m}" for m in response_errors(record))
    return problems


def example_errors(operations: OperationIndex | None = None) -> dict[str, list[str]]:
    """Each documented example checked against its own schema (GitHub's data, not the fake's)."""
    operations = operations or load_operations()
    found: dict[str, list[str]] = {}
    for operation in operations.by_id.values():
        for status_text, response in operation.spec["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            for name, example in (media.get("examples") or {}).items():
                validator = _validator(operation.operation_id, "response", int(status_text))
                if validator is None:
                    continue
                messages = _messages(validator, example["value"])
                if messages:
                    found[f"{operation.operation_id} {status_text} {name}"] = messages
    return found
