"""The operator's files, read once at start-up: required policy, default policy, deploy targets.

- `GATEBOT_REQUIRED_POLICY` — the floor ANDed with every repository's policy
  (and applied alone where a repository has none). Loaded and validated
  here, once; a broken file stops the start with one sentence.
- `GATEBOT_DEFAULT_POLICY` — the policy of repositories without one. The
  adapter reads it where the fallbacks lead to it; it is validated here so
  a typo shows at start-up rather than as an `error` on every such PR.
- `GATEBOT_DEPLOY_TARGETS` — a YAML mapping of target names to
  `{type: webhook|jenkins, url, secret, repos: [globs], branches: [globs]}`
  (Jenkins also takes `user` and `api_token` for the CSRF crumb, and
  `jenkins_url` when the job URL does not start with the server's; a webhook
  takes `callback: true` to be told where to report how the deployment
  ended, which needs `GATEBOT_PUBLIC_URL`), or to
  `{type: aws_codedeploy, application, deployment_group, region,
  deployment_config?, revision: {github|s3|appspec}, repos, branches}`, whose
  credentials come from the standard AWS chain alone (a credential in the file
  stops the start) and which needs boto3 (`gatebot[aws]`). The
  `repos` allow-lists are what the policy loader checks `via: {target: ...}`
  against; `branches` are the base branches whose merges the target takes
  (without it: only each repository's default branch), checked by the deploy
  step; the full definitions (`DeployTarget`) are what the deploy step calls.
  No message ever quotes a value from the file, and a target's repr hides
  its URL and secrets. A target without `repos` may be used by no repository.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bot.core.globs import GlobError, compile_ref_glob, validate_ref_glob
from bot.core.policy.loader import LoadResult, load_policy_file
from bot.core.policy.models import Policy
from bot.core.policy.problems import Problem
from bot.core.policy.yamlsource import YamlProblem, parse_yaml
from bot.pipeline.deploy_templates import TARGET_PLACEHOLDERS, unknown_placeholders
from bot.settings import ConfigurationError, Settings

TARGET_TYPES = ("webhook", "jenkins", "aws_codedeploy")
BUNDLE_TYPES = ("zip", "tar", "tgz", "YAML", "JSON")
"""The S3 bundle types CodeDeploy knows."""
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_CREDENTIAL_KEYS = frozenset({
    "secret", "api_token", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "access_key", "secret_key", "session_token", "credentials",
})


@dataclass(frozen=True)
class CodeDeployRevision:
    """What an `aws_codedeploy` target deploys; string fields are templates."""

    kind: str
    """`github` (a repository at the merge SHA, for EC2/on-premises groups), `s3` (a
    bundle) or `appspec` (AppSpec content, for ECS and Lambda)."""
    repository: str = "{repository}"
    bucket: str | None = None
    key: str | None = None
    bundle_type: str | None = None
    version: str | None = None
    etag: str | None = None
    appspec: str | None = None


@dataclass(frozen=True)
class CodeDeploySpec:
    """Where an `aws_codedeploy` target deploys to."""

    application: str
    deployment_group: str
    region: str
    revision: CodeDeployRevision
    deployment_config: str | None = None


@dataclass(frozen=True)
class DeployTarget:
    """One operator deploy target; its URL and secrets never show in a repr."""

    name: str
    type: str
    """`webhook`, `jenkins` or `aws_codedeploy`."""
    url: str = field(default="", repr=False)
    """The webhook's URL, or the Jenkins job's URL (none for CodeDeploy)."""
    secret: str = field(default="", repr=False)
    """The webhook's HMAC key, or the Jenkins job's build token (none for CodeDeploy)."""
    repos: tuple[str, ...] = ()
    branches: tuple[str, ...] | None = None
    """Base branch globs whose merges it takes; None: only the repository's default branch."""
    user: str | None = field(default=None, repr=False)
    """Jenkins: the account whose API token asks for the CSRF crumb."""
    api_token: str | None = field(default=None, repr=False)
    jenkins_url: str | None = field(default=None, repr=False)
    """Jenkins: the server's root URL (default: the job URL up to `/job/`)."""
    codedeploy: CodeDeploySpec | None = None
    """`aws_codedeploy`: the application, group, region and revision."""
    callback: bool = False
    """Webhook: the body carries a `callback_url` where the receiver reports how the
    deployment ended, signed with this target's secret."""

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be written anywhere."""
        return tuple(v for v in (self.secret, self.api_token) if v)

    def takes(self, base_ref: str, default_branch: str) -> bool:
        """Whether a merge into `base_ref` may be deployed through this target."""
        if self.branches is None:
            return base_ref == default_branch
        return any(compile_ref_glob(b).matches(base_ref) for b in self.branches)


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
    targets: Mapping[str, DeployTarget] = field(default_factory=lambda: MappingProxyType({}))
    """Target name → its full definition, for the deploy step."""


def load_operator_config(settings: Settings) -> OperatorConfig:
    """Read the operator's files; raise `ConfigurationError` (one sentence) if one is unusable."""
    floor = None
    if settings.required_policy is not None:
        floor = _policy_file("GATEBOT_REQUIRED_POLICY", settings.required_policy)
    if settings.default_policy is not None:
        _policy_file("GATEBOT_DEFAULT_POLICY", settings.default_policy)
    targets: Mapping[str, DeployTarget] = MappingProxyType({})
    if settings.deploy_targets is not None:
        targets = load_targets(settings.deploy_targets)
        if settings.public_url is None and any(t.callback for t in targets.values()):
            raise ConfigurationError(
                "GATEBOT_DEPLOY_TARGETS has a target with `callback: true`, which needs"
                " GATEBOT_PUBLIC_URL: the callback address is built on it."
            )
    return OperatorConfig(
        floor=floor,
        floor_file=settings.required_policy.name if settings.required_policy else None,
        deploy_targets=MappingProxyType({n: t.repos for n, t in targets.items()}),
        targets=targets,
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
    return MappingProxyType({n: t.repos for n, t in load_targets(path).items()})


def load_targets(path: Path) -> Mapping[str, DeployTarget]:
    """The full target definitions from `GATEBOT_DEPLOY_TARGETS`."""
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
    targets: dict[str, DeployTarget] = {}
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
        branches = entry.get("branches")
        if branches is not None and (not isinstance(branches, list) or not all(
            isinstance(b, str) and b.strip() for b in branches
        )):
            raise ConfigurationError(f"{where} has a `branches` that is not a list of branches.")
        for pattern in branches or ():
            try:
                validate_ref_glob(pattern.strip())
            except GlobError:
                raise ConfigurationError(f"{where} has an unusable branch glob.") from None
        targets[name] = _target(
            name, entry, tuple(r.strip() for r in repos), where,
            tuple(b.strip() for b in branches) if branches is not None else None,
        )
    return MappingProxyType(targets)


def _target(
    name: str, entry: dict, repos: tuple[str, ...], where: str,
    branches: tuple[str, ...] | None,
) -> DeployTarget:
    kind = entry.get("type")
    if kind not in TARGET_TYPES:
        raise ConfigurationError(
            f"{where} needs `type: webhook`, `type: jenkins` or `type: aws_codedeploy`."
        )
    if kind == "aws_codedeploy":
        return DeployTarget(name=name, type=kind, repos=repos, branches=branches,
                            codedeploy=_codedeploy(entry, where))
    text = _texts(entry, where)
    url = text("url", True)
    assert url is not None
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(f"{where} needs an http(s) `url`.")
    secret = text("secret", True)
    assert secret is not None
    user = text("user", False)
    api_token = text("api_token", False)
    if (user is None) != (api_token is None):
        raise ConfigurationError(f"{where} needs both `user` and `api_token`, or neither.")
    jenkins_url = text("jenkins_url", False)
    callback = entry.get("callback", False)
    if not isinstance(callback, bool) or (callback and kind != "webhook"):
        raise ConfigurationError(f"{where} has a `callback` that is not `true` on a webhook.")
    if kind == "jenkins" and jenkins_url is None and "/job/" not in url:
        raise ConfigurationError(
            f"{where} needs a job `url` (…/job/<name>) or a `jenkins_url`."
        )
    return DeployTarget(
        name=name,
        type=kind,
        url=url.rstrip("/"),
        secret=secret,
        repos=repos,
        branches=branches,
        user=user,
        api_token=api_token,
        jenkins_url=jenkins_url.rstrip("/") if jenkins_url else None,
        callback=callback,
    )


def _texts(entry: dict, where: str):
    """`text(key, required)`: the entry's value at `key`, a non-empty string, stripped."""

    def text(key: str, required: bool) -> str | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{where} needs `{key}` as a non-empty string.")
        return value.strip()

    return text


def _codedeploy(entry: dict, where: str) -> CodeDeploySpec:
    if _CREDENTIAL_KEYS & set(entry):
        raise ConfigurationError(
            f"{where} holds a credential; an `aws_codedeploy` target takes its credentials "
            "from the standard AWS chain (environment, profile, instance or task role, web "
            "identity), never from this file."
        )
    try:
        importlib.import_module("boto3")
    except ImportError:
        raise ConfigurationError(
            f"{where} is an `aws_codedeploy` target, which needs boto3: "
            "install `gatebot[aws]`."
        ) from None
    text = _texts(entry, where)
    application = text("application", True)
    group = text("deployment_group", True)
    region = text("region", True)
    assert application is not None and group is not None and region is not None
    if not _REGION.fullmatch(region):
        raise ConfigurationError(f"{where} needs an AWS `region` such as `eu-west-1`.")
    return CodeDeploySpec(
        application=application,
        deployment_group=group,
        region=region,
        revision=_revision(entry.get("revision"), where),
        deployment_config=text("deployment_config", False),
    )


def _revision(revision: object, where: str) -> CodeDeployRevision:
    kinds = ("github", "s3", "appspec")
    if not isinstance(revision, dict) or len(revision) != 1 or next(iter(revision)) not in kinds:
        raise ConfigurationError(
            f"{where} needs a `revision` with one of `github`, `s3` or `appspec`."
        )
    ((kind, spec),) = revision.items()
    at = f"{where} has a `revision.{kind}`"

    def template(value: object, key: str, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{at} that needs `{key}` as a non-empty string.")
        unknown = unknown_placeholders(value, TARGET_PLACEHOLDERS)
        if unknown is None:
            raise ConfigurationError(f"{at} whose `{key}` is not a valid template.")
        if unknown:
            available = ", ".join(f"{{{p}}}" for p in sorted(TARGET_PLACEHOLDERS))
            raise ConfigurationError(
                f"{at} whose `{key}` uses an unknown placeholder; available: {available}."
            )
        return value if key == "appspec" else value.strip()

    if kind == "appspec":
        content = template(spec, "appspec", True)
        assert content is not None
        return CodeDeployRevision("appspec", appspec=content)
    if kind == "github":
        if spec is None:
            return CodeDeployRevision("github")
        if not isinstance(spec, dict):
            raise ConfigurationError(f"{at} that must be a mapping (or empty).")
        repository = template(spec.get("repository"), "repository", False)
        return CodeDeployRevision("github", repository=repository or "{repository}")
    if not isinstance(spec, dict):
        raise ConfigurationError(f"{at} that must be a mapping.")
    bundle_type = spec.get("bundle_type")
    if bundle_type not in BUNDLE_TYPES:
        raise ConfigurationError(
            f"{at} that needs a `bundle_type` among {', '.join(BUNDLE_TYPES)}."
        )
    return CodeDeployRevision(
        "s3",
        bucket=template(spec.get("bucket"), "bucket", True),
        key=template(spec.get("key"), "key", True),
        bundle_type=bundle_type,
        version=template(spec.get("version"), "version", False),
        etag=template(spec.get("etag"), "etag", False),
    )
