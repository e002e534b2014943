"""Policy text -> a validated `Policy` (or a `remote:` pointer) or every problem at once.

Three passes, each reporting with file, line and column:
1. `yamlsource.parse_yaml`: the text as data with positions;
2. pydantic validation against `models.Policy`, each error mapped back to the
   YAML node it concerns and rewritten as a sentence a person can act on;
3. `crossref.check`: checks across the file (rule names and references,
   deploy names, operator targets) — run on the raw data so they are reported
   even when pass 2 found errors elsewhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from bot.core.policy import crossref
from bot.core.policy.models import Policy, RemotePolicy
from bot.core.policy.problems import Problem, ProblemCode
from bot.core.policy.secrets import SECRET_KEYS, URL_KEYS
from bot.core.policy.yamlsource import Document, Path, YamlProblem, parse_yaml

_TYPE_ERRORS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "invalid_approval_item": "a rule name, `{and: [...]}` or `{or: [...]}`",
    "invalid_check": "a check name or `{name: ..., app: ...}`",
}

_CUSTOM_CODES: dict[str, ProblemCode] = {
    "bad_glob": "bad-glob",
    "bad_regex": "bad-regex",
    "bad_comparison": "bad-comparison",
    "bad_template": "bad-template",
    "url_not_allowed": "url-not-allowed",
    "secret_not_allowed": "secret-not-allowed",
    "empty_predicate": "empty-condition",
}

_COMBINATORS = {"and", "or", "all", "any"}


@dataclass(frozen=True)
class LoadResult:
    """The outcome of loading one policy file."""

    file: str
    policy: Policy | None
    remote: RemotePolicy | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors


def load_policy_file(
    raw: bytes | str,
    filename: str = ".gatebot.yml",
    *,
    deploy_targets: Mapping[str, Collection[str]] | None = None,
    repo: str | None = None,
) -> LoadResult:
    """Load and validate one policy file; never raises for bad input.

    `deploy_targets` maps the operator's target names to the repositories
    (fnmatch patterns, `owner/name`) allowed to use them; when given with
    `repo`, `via: {target: ...}` is checked against it.
    """
    try:
        doc = parse_yaml(raw)
    except YamlProblem as exc:
        problem = Problem(exc.code, exc.message, filename, exc.mark.line, exc.mark.column)
        return LoadResult(filename, None, None, (problem,))

    if not isinstance(doc.data, dict):
        mark = doc.value_mark(())
        problem = Problem(
            "wrong-type",
            f"a policy file is a mapping starting with `version: 1`, not {_describe(doc.data)}",
            filename, mark.line, mark.column,
        )
        return LoadResult(filename, None, None, (problem,))

    remote_file = "remote" in doc.data
    model: type[Policy] | type[RemotePolicy] = RemotePolicy if remote_file else Policy
    problems: list[Problem] = []
    validated: Policy | RemotePolicy | None = None
    try:
        validated = model.model_validate(doc.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problems.append(_from_pydantic(error, doc, filename, remote_file))
    if not remote_file:
        problems.extend(crossref.check(doc, filename, deploy_targets=deploy_targets, repo=repo))

    problems = _dedupe(problems)
    if any(p.severity == "error" for p in problems):
        validated = None
    return LoadResult(
        filename,
        validated if isinstance(validated, Policy) else None,
        validated if isinstance(validated, RemotePolicy) else None,
        tuple(problems),
    )


# Short alias used across the code base.
load_policy = load_policy_file


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int, int, str]] = set()
    unique = []
    for p in sorted(problems, key=lambda p: (p.line, p.column, p.severity != "error")):
        key = (p.code, p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _locate(doc: Document, loc: tuple[Any, ...]) -> tuple[Path, list[Any], bool]:
    """Follow pydantic's `loc` through the data: (matched path, unmatched parts, is_key).

    `loc` mixes real keys and indices with union tags and `[key]` markers;
    parts that do not exist in the data are set aside.
    """
    node = doc.data
    path: list[Any] = []
    rest: list[Any] = []
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        else:
            rest.append(part)
    return tuple(path), rest, is_key


def _from_pydantic(
    error: Mapping[str, Any], doc: Document, filename: str, remote_file: bool
) -> Problem:
    etype: str = error["type"]
    path, rest, is_key = _locate(doc, tuple(error["loc"]))
    ctx = error.get("ctx") or {}
    value = error.get("input")
    key = path[-1] if path else None
    at_key = is_key or etype in ("extra_forbidden", "invalid_key")
    mark = doc.key_mark(path) if at_key else doc.value_mark(path)

    code: ProblemCode
    if etype == "extra_forbidden":
        code, message = _unknown_key(doc, path, remote_file)
    elif etype == "invalid_key":
        code, message = "unknown-key", f"key {_describe(value)} is not a name; keys are text"
    elif etype == "missing":
        missing = rest[-1] if rest else "?"
        code = "missing-key"
        message = (
            "`version: 1` is required at the top of the file"
            if missing == "version" and path == ()
            else f"missing required key `{missing}`"
        )
    elif etype == "literal_error" and path == ("version",):
        code, message = "unsupported-version", f"unsupported version {value!r}; use `version: 1`"
    elif etype == "literal_error":
        code = "invalid-value"
        message = f"{_describe(value)} is not allowed here; expected one of {ctx.get('expected')}"
        suggestion = _suggest(str(value), _literal_options(str(ctx.get("expected", ""))))
        if suggestion:
            message += f" — did you mean `{suggestion}`?"
    elif etype in _TYPE_ERRORS:
        code = "wrong-type"
        message = f"expected {_TYPE_ERRORS[etype]}, got {_describe(value)}"
        if etype == "list_type" and isinstance(value, str):
            message += f' (write `["{value}"]` for a list of one)'
    elif etype == "too_short" and key in _COMBINATORS:
        code, message = "empty-combinator", f"`{key}` needs at least one item"
    elif etype == "too_short":
        code = "invalid-value"
        count = ctx.get("min_length", 1)
        message = f"`{key}` needs at least {count} item{'' if count == 1 else 's'}"
    elif etype in _CUSTOM_CODES:
        code, message = _CUSTOM_CODES[etype], error["msg"]
    elif etype == "string_pattern_mismatch":
        code, message = "invalid-value", _pattern_message(path, value)
    else:
        code = "invalid-value"
        message = f"{_describe(value)}: {error['msg']}"
    message = _rule_context(doc, path) + message
    return Problem(code, message, filename, mark.line, mark.column)


def _unknown_key(doc: Document, path: Path, remote_file: bool) -> tuple[ProblemCode, str]:
    key = path[-1] if path else "?"
    lowered = str(key).lower()
    if lowered in URL_KEYS:
        return "url-not-allowed", (
            f"`{key}`: URLs are not allowed in policy files — gatebot never calls an address "
            "a repository names; ask the operator to declare a target (GATEBOT_DEPLOY_TARGETS) "
            "and use `via: {target: NAME}`"
        )
    if lowered in SECRET_KEYS:
        return "secret-not-allowed", (
            f"`{key}`: secrets are not allowed in policy files (everyone with read access sees "
            "them); keep them in the operator's configuration"
        )
    if remote_file and len(path) == 1:
        return "unknown-key", (
            f"unknown key `{key}`: a file with `remote:` points to a shared policy and holds "
            "nothing else"
        )
    if key == "<<":
        return "unknown-key", "YAML merge keys (`<<`) are not supported; repeat the values"
    allowed = _allowed_keys(doc, path[:-1])
    message = f"unknown key `{key}`"
    suggestion = _suggest(str(key), allowed)
    if suggestion:
        message += f" — did you mean `{suggestion}`?"
    elif allowed:
        message += f"; expected one of: {', '.join(sorted(allowed))}"
    return "unknown-key", message


def _suggest(word: str, options: Collection[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _literal_options(expected: str) -> list[str]:
    return [part.strip(" '\"") for part in expected.replace(" or ", ",").split(",") if part.strip()]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{shown}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _pattern_message(path: Path, value: Any) -> str:
    field = path[-1] if path else None
    if field == "remote":
        return f"{_describe(value)} is not a remote policy: write `owner/repo[/path][@ref]`"
    if field == "prefix":
        return (
            f"{_describe(value)} is not a command prefix: an optional `/`, `!`, `.` or `#` "
            "followed by a word, e.g. `/gate`"
        )
    if field == "name":
        return "a rule name is one line of text"
    return f"{_describe(value)} has an invalid format"


def _rule_context(doc: Document, path: Path) -> str:
    """`rule `x`: ` when the problem sits inside a named rule."""
    if len(path) >= 3 and path[0] == "rules" and isinstance(path[1], int):
        rules = doc.data.get("rules")
        if isinstance(rules, list) and path[1] < len(rules):
            rule = rules[path[1]]
            if isinstance(rule, dict) and isinstance(rule.get("name"), str):
                return f"rule `{rule['name']}`: "
    return ""


@lru_cache(maxsize=1)
def _policy_schema() -> dict[str, Any]:
    return Policy.model_json_schema(by_alias=True)


def _allowed_keys(doc: Document, path: Path) -> list[str]:
    """The keys the schema allows for the mapping at `path` in the data."""
    root = _policy_schema()
    defs = root.get("$defs", {})
    schema: dict[str, Any] | None = root
    node: Any = doc.data
    for part in path:
        schema = _pick(_resolve(schema, defs), node, defs)
        if schema is None:
            return []
        if isinstance(part, int):
            schema = schema.get("items")
            node = node[part]
        else:
            props = schema.get("properties", {})
            schema = props.get(part) or (
                schema.get("additionalProperties")
                if isinstance(schema.get("additionalProperties"), dict) else None
            )
            node = node[part]
        if schema is None:
            return []
    schema = _pick(_resolve(schema, defs), node, defs)
    return list((schema or {}).get("properties", {}))


def _resolve(schema: dict[str, Any] | None, defs: dict[str, Any]) -> dict[str, Any] | None:
    while schema is not None and "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1])
    return schema


def _pick(schema: dict[str, Any] | None, node: Any, defs: dict[str, Any]) -> dict[str, Any] | None:
    """For a union schema, the branch that fits `node` (mapping / list) best."""
    if schema is None:
        return None
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not branches:
        return schema
    wanted = "object" if isinstance(node, dict) else "array" if isinstance(node, list) else None
    best, best_score = None, -1
    for branch in branches:
        branch = _pick(_resolve(branch, defs), node, defs)
        if branch is None or branch.get("type") != wanted:
            continue
        props = branch.get("properties", {})
        score = len(set(props) & set(node)) if isinstance(node, dict) else 0
        if score > best_score:
            best, best_score = branch, score
    return best
