"""The user docs stay true: every YAML block is valid for what it is, every variable
and command-line flag they name exists, and the GitHub App permissions they list are
the ones the setup page shows."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest
from docs_blocks import ROOT, Block, blocks, code_spans, doc_files, prose, table

from bot.cli import build_parser
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.yamlsource import parse_yaml
from bot.pipeline.operator import TARGET_TYPES, load_targets
from bot.settings import Settings, env_names
from bot.web import github_app_permissions as app

YAML_BLOCKS = [
    b for path in doc_files() for b in blocks(path)
    # A block marked `<!-- not validated: why -->` is something else on purpose (another
    # tool's file, say); the marker's reason is checked below.
    if b.lang in ("yaml", "yml") and not b.skipped
]
POLICY_KEYS = {field.alias or name for name, field in Policy.model_fields.items()}


def test_the_docs_have_yaml_blocks_to_check():
    assert len(YAML_BLOCKS) >= 10


# -- what a YAML block is ---------------------------------------------------------


def _data(text: str) -> object:
    """The block's data; None for a block of comments only (an editor's modeline)."""
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return None
    return parse_yaml(text).data


def _kind(data: object) -> str:
    if data is None:
        return "comment"
    if isinstance(data, list) and data and all(isinstance(i, dict) and "name" in i for i in data):
        return "rules"
    if not isinstance(data, dict) or not data:
        return "unknown"
    if "version" in data:
        return "policy"
    if set(data) == {"remote"}:
        return "remote"
    if set(data) <= POLICY_KEYS:
        return "fragment"
    if all(isinstance(v, dict) and v.get("type") in TARGET_TYPES for v in data.values()):
        return "targets"
    if "jobs" in data and ("on" in data or True in data):
        return "github-workflow"
    if any(isinstance(v, dict) and ({"script", "trigger"} & set(v)) for v in data.values()):
        return "gitlab-ci"
    return "unknown"


def _rule_names(tree: object) -> list[str]:
    """Every rule name a `policy:` tree refers to."""
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, list):
        return [name for item in tree for name in _rule_names(item)]
    if isinstance(tree, dict):
        return [name for value in tree.values() for name in _rule_names(value)]
    return []


def _whole_policy(kind: str, data) -> dict:
    """A fragment made a whole policy: the parts it lacks added, minimal and valid."""
    doc = {"rules": data} if kind == "rules" else dict(data)
    doc.setdefault("version", 1)
    if "rules" not in doc:
        names = _rule_names(doc.get("policy")) or ["reviewed"]
        doc["rules"] = [{"name": n, "requires": {"approvals": 1}} for n in dict.fromkeys(names)]
    if "policy" not in doc:
        doc["policy"] = {"approval": [rule["name"] for rule in doc["rules"]]}
    return doc


def _documented_targets(tmp_path: Path) -> dict[str, tuple[str, ...]]:
    """Every deploy target the docs declare: policy blocks' `via: {target}` must name one."""
    targets: dict[str, tuple[str, ...]] = {}
    for block in YAML_BLOCKS:
        if not block.skipped and _kind(_data(block.text)) == "targets":
            path = tmp_path / f"targets-{block.line}.yml"
            path.write_text(block.text)
            targets.update({n: t.repos for n, t in load_targets(path).items()})
    return targets


def _check_github_workflow(data: dict) -> list[str]:
    problems = []
    for name, job in data["jobs"].items():
        if not isinstance(job, dict) or "runs-on" not in job or not isinstance(
            job.get("steps"), list
        ):
            problems.append(f"job {name} needs `runs-on` and a list of `steps`")
        for step in job.get("steps", []) if isinstance(job, dict) else []:
            if not isinstance(step, dict) or not ({"uses", "run"} & set(step)):
                problems.append(f"a step of job {name} has neither `uses` nor `run`")
    return problems


def _check_gitlab_ci(data: dict) -> list[str]:
    reserved = {"stages", "variables", "workflow", "include", "default", "image", "services"}
    return [
        f"job {name} needs `script` or `trigger`"
        for name, job in data.items()
        if name not in reserved and not str(name).startswith(".")
        and not (isinstance(job, dict) and {"script", "trigger"} & set(job))
    ]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_every_yaml_block_in_the_docs_is_valid_for_what_it_is(block: Block, tmp_path):
    data = _data(block.text)
    kind = _kind(data)
    assert kind != "unknown", (
        f"{block.where}: a YAML block that is neither a policy (or part of one), an operator "
        "targets file, a GitHub workflow nor GitLab CI; put `<!-- not validated: why -->` "
        "on the line before its fence if it is meant to be something else"
    )
    if kind == "comment":
        assert "$schema=" in block.text, f"{block.where}: a YAML block of comments only"
    elif kind == "targets":
        path = tmp_path / "targets.yml"
        path.write_text(block.text)
        assert load_targets(path)
    elif kind == "github-workflow":
        assert _check_github_workflow(data) == [], block.where
    elif kind == "gitlab-ci":
        assert _check_gitlab_ci(data) == [], block.where
    else:
        # JSON is YAML: the wrapped fragment is loaded as a policy file would be.
        text = block.text if kind in ("policy", "remote") else json.dumps(_whole_policy(kind, data))
        loaded = load_policy_file(text, block.where, deploy_targets=_documented_targets(tmp_path))
        errors = [p.format() for p in loaded.errors]
        assert errors == [], f"{block.where} ({kind}):\n" + "\n".join(errors)


SCHEMA_HINT = "# yaml-language-server: $schema=gatebot.schema.json"


def test_every_whole_policy_in_the_docs_names_the_schema_beside_it():
    whole = [
        b for b in YAML_BLOCKS
        if not b.skipped and isinstance(_data(b.text), dict) and "version" in _data(b.text)
    ]
    assert whole, "the docs show no whole policy"
    assert [b.where for b in whole if b.text.splitlines()[0] != SCHEMA_HINT] == []


def test_a_wrong_fragment_is_caught(tmp_path):
    """The wrapping does not make a wrong example pass."""
    for text in (
        "merge:\n  auto: yes-please\n",
        "deploy:\n  - name: production\n    branches: [main]\n    via: {target: nope}\n",
        "  - name: x\n    requires: {approvals: many}\n",
    ):
        data = parse_yaml(text).data
        loaded = load_policy_file(
            json.dumps(_whole_policy(_kind(data), data)),
            deploy_targets=_documented_targets(tmp_path),
        )
        assert loaded.errors, text


def test_the_skip_marker_must_give_a_reason(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- not validated: an excerpt of a Helm chart -->\n```yaml\na: 1\n```\n\n"
        "<!-- not validated: -->\n```yaml\nb: 2\n```\n"
    )
    assert [b.skipped for b in blocks(doc)] == [True, False]


# -- environment variables and command-line flags ------------------------------------

ENV_NAME = re.compile(r"\b(?:GATEBOT|GITHUB|GITLAB)_[A-Z0-9_]*")


def _read_by_the_tests() -> set[str]:
    """Variables the test suite itself reads (`GATEBOT_MODEL_EXAMPLES`, ...): documented
    for people running the tests, not settings of gatebot."""
    found: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        found |= set(re.findall(r"environ(?:\.get\(|\[)\s*\"((?:GATEBOT)_[A-Z0-9_]+)\"",
                                path.read_text()))
    return found


def test_every_documented_variable_is_a_setting():
    settings = set(env_names()) | _read_by_the_tests()
    unknown = {}
    for path in doc_files():
        for name in set(ENV_NAME.findall(path.read_text())):
            known = (
                any(s.startswith(name) for s in settings) if name.endswith("_")  # a family
                else name in settings
            )
            if not known:
                unknown.setdefault(name, path.name)
    assert unknown == {}, "the docs name variables gatebot does not read"


def test_the_variable_that_places_the_default_store_is_documented():
    # Read by bot.settings.data_directory, not a setting of its own.
    assert "`$XDG_DATA_HOME/gatebot`" in _readme()


def test_every_setting_is_documented():
    documented = _readme() + (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in env_names() if f"`{name}`" not in documented]
    assert missing == []


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def _commands() -> dict[str, set[str]]:
    """`gatebot <sub-command>` → its option strings, for every (nested) sub-command."""
    found: dict[str, set[str]] = {}

    def walk(parser, prefix: str) -> None:
        for action in parser._actions:
            if action.choices and isinstance(action.choices, dict):  # sub-parsers
                for name, sub in action.choices.items():
                    # A flag whose help is suppressed is the program's own (`gatebot
                    # worker --of-serve`, how `gatebot serve` starts its consumer).
                    found[f"{prefix} {name}"] = {
                        option for a in sub._actions for option in a.option_strings
                        if a.help != argparse.SUPPRESS
                    }
                    walk(sub, f"{prefix} {name}")

    walk(build_parser(), "gatebot")
    return found


_INVOCATION = re.compile(r"(?:^|[\s(/])gatebot((?: [a-z][a-z-]*)+)(.*)$")


def _documented_invocations() -> list[tuple[str, str, str]]:
    """(where, command words, the rest) for every `gatebot ...` in code: sh blocks and spans."""
    found = []
    for path in doc_files():
        lines = code_spans(path)
        lines += [
            line.split(" #", 1)[0]
            for block in blocks(path) if block.lang in ("sh", "bash", "console", "shell")
            for line in block.text.splitlines()
        ]
        for line in lines:
            # Commands are cut at pipes, lists and output redirections (` > file`).
            for part in re.split(r"&&|\|\||;|\||\s>>?\s", line):
                match = _INVOCATION.search(part)
                if match:
                    found.append((path.name, match[1].strip(), match[2]))
    return found


def test_every_documented_command_and_flag_exists():
    commands = _commands()
    invocations = _documented_invocations()
    assert len(invocations) >= 5
    wrong = []
    for where, words, rest in invocations:
        # The longest known command the words start with; the rest are arguments.
        tokens = words.split()
        name = next(
            (" ".join(["gatebot", *tokens[:n]]) for n in range(len(tokens), 0, -1)
             if " ".join(["gatebot", *tokens[:n]]) in commands),
            None,
        )
        if name is None:
            wrong.append((where, f"gatebot {words}"))
            continue
        for token in shlex.split(rest.replace("<", "'<").replace(">", ">'"), comments=True):
            flag = token.split("=", 1)[0]
            if flag.startswith("-") and flag not in commands[name]:
                wrong.append((where, f"{name} {flag}"))
    assert wrong == []


def test_every_command_and_flag_is_documented_in_the_readme():
    readme = " ".join(_readme().split())
    for command, options in _commands().items():
        assert command in readme, command
        for option in options - {"-h", "--help"}:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", readme), (command, option)


# -- the GitHub App's permissions: one source --------------------------------------


def test_the_readme_permissions_table_is_the_one_the_setup_page_shows():
    readme = ROOT / "README.md"
    rows = table(readme, ("permission", "access", "why"))
    assert rows == [(p.name, p.access, p.why) for p in app.REPOSITORY_PERMISSIONS]
    text = prose(readme)
    for p in app.ORGANIZATION_PERMISSIONS:
        assert f"{p.name}: {p.access} ({p.why})" in text
    assert app.events_sentence() in text


def test_the_setup_page_renders_the_permissions():
    from bot.web import create_app

    page = create_app(Settings()).test_client().get("/").get_data(as_text=True)
    assert Settings().mode.value == "setup"
    for p in app.REPOSITORY_PERMISSIONS:
        assert f"<tr><td>{p.name}</td><td>{p.access.replace('&', '&amp;')}</td>" \
               f"<td>{app.as_html(p.why)}</td></tr>" in page
    assert "<td>Workflows</td><td>read &amp; write</td>" in page
    assert f"Subscribe to: {app.events_sentence()}." in page
