"""Layers only point down: every import under `bot/`, read with `ast`, obeys the layering.

    core, keys  ←  store / providers  ←  events / pipeline / catchup / web  ←  cli

- `bot.core` is pure: it imports itself, the standard library (less the
  modules that reach outside the process or read the clock) and the pure
  libraries the policy is built on (pydantic, PyYAML, RE2) — nothing else.
- The web tier is imported by nothing but itself and the CLI: the worker,
  the event layer, the store and the forge adapters never reach up into it.
- The units of work (`bot.keys`) sit below the store: they import none of
  store, forge adapters, pipeline, events, web tier or CLI.
- The store reads no forge, no pipeline and no events; the forge adapters
  read neither pipeline nor events; the event layer and the pipeline do not
  import each other; nothing but the CLI imports the CLI.
- The catch-up (`bot.catchup`) sits beside the pipeline: it reads the store,
  the forge adapters and the settings; only the queue, the web tier and the
  CLI import it.
- The importer (`bot.importing`) reads only the core: it turns other bots'
  configuration text into policy text; only the CLI imports it.
- The metrics (`bot.metrics`, `bot.metrics_files`) and the log context
  (`bot.logs`) are used by every layer and import none above the store.
- Nothing GitLab (a module with `gitlab` in its path) imports a module with
  `github` in its name: what both forges share is named for what it does.

Every import counts, wherever it is written: at the top, inside a function,
or under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

PURE_LIBRARIES = frozenset({"pydantic", "pydantic_core", "yaml", "re2"})
"""What the core may import beyond itself and the standard library (today's list)."""

IMPURE_STANDARD_LIBRARY = frozenset(
    {
        "asyncio",
        "concurrent",
        "glob",
        "http",
        "io",
        "logging",
        "multiprocessing",
        "os",
        "pathlib",
        "random",
        "secrets",
        "select",
        "shutil",
        "signal",
        "socket",
        "sqlite3",
        "ssl",
        "subprocess",
        "tempfile",
        "time",
        "urllib",
    }
)
"""Standard modules that do I/O, read the clock or draw randomness: never in the core."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "keys": ("store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing"),
    "store": ("providers", "pipeline", "events", "catchup", "web", "cli", "importing"),
    "providers": ("pipeline", "events", "catchup", "web", "cli", "importing"),
    "events": ("pipeline", "catchup", "web", "cli", "importing"),
    "pipeline": ("events", "catchup", "web", "cli", "importing"),
    "catchup": ("pipeline", "events", "web", "cli", "importing"),
    "web": ("cli", "importing"),
    "importing": ("store", "providers", "pipeline", "events", "catchup", "web", "cli"),
    # Metrics and log context are counted and set by every layer, so they sit low:
    # the metrics read only the store (the queue, at scrape time).
    "metrics": ("providers", "pipeline", "events", "catchup", "web", "cli", "importing"),
    "metrics_files": (
        "store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing",
    ),
    "logs": ("store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing"),
    # The background passes' thread: used by catch-up and the deploy follower alike.
    "periodic": (
        "store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing",
    ),
    # huey's consumer as gatebot runs it, and its scheduler: huey only, below everything.
    "consumer": (
        "store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing",
    ),
    "due_scheduler": (
        "store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing",
    ),
    # `gatebot serve`'s consumer child: starts `gatebot worker`, imports none of it.
    "consumer_process": (
        "store", "providers", "pipeline", "events", "catchup", "web", "cli", "importing",
    ),
}
"""Importer package → the packages it must not import (under `bot.`)."""


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the importing file
    path: str  # the importing file, relative to the repository
    line: int
    target: str  # dotted name imported (a module, or a module's attribute)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.target}"


def _module_name(path: Path, root: Path) -> tuple[str, list[str]]:
    """(dotted name, the package it sits in) of a source file under `root`'s parent."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def _is_module(dotted: str, root: Path) -> bool:
    relative = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    base = root / relative
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_under(root: Path) -> list[Import]:
    """Every import of every module under `root` (a package directory), resolved:
    relative imports made absolute, `from package import module` named as the module."""
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        importer, package = _module_name(path, root)
        shown = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(), filename=shown)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(importer, shown, node.lineno, alias.name))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    candidate = f"{module}.{alias.name}"
                    is_own = candidate.split(".")[0] == root.name
                    target = candidate if is_own and _is_module(candidate, root) else module
                    found.append(Import(importer, shown, node.lineno, target))
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def core_violations(imports: list[Import], top: str = "bot") -> list[Import]:
    bad = []
    for imp in imports:
        if not _within(imp.importer, f"{top}.core"):
            continue
        first = imp.target.split(".")[0]
        if first == top:
            if not _within(imp.target, f"{top}.core"):
                bad.append(imp)
        elif first in IMPURE_STANDARD_LIBRARY or (
            first not in sys.stdlib_module_names and first not in PURE_LIBRARIES
        ):
            bad.append(imp)
    return bad


def web_violations(imports: list[Import], top: str = "bot") -> list[Import]:
    allowed = (f"{top}.web", f"{top}.cli")
    return [
        imp
        for imp in imports
        if _within(imp.target, f"{top}.web")
        and not any(_within(imp.importer, a) for a in allowed)
    ]


def importer_violations(imports: list[Import], top: str = "bot") -> list[Import]:
    allowed = (f"{top}.importing", f"{top}.cli")
    return [
        imp
        for imp in imports
        if _within(imp.target, f"{top}.importing")
        and not any(_within(imp.importer, a) for a in allowed)
    ]


def _breaks_a_layer(imp: Import, top: str) -> bool:
    if _within(imp.target, f"{top}.cli") and not _within(imp.importer, f"{top}.cli"):
        return True  # nothing but the CLI itself imports the CLI
    return any(
        _within(imp.importer, f"{top}.{importer}")
        and any(_within(imp.target, f"{top}.{f}") for f in forbidden)
        for importer, forbidden in FORBIDDEN.items()
    )


def layer_violations(imports: list[Import], top: str = "bot") -> list[Import]:
    return [imp for imp in imports if _breaks_a_layer(imp, top)]


def forge_violations(imports: list[Import]) -> list[Import]:
    return [imp for imp in imports if "gitlab" in imp.path and "github" in imp.target]


IMPORTS = imports_under(BOT)


def _report(bad: list[Import]) -> str:
    return "\n".join(str(imp) for imp in bad)


def test_the_walk_reads_the_whole_tree():
    importers = {imp.importer for imp in IMPORTS}
    assert {"bot.core.gate", "bot.events.ingestion", "bot.web.webhooks", "bot.cli"} <= importers


def test_the_core_imports_only_itself_the_standard_library_and_pure_libraries():
    bad = core_violations(IMPORTS)
    assert not bad, _report(bad)


def test_nothing_but_the_cli_reaches_up_into_the_web_tier():
    bad = web_violations(IMPORTS)
    assert not bad, _report(bad)


def test_nothing_but_the_cli_imports_the_importer():
    bad = importer_violations(IMPORTS)
    assert not bad, _report(bad)


def test_each_layer_imports_only_what_lies_below_it():
    bad = layer_violations(IMPORTS)
    assert not bad, _report(bad)


def test_nothing_gitlab_imports_anything_named_github():
    bad = forge_violations(IMPORTS)
    assert not bad, _report(bad)


# -- the checks themselves, on a small tree that breaks every rule -----------------


@pytest.fixture
def broken(tmp_path: Path) -> list[Import]:
    files = {
        "__init__.py": "",
        "cli.py": "",
        "links.py": "",
        "keys.py": "from app.store.dirty import Claim\n",
        "core/__init__.py": "",
        "core/gate.py": "import os\nimport requests\nfrom app.store import dirty\n",
        "core/ok.py": "import re\nimport threading\nfrom pydantic import BaseModel\n"
        "from . import gate\n",
        "store/__init__.py": "",
        "store/dirty.py": "from ..events import router\n",
        "events/__init__.py": "",
        "events/router.py": "def f():\n    from app.web import payload\n",
        "events/gitlab/__init__.py": "from app.events.github.delivery import Delivery\n",
        "events/github/__init__.py": "",
        "events/github/delivery.py": "",
        "pipeline/__init__.py": "",
        "pipeline/pull.py": "from app import links\nfrom app.cli import main\n",
        "web/__init__.py": "",
        "web/payload.py": "",
    }
    root = tmp_path / "app"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return imports_under(root)


def _targets(bad: list[Import]) -> set[tuple[str, str]]:
    return {(imp.importer, imp.target) for imp in bad}


def test_relative_and_package_imports_are_resolved_to_modules(broken):
    targets = _targets(broken)
    assert ("app.store.dirty", "app.events.router") in targets
    assert ("app.core.ok", "app.core.gate") in targets
    assert ("app.pipeline.pull", "app.links") in targets


def test_the_checks_catch_every_kind_of_breach(broken):
    assert _targets(core_violations(broken, "app")) == {
        ("app.core.gate", "os"),
        ("app.core.gate", "requests"),
        ("app.core.gate", "app.store.dirty"),
    }
    assert _targets(web_violations(broken, "app")) == {("app.events.router", "app.web.payload")}
    assert _targets(layer_violations(broken, "app")) == {
        ("app.keys", "app.store.dirty"),
        ("app.store.dirty", "app.events.router"),
        ("app.events.router", "app.web.payload"),
        ("app.pipeline.pull", "app.cli"),
    }
    assert _targets(forge_violations(broken)) == {
        ("app.events.gitlab", "app.events.github.delivery")
    }
