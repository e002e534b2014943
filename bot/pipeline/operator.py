"""The operator's files, read once at start-up: required policy, default policy, deploy targets.

- `GATEBOT_REQUIRED_POLICY` — the floor ANDed with every repository's policy
  (and applied alone where a repository has none). Loaded and validated
  here, once; a broken file stops the start with one sentence.
- `GATEBOT_DEFAULT_POLICY` — the policy of repositories without one. The
  adapter reads it where the fallbacks lead to it; it is validated here so
  a typo shows at start-up rather than as an `error` on every such PR.
- `GATEBOT_DEPLOY_TARGETS` — a YAML mapping of target names to
  `{type, url, secret..., repos: [globs]}`. Only the names and the `repos`
  allow-lists are kept (the policy loader checks `via: {target: ...}`
  against them); URLs and secrets are not read into memory here, and no
  message ever quotes a value from the file. A target without `repos` may be
  used by no repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bot.core.policy.loader import LoadResult, load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.problems import Problem
from bot.core.policy.yamlsource import YamlProblem, parse_yaml
from bot.settings import ConfigurationError, Settings


@dataclass(frozen=True)
class OperatorConfig:
    """What the operator configured for every repository."""

    floor: Policy | None = None
    """The required policy, or None."""
    floor_file: str | None = None
    """The name its explanations cite."""
    deploy_targets: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Target name → the repositories (`owner/name` globs) allowed to use it."""


def load_operator_config(settings: Settings) -> OperatorConfig:
    """Read the operator's files; raise `ConfigurationError` (one sentence) if one is unusable."""
    floor = None
    if settings.required_policy is not None:
        floor = _policy_file("GATEBOT_REQUIRED_POLICY", settings.required_policy)
    if settings.default_policy is not None:
        _policy_file("GATEBOT_DEFAULT_POLICY", settings.default_policy)
    targets: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    if settings.deploy_targets is not None:
        targets = load_deploy_targets(settings.deploy_targets)
    return OperatorConfig(
        floor=floor,
        floor_file=settings.required_policy.name if settings.required_policy else None,
        deploy_targets=targets,
    )


def _read(variable: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigurationError(f"{variable} names {path}, which cannot be read.") from None


def _policy_file(variable: str, path: Path) -> Policy:
    loaded: LoadResult = load_policy_file(_read(variable, path), path.name)
    if loaded.remote is not None:
        raise ConfigurationError(
            f"{variable} names {path}, which is a `remote:` pointer; give the policy itself."
        )
    if loaded.policy is None:
        raise ConfigurationError(
            f"{variable} names {path}, which is not a valid policy: {_first(loaded.errors)}."
        )
    return loaded.policy


def _first(problems: tuple[Problem, ...]) -> str:
    first = problems[0]
    more = len(problems) - 1
    extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return f"line {first.line}: {first.message}{extra}"


def load_deploy_targets(path: Path) -> Mapping[str, tuple[str, ...]]:
    """Target names and their repository allow-lists from `GATEBOT_DEPLOY_TARGETS`."""
    variable = "GATEBOT_DEPLOY_TARGETS"
    try:
        doc = parse_yaml(_read(variable, path))
    except YamlProblem as exc:
        raise ConfigurationError(
            # The parser's message may quote the line, and the line may hold a secret.
            f"{variable} names {path}, which is not valid YAML ({exc.code} at line"
            f" {exc.mark.line})."
        ) from None
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{variable} names {path}, which must map target names to their settings."
        )
    targets: dict[str, tuple[str, ...]] = {}
    for name, entry in data.items():
        line = doc.key_mark((name,)).line
        where = f"{variable} names {path}, whose target at line {line}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"{where} has no name.")
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{where} must be a mapping of its settings.")
        repos = entry.get("repos", [])
        if not isinstance(repos, list) or not all(
            isinstance(r, str) and r.strip() for r in repos
        ):
            raise ConfigurationError(f"{where} has a `repos` that is not a list of repositories.")
        targets[name] = tuple(r.strip() for r in repos)
    return MappingProxyType(targets)
