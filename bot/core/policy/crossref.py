"""Checks across a whole policy file: names defined once, references that resolve.

Runs on the raw parsed data (not the validated model) so these problems are
reported together with any type errors elsewhere in the file; malformed parts
are skipped here because pydantic already reports them.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from bot.core.policy.problems import Problem, ProblemCode, Severity
from bot.core.policy.yamlsource import Document, Path


def check(
    doc: Document,
    filename: str,
    *,
    deploy_targets: Mapping[str, Collection[str]] | None = None,
    repo: str | None = None,
) -> list[Problem]:
    data = doc.data
    problems: list[Problem] = []

    def problem(
        code: ProblemCode, message: str, path: Path, severity: Severity = "error"
    ) -> None:
        mark = doc.value_mark(path)
        problems.append(Problem(code, message, filename, mark.line, mark.column, severity))

    path: Path
    defined: dict[str, Path] = {}
    for index, rule in _items(data.get("rules")):
        name = rule.get("name") if isinstance(rule, dict) else None
        if not isinstance(name, str):
            continue
        path = ("rules", index, "name")
        if name in defined:
            first = doc.value_mark(defined[name]).line
            problem("duplicate-rule", f"rule `{name}` is already defined at line {first}", path)
        else:
            defined[name] = path

    section = data.get("policy")
    referenced: set[str] = set()
    if isinstance(section, dict):
        for name, path in _references(section.get("approval"), ("policy", "approval")):
            referenced.add(name)
            if name not in defined:
                message = f"unknown rule `{name}`"
                close = difflib.get_close_matches(name, list(defined), n=1, cutoff=0.6)
                if close:
                    message += f" — did you mean `{close[0]}`?"
                elif defined:
                    message += f"; defined rules: {', '.join(sorted(defined))}"
                else:
                    message += "; the file defines no rules"
                problem("undefined-rule", message, path)
        for name, path in defined.items():
            if name not in referenced:
                problem(
                    "unused-rule",
                    f"rule `{name}` is not referenced in `policy.approval` and has no effect",
                    path,
                    "warning",
                )

    deploy_names: dict[str, Path] = {}
    for index, entry in _items(data.get("deploy")):
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if isinstance(name, str):
            path = ("deploy", index, "name")
            if name in deploy_names:
                first = doc.value_mark(deploy_names[name]).line
                problem(
                    "duplicate-deploy", f"deploy `{name}` is already defined at line {first}", path
                )
            else:
                deploy_names[name] = path
        via = entry.get("via")
        target = via.get("target") if isinstance(via, dict) else None
        if isinstance(target, str) and deploy_targets is not None:
            path = ("deploy", index, "via", "target")
            if target not in deploy_targets:
                message = f"unknown deploy target `{target}`"
                close = difflib.get_close_matches(target, list(deploy_targets), n=1, cutoff=0.6)
                message += (
                    f" — did you mean `{close[0]}`?" if close
                    else "; the operator declares targets in GATEBOT_DEPLOY_TARGETS"
                )
                problem("unknown-target", message, path)
            elif repo is not None and not any(
                fnmatch.fnmatchcase(repo.lower(), pattern.lower())
                for pattern in deploy_targets[target]
            ):
                problem(
                    "target-not-allowed",
                    f"deploy target `{target}` is not allowed for {repo}; ask the operator to "
                    "add the repository to the target's allow-list",
                    path,
                )
    return problems


def _items(value: Any) -> Iterator[tuple[int, Any]]:
    if isinstance(value, list):
        yield from enumerate(value)


def _references(item: Any, path: Path) -> Iterator[tuple[str, Path]]:
    """Every rule name in an approval tree, with its path."""
    if isinstance(item, str):
        yield item, path
    elif isinstance(item, list):
        for index, child in enumerate(item):
            yield from _references(child, (*path, index))
    elif isinstance(item, dict):
        for key in ("and", "or"):
            if isinstance(item.get(key), list):
                yield from _references(item[key], (*path, key))
