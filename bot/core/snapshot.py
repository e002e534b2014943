"""A pull request as the policy sees it: frozen, provider-neutral facts.

The providers (GitHub, GitLab) fetch a `Snapshot`; the store adds what only
events can tell (the PR's head history, holds, overrides, tampering marks);
the core evaluates it without any I/O and without reading the clock —
`evaluated_at` is the time. A snapshot round-trips through JSON (`Snapshot.model_validate_json`
and `model_dump_json`), which is how `gatebot evaluate` and the tests feed it.

Logins, team slugs and organisation names are compared case-insensitively by
the evaluation, as the forges do; the snapshot keeps them as the forge wrote
them so explanations show familiar spellings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
"""A person's repository permission (GitHub role name; GitLab: Owner = admin,
Maintainer = maintain, Developer = write, Reporter = triage, Guest = read)."""

FileStatus = Literal["added", "modified", "removed", "renamed", "copied", "changed", "unchanged"]

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]

CheckKind = Literal["check_run", "status"]

CheckState = Literal[
    # passing
    "success",
    "neutral",
    "skipped",
    # failing
    "failure",
    "cancelled",
    "timed_out",
    "action_required",
    "error",
    # not finished: never passing
    "stale",
    "queued",
    "in_progress",
    "pending",
    "waiting",
    "requested",
    "expected",
]
"""A check run's conclusion (or its status while not completed) or a commit
status's state, in one vocabulary."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """A person or bot account."""

    login: str = Field(min_length=1)
    is_bot: bool = False


class ChangedFile(_Frozen):
    """One changed file; a rename has its old path in `previous_path`."""

    path: str = Field(min_length=1)
    previous_path: str | None = None
    status: FileStatus = "modified"
    additions: int = Field(default=0, ge=0)
    deletions: int = Field(default=0, ge=0)


class Commit(_Frozen):
    """One commit of the PR. `author` / `committer` are forge logins, or None
    when the commit's e-mail belongs to no account."""

    sha: str = Field(min_length=1)
    parents: tuple[str, ...] = ()
    author: str | None = None
    committer: str | None = None
    is_update_merge: bool = False
    """A merge commit bringing the base branch in with no change of its own: its
    first parent is an earlier commit of the PR, its other parent is on the base
    branch, every path it changes against the first parent has the base
    parent's content, and it leaves out none of the base's changes. Adapters
    recognise it by that content, never by a committer name (GitHub: see
    `bot.providers.github.update_merges`; GitLab flags none)."""
    merge_note: str | None = None
    """For a merge of the base branch that is not an update merge: why not
    (what it changes of its own, or that its changes could not be read)."""


class Review(_Frozen):
    """A submitted review (GitLab: an approval is APPROVED, an unapproval DISMISSED)."""

    id: int | str
    author: Actor
    state: ReviewState
    commit_sha: str | None = None
    """The head the review was given on."""
    submitted_at: AwareDatetime
    body: str = ""
    edited: bool = False
    """Its body was edited after it was submitted (only the webhook tells)."""
    edited_by: str | None = None
    """Who last edited the body (the webhook's `sender`), when known."""
    edited_at: AwareDatetime | None = None


class Comment(_Frozen):
    """A conversation comment on the PR (inline review comments are not listed)."""

    id: int | str
    author: Actor
    body: str
    created_at: AwareDatetime
    edited: bool = False
    edited_by: str | None = None
    """Who last edited it (the webhook's `sender`), when known."""
    edited_at: AwareDatetime | None = None


class CheckResult(_Frozen):
    """A check run (by name) or a commit status (by context) on the head SHA."""

    name: str = Field(min_length=1)
    kind: CheckKind = "check_run"
    app: str | None = None
    """The check run's app slug, or the login of the status's creator."""
    state: CheckState
    completed_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    """When this result was last written; the latest per name wins."""


class HeadChange(_Frozen):
    """One recorded change of the PR's head or base: from `at` on, the PR's head was
    `sha` and its base `base_ref`.

    The bot records a change from the event that announced it (`synchronize`,
    a retarget) or, when that event was missed, when it first read the new
    head or base. A snapshot lists the changes in the order they were
    recorded, oldest first; the order, not `at`, says which came last.
    """

    sha: str = Field(min_length=1)
    base_ref: str = Field(min_length=1)
    at: AwareDatetime
    pusher: str | None = None
    """Who pushed this head (the push event's sender), when known."""


class Hold(_Frozen):
    """An active `/gate hold`."""

    by: str
    at: AwareDatetime
    reason: str = ""


class Override(_Frozen):
    """A recorded `/gate override`, bound to one head SHA."""

    sha: str = Field(min_length=1)
    by: str
    reason: str
    at: AwareDatetime


class TamperMark(_Frozen):
    """A comment edited by someone other than its author, as the web tier saw it.
    A review body's mark names it `review-<review id>`."""

    comment_id: int | str
    editor: str
    author: str
    at: AwareDatetime


class Directory(_Frozen):
    """Who belongs where and who may do what, as far as this PR needs to know."""

    teams: dict[str, tuple[str, ...]] = {}
    """Team slug `org/team` (GitLab: group path) → member logins."""
    organizations: dict[str, tuple[str, ...]] = {}
    """Organisation (GitLab: top-level group) → member logins."""
    permissions: dict[str, Permission] = {}
    """Login → repository permission; a person missing here has none."""


class BotIdentity(_Frozen):
    """The bot itself: its accounts never approve, its contexts never count as checks."""

    logins: tuple[str, ...] = ()
    context_prefix: str = "gatebot"


class Snapshot(_Frozen):
    """Everything the policy may ask about one pull request at one moment."""

    number: int = Field(ge=1)
    title: str
    body: str = ""
    author: Actor
    draft: bool = False
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    labels: tuple[str, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    files_truncated: bool = False
    """The forge stopped listing files (GitHub: at 3,000)."""
    files_count: int | None = Field(default=None, ge=0)
    """The forge's own count of changed files, exact even when the list is truncated;
    None: count the list."""
    additions: int | None = Field(default=None, ge=0)
    """Lines added over the whole PR as the forge reports it; None: sum the files."""
    deletions: int | None = Field(default=None, ge=0)
    """Lines deleted over the whole PR as the forge reports it; None: sum the files."""
    commits: tuple[Commit, ...] = ()
    commits_truncated: bool = False
    """The forge stopped listing commits (GitHub: at 250): contributors beyond
    the list cannot be ruled out."""
    pushers: tuple[str, ...] = ()
    """Everyone who pushed to the head branch while it was a PR."""
    reviews: tuple[Review, ...] = ()
    comments: tuple[Comment, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    head_history: tuple[HeadChange, ...] = ()
    """Every recorded change of this PR's head or base, oldest first: a head's push
    time is the latest time it became the head, a retarget is a change of base."""
    holds: tuple[Hold, ...] = ()
    overrides: tuple[Override, ...] = ()
    tampering: tuple[TamperMark, ...] = ()
    directory: Directory = Directory()
    codeowners: str | None = None
    """CODEOWNERS of the base branch, as text; None when there is none."""
    bot: BotIdentity = BotIdentity()
    evaluated_at: AwareDatetime
