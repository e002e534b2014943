"""The policy file as pydantic models: one class per section of the language.

These models are the single definition of the language: the loader validates
user files against them, `gatebot schema` and `policies/schema.json` are
generated from them (attribute docstrings become the schema's descriptions),
and the evaluator reads them. Every model is strict: unknown keys are errors,
and values are never coerced ("1" is not a number, 1 is not a string).

Field-level checks that need no context (globs, RE2 regexes, comparisons,
templates, URLs and secrets) live here as annotated types; checks across the
whole file (rule references, duplicate names) live in `crossref.py`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.core.globs import GlobError, validate_path_glob, validate_ref_glob
from bot.core.policy.comparison import ComparisonError, parse_comparison
from bot.core.policy.secrets import looks_like_secret, looks_like_url
from bot.core.regex import RegexError, compile_regex

Permission = Literal["admin", "maintain", "write", "triage", "read"]
"""Repository permission levels, highest first."""

PERMISSION_ORDER: tuple[str, ...] = ("read", "triage", "write", "maintain", "admin")

COMMAND_NAMES: tuple[str, ...] = (
    "help", "status", "recheck", "merge", "cancel", "hold", "unhold", "deploy", "override",
)
CommandName = Literal[
    "help", "status", "recheck", "merge", "cancel", "hold", "unhold", "deploy", "override"
]

# Placeholders each template may use; anything else is a policy error rather
# than a KeyError at merge or deploy time.
TITLE_PLACEHOLDERS = frozenset({"title", "number", "head_ref", "base_ref", "author"})
DEPLOY_PLACEHOLDERS = frozenset({"merge_sha", "number", "base", "environment", "head_sha"})

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_SHA_RE = re.compile(r"^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$")


class StrictModel(BaseModel):
    """Base of every policy model: strict types, unknown keys rejected, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=False,
    )


# --------------------------------------------------------------------------
# Field types with their own validation


def _glob(validate: Callable[[str], None]) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            validate(value)
        except GlobError as exc:
            raise PydanticCustomError("bad_glob", "{reason}", {"reason": str(exc)}) from None
        return value

    return check


def _regex(value: str) -> str:
    try:
        compile_regex(value)
    except RegexError as exc:
        raise PydanticCustomError("bad_regex", "{reason}", {"reason": str(exc)}) from None
    return value


def _bare_number(value: Any) -> Any:
    """A bare whole number is a comparison for equality: `50` reads as `"50"`, i.e. `== 50`."""
    # bool is an int subclass; `true` is no number.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _comparison(value: str) -> str:
    try:
        parse_comparison(value)
    except ComparisonError as exc:
        raise PydanticCustomError("bad_comparison", "{reason}", {"reason": str(exc)}) from None
    return value


def _name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise PydanticCustomError(
            "invalid_value",
            "`{value}` is not a valid name: use lowercase letters, digits, `-`, `_` and `.`",
            {"value": value},
        )
    return value


def _team(value: str) -> str:
    if "/" not in value.strip("/") or value != value.strip():
        raise PydanticCustomError(
            "invalid_value",
            "team `{value}` must be written as `org/team-slug` (GitLab: the group path)",
            {"value": value},
        )
    return value


def _no_url_or_secret(value: str) -> str:
    if looks_like_url(value):
        raise PydanticCustomError(
            "url_not_allowed",
            "URLs are not allowed here: gatebot never calls an address a repository names; "
            "ask the operator to declare a target (GATEBOT_DEPLOY_TARGETS) and use "
            "`via: {target: NAME}`",
        )
    return _no_secret(value)


def _no_secret(value: str) -> str:
    if looks_like_secret(value):
        raise PydanticCustomError(
            "secret_not_allowed",
            "this looks like a secret; policy files are readable by everyone with read "
            "access — keep secrets in the operator's configuration",
        )
    return value


def _template(allowed: frozenset[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise PydanticCustomError(
                "bad_template", "bad template `{value}`: {reason}",
                {"value": value, "reason": str(exc)},
            ) from None
        for field in fields:
            if field not in allowed:
                raise PydanticCustomError(
                    "bad_template",
                    "unknown placeholder `{placeholder}`; available: {available}",
                    {
                        "placeholder": f"{{{field}}}",
                        "available": ", ".join(f"{{{a}}}" for a in sorted(allowed)),
                    },
                )
        return _no_secret(value)

    return check


PathGlob = Annotated[str, AfterValidator(_glob(validate_path_glob))]
"""A gitignore-style path glob, e.g. `services/api/**` or `*.md`."""
RefGlob = Annotated[str, AfterValidator(_glob(validate_ref_glob))]
"""A branch-name glob: `*` and `?` stay within one `/` segment, `**` crosses them."""
Regex = Annotated[str, AfterValidator(_regex)]
"""An RE2 regular expression, searched (not anchored unless it says so)."""
Comparison = Annotated[
    str,
    BeforeValidator(_bare_number),
    AfterValidator(_comparison),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^\s*(<=|>=|==|!=|<|>|=)?\s*\d{1,9}\s*$",
                    "examples": ["<= 50", "> 100"],
                },
                {"type": "integer", "minimum": 0, "maximum": 999999999},
            ]
        }
    ),
]
"""A comparison with a whole number, e.g. `"<= 50"` or `"> 100"`; a bare number means `==`."""
Name = Annotated[str, AfterValidator(_name)]
TargetName = Annotated[str, AfterValidator(_no_url_or_secret), AfterValidator(_name)]
Team = Annotated[str, AfterValidator(_team)]
Login = Annotated[str, Field(min_length=1, max_length=100)]
SafeText = Annotated[str, AfterValidator(_no_url_or_secret)]
TemplateTitle = Annotated[str, AfterValidator(_template(TITLE_PLACEHOLDERS))]
DeployValue = Annotated[str, AfterValidator(_template(DEPLOY_PLACEHOLDERS))]


# --------------------------------------------------------------------------
# Predicates


class ChangedFiles(StrictModel):
    """True when any changed file (a rename counts as its old and new path) matches
    `paths` and is not matched by `ignore`."""

    paths: list[PathGlob] = Field(min_length=1)
    """Globs of the files that make the predicate true."""
    ignore: list[PathGlob] = []
    """Globs of files that never count, even when `paths` matches them."""


class PathList(StrictModel):
    """A list of path globs."""

    paths: list[PathGlob] = Field(min_length=1)
    """Gitignore-style globs."""


class ModifiedLines(StrictModel):
    """Compares the PR's added, deleted or total changed lines; every given bound must hold."""

    additions: Comparison | None = None
    """Lines added, e.g. `"> 100"`."""
    deletions: Comparison | None = None
    """Lines deleted."""
    total: Comparison | None = None
    """Lines added plus lines deleted."""

    @model_validator(mode="after")
    def _one_bound(self) -> ModifiedLines:
        if self.additions is None and self.deletions is None and self.total is None:
            raise PydanticCustomError(
                "empty_predicate", "modified_lines needs `additions`, `deletions` or `total`"
            )
        return self


class ActorSet(StrictModel):
    """A set of people: listed users, members of listed teams or organisations."""

    users: list[Login] = []
    """Logins (GitHub) or usernames (GitLab)."""
    teams: list[Team] = []
    """Teams as `org/team-slug` (GitLab: group paths)."""
    organizations: list[Login] = []
    """Organisations (GitLab: top-level groups) whose members belong to the set."""

    @model_validator(mode="after")
    def _not_empty(self) -> ActorSet:
        if not (self.users or self.teams or self.organizations):
            raise PydanticCustomError(
                "empty_predicate", "list at least one of `users`, `teams` or `organizations`"
            )
        return self


class AuthorPredicate(StrictModel):
    """True when the PR author is (`in`) or is not (`not_in`) in a set of people."""

    in_: ActorSet | None = Field(default=None, alias="in")
    """The author must be one of these people."""
    not_in: ActorSet | None = None
    """The author must not be one of these people."""

    @model_validator(mode="after")
    def _one_side(self) -> AuthorPredicate:
        if self.in_ is None and self.not_in is None:
            raise PydanticCustomError("empty_predicate", "author needs `in` or `not_in`")
        return self


class LabelPredicate(StrictModel):
    """Label tests, case-insensitive; every given list must hold."""

    all: list[str] = []
    """Every one of these labels is present."""
    any: list[str] = []
    """At least one of these labels is present."""
    none: list[str] = []
    """None of these labels is present."""

    @model_validator(mode="after")
    def _one_list(self) -> LabelPredicate:
        if not (self.all or self.any or self.none):
            raise PydanticCustomError("empty_predicate", "labels needs `all`, `any` or `none`")
        return self


class TitlePredicate(StrictModel):
    """Title tests with RE2 regexes (searched; case-sensitive unless `(?i)`)."""

    matches: list[Regex] = []
    """The title matches at least one of these."""
    not_matches: list[Regex] = []
    """The title matches none of these."""

    @model_validator(mode="after")
    def _one_list(self) -> TitlePredicate:
        if not (self.matches or self.not_matches):
            raise PydanticCustomError("empty_predicate", "title needs `matches` or `not_matches`")
        return self


class ChecksPredicate(StrictModel):
    """Check results by name or glob (`*` matches any characters)."""

    success: list[str] = []
    """Each of these has a passing result (success, neutral, skipped)."""
    failure: list[str] = []
    """At least one of these has a failing result."""

    @model_validator(mode="after")
    def _one_list(self) -> ChecksPredicate:
        if not (self.success or self.failure):
            raise PydanticCustomError("empty_predicate", "checks needs `success` or `failure`")
        return self


class Predicates(StrictModel):
    """A condition: every key given must hold. Combine with `all`, `any` and `not`."""

    changed_files: ChangedFiles | None = None
    """Some changed file matches `paths` and not `ignore`. True when the forge truncated
    the file list."""
    only_changed_files: PathList | None = None
    """Every changed file matches `paths` (false when no files, or the list was truncated)."""
    no_changed_files: PathList | None = None
    """No changed file matches `paths` (false when the list was truncated)."""
    changed_files_count: Comparison | None = None
    """The number of changed files compared with a bound, e.g. `"<= 50"`."""
    modified_lines: ModifiedLines | None = None
    """Added / deleted / total lines compared with bounds."""
    author: AuthorPredicate | None = None
    """The PR author is, or is not, in a set of people."""
    author_is_only_contributor: bool | None = None
    """Whether the author wrote and committed every commit and nobody else pushed
    (false when the commit list was truncated)."""
    target_branch: list[RefGlob] | None = Field(default=None, min_length=1)
    """The base (target) branch matches one of these globs."""
    source_branch: list[RefGlob] | None = Field(default=None, min_length=1)
    """The head (source) branch matches one of these globs."""
    labels: LabelPredicate | None = None
    """Label tests (case-insensitive)."""
    title: TitlePredicate | None = None
    """Title regex tests."""
    draft: bool | None = None
    """Whether the PR is a draft."""
    checks: ChecksPredicate | None = None
    """Required check results."""
    all_: list[Predicates] | None = Field(default=None, alias="all", min_length=1)
    """Every one of these conditions holds."""
    any_: list[Predicates] | None = Field(default=None, alias="any", min_length=1)
    """At least one of these conditions holds."""
    not_: Predicates | None = Field(default=None, alias="not")
    """This condition does not hold."""

    @model_validator(mode="after")
    def _not_empty(self) -> Predicates:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "empty_predicate",
                "empty condition: give at least one predicate such as `changed_files`",
            )
        return self


# --------------------------------------------------------------------------
# Rules


class Approvers(StrictModel):
    """Who may approve. The entries are alternatives: any one qualifies a person."""

    users: list[Login] = []
    """These people."""
    teams: list[Team] = []
    """Members of these teams (`org/team-slug`; GitLab: group paths)."""
    organizations: list[Login] = []
    """Members of these organisations."""
    permission: Permission | None = None
    """Anyone with at least this repository permission
    (admin > maintain > write > triage > read)."""
    code_owners: bool = False
    """Owners of the changed files per CODEOWNERS on the base branch; also requires every
    changed file that has owners to be approved by one of its owners."""


class Requires(StrictModel):
    """What a rule needs once its `if` holds."""

    approvals: int = Field(ge=0, le=100)
    """How many distinct qualifying people must approve (0: none)."""
    from_: Approvers | None = Field(default=None, alias="from")
    """Who qualifies. Without it: anyone with at least write permission."""
    distinct_teams: int | None = Field(default=None, ge=1, le=50)
    """The counted approvals must include members of this many different teams listed in
    `from.teams`, one person per team."""
    conditions: Predicates | None = None
    """Conditions that must hold, or the rule stays pending."""

    @model_validator(mode="after")
    def _distinct_teams(self) -> Requires:
        if self.distinct_teams is not None:
            teams = self.from_.teams if self.from_ else []
            if self.distinct_teams > len(teams):
                raise PydanticCustomError(
                    "invalid_value",
                    "distinct_teams is {n} but `from.teams` lists {count}",
                    {"n": self.distinct_teams, "count": len(teams)},
                )
            if self.distinct_teams > self.approvals:
                raise PydanticCustomError(
                    "invalid_value",
                    "distinct_teams ({n}) cannot exceed approvals ({approvals})",
                    {"n": self.distinct_teams, "approvals": self.approvals},
                )
        return self


class ApprovalMethods(StrictModel):
    """How a person approves. Comment methods are opt-in."""

    review: bool = True
    """An "Approve" review (GitHub) or an approval (GitLab)."""
    comments: list[str] = []
    """A comment (or review body) equal to one of these, after trimming white space."""
    comment_patterns: list[Regex] = []
    """A comment (or review body) matching one of these RE2 regexes."""


class RuleOptions(StrictModel):
    """Fine-tuning of who and what counts for a rule."""

    allow_author: bool = False
    """Let the PR author's approval count."""
    allow_contributors: bool = False
    """Let commit authors, committers and pushers (other than the author) count."""
    invalidate_on_push: bool = True
    """Count only approvals given on the current head (update merges aside)."""
    ignore_update_merges: bool = True
    """An update merge from the base branch does not invalidate approvals."""
    ignore_edited_comments: bool = True
    """An edited comment never approves."""
    methods: ApprovalMethods = ApprovalMethods()
    """How a person approves."""


class Rule(StrictModel):
    """A named approval rule: when `if` holds, `requires` must be met."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\n\r]+$")
    """Unique name, referenced from `policy.approval`."""
    description: str | None = None
    """Shown to reviewers in the status details."""
    if_: Predicates | None = Field(default=None, alias="if")
    """Every predicate must hold, else the rule is skipped."""
    requires: Requires
    """What the rule needs."""
    options: RuleOptions = RuleOptions()
    """Who and what counts."""


# --------------------------------------------------------------------------
# The approval tree and disapproval


def _approval_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "rule-name"
    if isinstance(value, dict):
        if "and" in value:
            return "and-item"
        if "or" in value:
            return "or-item"
        return None
    if isinstance(value, AndNode):
        return "and-item"
    if isinstance(value, OrNode):
        return "or-item"
    return None


ApprovalItem = Annotated[
    Annotated[str, Tag("rule-name")]
    | Annotated["AndNode", Tag("and-item")]
    | Annotated["OrNode", Tag("or-item")],
    Discriminator(
        _approval_kind,
        custom_error_type="invalid_approval_item",
        custom_error_message="expected a rule name, `{and: [...]}` or `{or: [...]}`",
    ),
]


class AndNode(StrictModel):
    """Approved when no child is pending and at least one is approved."""

    and_: list[ApprovalItem] = Field(alias="and", min_length=1)
    """Rule names or nested `and` / `or` items."""


class OrNode(StrictModel):
    """Approved when any child is approved."""

    or_: list[ApprovalItem] = Field(alias="or", min_length=1)
    """Rule names or nested `and` / `or` items."""


class DisapprovalMethods(StrictModel):
    """How a person in `disapproval.from` blocks the PR."""

    review: bool = True
    """A "Request changes" review."""
    comments: list[str] = []
    """A comment equal to one of these (trimmed), e.g. `/block`."""
    comment_patterns: list[Regex] = []
    """A comment matching one of these RE2 regexes."""


class Disapproval(StrictModel):
    """What blocks the PR. Without this section: a change request from anyone with write
    permission blocks, as on GitHub."""

    enabled: bool = True
    """`false` turns disapproval off entirely."""
    if_: Predicates | None = Field(default=None, alias="if")
    """Disapproved while this condition holds (e.g. a `blocked` label)."""
    from_: Approvers | None = Field(default=None, alias="from")
    """Whose change requests / block comments count (default: write permission)."""
    methods: DisapprovalMethods = DisapprovalMethods()
    """How they block."""


class PolicySection(StrictModel):
    """The approval tree and disapproval settings."""

    approval: list[ApprovalItem] = Field(min_length=1)
    """Every item must be approved (a list is an `and`). Items are rule names,
    `{and: [...]}` or `{or: [...]}`."""
    disapproval: Disapproval | None = None
    """Who and what blocks the PR."""


# --------------------------------------------------------------------------
# Checks, merge, deploy, commands


class NamedCheck(StrictModel):
    """A required check bound to the app (or status creator) that must report it."""

    name: str = Field(min_length=1)
    """Check run name or status context; `*` matches any characters."""
    app: str | None = None
    """Only results from this app slug / status creator login count (`[bot]` optional)."""


def _check_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "check-name"
    if isinstance(value, dict | NamedCheck):
        return "check-object"
    return None


CheckSpec = Annotated[
    Annotated[str, Tag("check-name")] | Annotated[NamedCheck, Tag("check-object")],
    Discriminator(
        _check_kind,
        custom_error_type="invalid_check",
        custom_error_message="expected a check name or `{name: ..., app: ...}`",
    ),
]


class MergeSignals(StrictModel):
    """Signals read from the PR: any one present counts."""

    labels: list[str] = []
    """Labels (case-insensitive)."""
    title: list[Regex] = []
    """RE2 regexes searched in the title."""


class MergeConfig(StrictModel):
    """Automatic merging of the exact approved commit."""

    auto: bool = False
    """Merge as soon as the gate passes."""
    trigger: MergeSignals | None = None
    """With `auto`: merge only when at least one of these signals is present."""
    block: MergeSignals | None = None
    """Never merge while any of these signals is present (shown in the status)."""
    method: Literal["merge", "squash", "rebase"] = "merge"
    """The merge method."""
    commit_title: TemplateTitle | None = None
    """Template for the merge commit title: {title}, {number}, {head_ref}, {base_ref},
    {author}."""
    commit_message: Literal["body", "commits", "empty"] = "body"
    """The merge commit message: the PR body, the commit messages, or nothing."""
    delete_branch: bool = False
    """Delete the head branch after merging (never for forks)."""
    update_branch: bool = False
    """Update a branch that is behind its base before merging."""


class GithubDeployment(StrictModel):
    """A GitHub Deployment of the merge commit."""

    description: DeployValue | None = None
    """Deployment description."""
    payload: dict[str, DeployValue] = {}
    """Extra payload passed to the deployment."""


class WorkflowDispatch(StrictModel):
    """A `workflow_dispatch` event for a GitHub Actions workflow."""

    workflow: SafeText = Field(min_length=1)
    """Workflow file name (e.g. `deploy.yml`) or id."""
    ref: SafeText = Field(min_length=1)
    """Branch or tag the workflow runs on (not a SHA: the merge SHA travels as an input)."""
    inputs: dict[str, DeployValue] = {}
    """Workflow inputs; may use {merge_sha}, {number}, {base}, {environment}."""

    @model_validator(mode="after")
    def _ref_not_sha(self) -> WorkflowDispatch:
        if _SHA_RE.match(self.ref) or "{" in self.ref:
            raise PydanticCustomError(
                "invalid_value",
                "workflow_dispatch needs a branch or tag as `ref`; pass the merge SHA as an "
                "input, e.g. `inputs: {sha: \"{merge_sha}\"}`",
            )
        return self


class RepositoryDispatch(StrictModel):
    """A `repository_dispatch` event."""

    event_type: SafeText = Field(min_length=1, max_length=100)
    """The event type the receiving workflow listens for."""
    client_payload: dict[str, DeployValue] = {}
    """Payload values; may use the deploy placeholders."""


class GitlabPipeline(StrictModel):
    """A GitLab pipeline on the merge commit's branch."""

    ref: SafeText | None = None
    """Branch or tag to run on (default: the branch merged into)."""
    variables: dict[str, DeployValue] = {}
    """Pipeline variables; may use the deploy placeholders."""


class DeployVia(StrictModel):
    """How to deploy: exactly one method."""

    github_deployment: GithubDeployment | None = None
    """GitHub Deployments API."""
    workflow_dispatch: WorkflowDispatch | None = None
    """A GitHub Actions `workflow_dispatch`."""
    repository_dispatch: RepositoryDispatch | None = None
    """A GitHub `repository_dispatch`."""
    gitlab_pipeline: GitlabPipeline | None = None
    """A GitLab pipeline."""
    target: TargetName | None = None
    """The name of a target declared by the operator in GATEBOT_DEPLOY_TARGETS."""

    @model_validator(mode="after")
    def _exactly_one(self) -> DeployVia:
        if len(self.model_fields_set) != 1:
            raise PydanticCustomError(
                "invalid_value",
                "`via` needs exactly one of github_deployment, workflow_dispatch, "
                "repository_dispatch, gitlab_pipeline, target",
            )
        return self


class DeployEntry(StrictModel):
    """Deploy the merge commit after a merge into one of `branches`."""

    name: Name
    """Unique deploy name (used by `/gate deploy NAME`)."""
    branches: list[RefGlob] = Field(min_length=1)
    """Branches whose merges are deployed."""
    environment: SafeText | None = None
    """Environment name (default: the deploy name)."""
    via: DeployVia
    """How to deploy."""


class CommandPermission(StrictModel):
    """Who may run a command: anyone matching any entry."""

    permission: Permission | None = None
    """Minimum repository permission."""
    teams: list[Team] = []
    """Members of these teams."""
    users: list[Login] = []
    """These people."""


class CommandsConfig(StrictModel):
    """Comment commands."""

    prefix: str = Field(default="/gate", pattern=r"^[/!.#]?[A-Za-z][A-Za-z0-9_-]{0,30}$")
    """Command prefix at the start of a comment line; an @mention of the App also works."""
    allow: dict[CommandName, CommandPermission] = {}
    """Per-command permissions, replacing the defaults (help/status/recheck: read;
    merge/cancel/hold/unhold: write; deploy: maintain; override: admin)."""


class Policy(StrictModel):
    """A gatebot policy file (version 1)."""

    version: Literal[1]
    """Always 1."""
    mode: Literal["enforce", "report"] = "enforce"
    """`report`: shadow mode — explain in a neutral check run, never block, merge or deploy."""
    policy: PolicySection
    """The approval tree and disapproval."""
    rules: list[Rule] = []
    """Named approval rules."""
    checks: list[CheckSpec] = []
    """Required CI results by name or glob, beside the approval tree."""
    merge: MergeConfig | None = None
    """Automatic merging."""
    deploy: list[DeployEntry] = []
    """Deployments of the merge commit."""
    commands: CommandsConfig = CommandsConfig()
    """Comment commands."""


_REMOTE_RE = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?(@[^\s@]+)?$"


class RemotePolicy(StrictModel):
    """A pointer to a shared policy in another repository (one level deep)."""

    remote: str = Field(pattern=_REMOTE_RE)
    """`owner/repo[/path][@ref]`; the default path is the forge's policy path."""


def permission_at_least(have: str | None, need: str) -> bool:
    """Whether permission `have` (or None: no access) is at least `need`."""
    if have is None or have not in PERMISSION_ORDER:
        return False
    return PERMISSION_ORDER.index(have) >= PERMISSION_ORDER.index(need)
