"""The fake GitHub's world: accounts, installations, repositories and their git
history, pull requests and everything hanging off them.

Plain dataclasses plus `World`, which owns them behind one re-entrant lock and
implements the rules both sides need: the HTTP handlers (what GitHub does
when the bot calls) and the arrange API (what a test says happened). Nothing
here knows about HTTP or JSON shapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MERGE_METHODS = ("merge", "squash", "rebase")

# GitHub's built-in repository roles, weakest first, and what
# `repos/get-collaborator-permission-level` folds them into in `permission`.
ROLES = ("read", "triage", "write", "maintain", "admin")
FOLDED_PERMISSION = {
    "read": "read",
    "triage": "read",
    "write": "write",
    "maintain": "write",
    "admin": "admin",
    "none": "none",
}
# The booleans of `user.permissions` for each base role.
_ROLE_FLAGS = {
    "none": (),
    "read": ("pull",),
    "triage": ("pull", "triage"),
    "write": ("pull", "triage", "push"),
    "maintain": ("pull", "triage", "push", "maintain"),
    "admin": ("pull", "triage", "push", "maintain", "admin"),
}

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


_clock: Callable[[], dt.datetime] | None = None


def utcnow() -> dt.datetime:
    """GitHub's time, to the second: the wall clock, or the clock a test installed."""
    now = _clock() if _clock is not None else dt.datetime.now(dt.UTC)
    return now.replace(microsecond=0)


@contextmanager
def clock_source(source: Callable[[], dt.datetime]) -> Iterator[None]:
    """Every fake GitHub reads `source` for its times while inside (a simulated clock
    the code under test shares, so that event order and timestamps agree)."""
    global _clock
    previous, _clock = _clock, source
    try:
        yield
    finally:
        _clock = previous


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def blob_sha(data: bytes) -> str:
    """The git blob id of `data`, as GitHub reports it in `sha` of a content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def permission_flags(base_role: str) -> dict[str, bool]:
    granted = _ROLE_FLAGS[base_role]
    return {flag: flag in granted for flag in ("admin", "maintain", "push", "triage", "pull")}


class GitHubError(Exception):
    """An answer other than success, raised by World rules and turned into an HTTP error."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass
class Account:
    login: str
    id: int
    type: str = "User"  # "User", "Organization" or "Bot"
    site_admin: bool = False


@dataclass
class Installation:
    id: int
    account: str
    repositories: set[str] | None  # lower-case full names; None means "all"
    permissions: dict[str, str]
    suspended: bool = False

    @property
    def repository_selection(self) -> str:
        return "all" if self.repositories is None else "selected"


@dataclass
class AccessToken:
    token: str
    installation_id: int
    expires_at: dt.datetime
    repositories: frozenset[str] | None  # restricted at mint time, else the installation's
    permissions: dict[str, str]
    revoked: bool = False


@dataclass
class ChangedFile:
    """One entry of a pull request's (or commit's) file list."""

    filename: str
    status: str = "modified"
    additions: int = 1
    deletions: int = 0
    previous_filename: str | None = None
    patch: str | None = None
    sha: str | None = None

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass
class Commit:
    sha: str
    parents: list[str]
    message: str
    author: str | None  # login; None for an author GitHub cannot map to an account
    committer: str | None
    date: dt.datetime
    tree: dict[str, bytes]
    files: list[ChangedFile] = field(default_factory=list)
    author_name: str | None = None
    author_email: str | None = None


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: dt.datetime


@dataclass
class Comment:
    id: int
    number: int
    user: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Review:
    id: int
    number: int
    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    body: str
    commit_id: str
    submitted_at: dt.datetime | None
    dismissal_message: str | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str = ""
    default: bool = False


@dataclass
class Status:
    id: int
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    app_id: int
    app_slug: str
    app_owner: str
    external_id: str | None
    details_url: str | None
    output: dict[str, Any]
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    check_suite_id: int
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DeploymentStatus:
    id: int
    deployment_id: int
    state: str
    description: str
    environment: str
    log_url: str | None
    environment_url: str | None
    creator: str
    created_at: dt.datetime


@dataclass
class Deployment:
    id: int
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    payload: Any
    description: str | None
    creator: str
    auto_merge: bool
    required_contexts: list[str] | None
    transient_environment: bool
    production_environment: bool
    created_at: dt.datetime
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Dispatch:
    """A workflow_dispatch ("workflow") or repository_dispatch ("repository")."""

    kind: str
    repo: str
    sender: str
    at: dt.datetime
    workflow_id: str | None = None
    ref: str | None = None
    inputs: dict[str, Any] | None = None
    event_type: str | None = None
    client_payload: dict[str, Any] | None = None


@dataclass
class WorkflowRun:
    """A run a workflow dispatch started (named in the dispatch's answer when asked
    for with `return_run_details`); tests move it on with `FakeGitHub.finish_run`."""

    id: int
    repo: str
    workflow_id: str
    ref: str
    head_sha: str
    actor: str
    created_at: dt.datetime
    status: str = "queued"
    conclusion: str | None = None
    updated_at: dt.datetime | None = None


@dataclass
class MergeRecord:
    repo: str
    number: int
    method: str
    requested_sha: str | None
    head_sha: str
    commit_title: str | None
    commit_message: str | None
    merge_commit_sha: str
    merged_by: str
    at: dt.datetime


@dataclass
class BranchUpdate:
    repo: str
    number: int
    expected_head_sha: str | None
    old_head_sha: str
    new_head_sha: str
    sender: str


@dataclass
class PullRequest:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    base_ref: str
    head_ref: str
    head_sha: str
    draft: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    merged: bool = False
    merged_at: dt.datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: dt.datetime | None = None
    files: list[ChangedFile] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    head_history: list[str] = field(default_factory=list)
    # GitHub computes mergeability in the background: True until the first
    # read after a change to head or base, which answers null and "unknown".
    mergeable_pending: bool = True
    conflicting: bool = False
    mergeable_state_override: str | None = None
    locked: bool = False
    maintainer_can_modify: bool = False
    last_pusher: str | None = None

    @property
    def reviews_sorted(self) -> list[Review]:
        return sorted(self.reviews, key=lambda r: r.id)


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    members: dict[str, str] = field(default_factory=dict)  # login -> "member" | "maintainer"
    pending: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    privacy: str = "closed"


@dataclass
class Organization:
    login: str
    members: set[str] = field(default_factory=set)
    teams: dict[str, Team] = field(default_factory=dict)


@dataclass
class Collaborator:
    role_name: str  # a built-in role or a custom role's name
    base_role: str  # the built-in role a custom role inherits from


@dataclass
class MergeGroup:
    """A merge-queue group: its head commit on `head_ref`, built on `base_sha`."""

    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool
    archived: bool
    merge_methods: set[str]
    created_at: dt.datetime
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    collaborators: dict[str, Collaborator] = field(default_factory=dict)
    protections: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    workflow_runs: dict[int, WorkflowRun] = field(default_factory=dict)
    delete_branch_on_merge: bool = False
    # The merge queue's commits: the one it built for a PR (its squash or
    # merge), by SHA -> that PR's number; and each group it asked checks for.
    queue_commits: dict[str, int] = field(default_factory=dict)
    merge_groups: dict[str, MergeGroup] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        return self.full_name.lower()


class World:
    """Everything the fake knows, behind one lock (`with world.lock:`)."""

    def __init__(self, app_id: int, app_slug: str, app_owner: str) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._shas = itertools.count(1)
        self.app_id = app_id
        self.app_slug = app_slug
        self.app_owner = app_owner
        self.accounts: dict[str, Account] = {}
        self.orgs: dict[str, Organization] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.repos: dict[str, Repo] = {}
        self.merges: list[MergeRecord] = []
        self.dispatches: list[Dispatch] = []
        self.branch_updates: list[BranchUpdate] = []
        self.deleted_refs: list[tuple[str, str]] = []
        self.manifest_codes: dict[str, dict[str, Any]] = {}
        self.token_mints = 0
        self.account(app_owner, kind="Organization")
        self.account(self.bot_login, kind="Bot")

    # -- identities ---------------------------------------------------------

    @property
    def bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    def next_id(self) -> int:
        return next(self._ids)

    def new_sha(self, label: str = "") -> str:
        return hashlib.sha1(f"fake-commit-{next(self._shas)}-{label}".encode()).hexdigest()

    def account(self, login: str, kind: str | None = None) -> Account:
        key = login.lower()
        found = self.accounts.get(key)
        if found is None:
            found = Account(login=login, id=self.next_id(), type=kind or "User")
            if login.endswith("[bot]") and kind is None:
                found.type = "Bot"
            self.accounts[key] = found
        elif kind is not None:
            found.type = kind
        return found

    def known_account(self, login: str) -> Account | None:
        return self.accounts.get(login.lower())

    def org(self, login: str) -> Organization:
        key = login.lower()
        if key not in self.orgs:
            self.account(login, kind="Organization")
            self.orgs[key] = Organization(login=self.accounts[key].login)
        return self.orgs[key]

    # -- repositories and git -----------------------------------------------

    def repo(self, full_name: str) -> Repo:
        found = self.repos.get(full_name.lower())
        if found is None:
            raise GitHubError(404, "Not Found")
        return found

    def resolve(self, repo: Repo, ref: str | None) -> str | None:
        """The commit SHA `ref` names (branch, tag, refs/..., full or abbreviated SHA)."""
        if ref is None or ref == "":
            ref = repo.default_branch
        for prefix in ("refs/heads/", "heads/"):
            if ref.startswith(prefix) and ref[len(prefix) :] in repo.branches:
                return repo.branches[ref[len(prefix) :]]
        for prefix in ("refs/tags/", "tags/"):
            if ref.startswith(prefix) and ref[len(prefix) :] in repo.tags:
                return repo.tags[ref[len(prefix) :]]
        # A bare name is looked up as git does (`git rev-parse`): a tag before a
        # branch of the same name; `refs/heads/<name>` names the branch only.
        if ref in repo.tags:
            return repo.tags[ref]
        if ref in repo.branches:
            return repo.branches[ref]
        if ref in repo.commits:
            return ref
        if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref.lower()):
            matches = [sha for sha in repo.commits if sha.startswith(ref.lower())]
            if len(matches) == 1:
                return matches[0]
        return None

    def add_commit(
        self,
        repo: Repo,
        parents: list[str],
        *,
        sha: str | None = None,
        message: str = "A commit",
        author: str | None = None,
        committer: str | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        files: list[ChangedFile] | None = None,
        tree: dict[str, bytes] | None = None,
        date: dt.datetime | None = None,
    ) -> Commit:
        """A new commit whose tree is its first parent's plus `contents` (None deletes a path)."""
        sha = (sha or self.new_sha(message)).lower()
        if sha in repo.commits:
            raise ValueError(f"{repo.full_name} already has a commit {sha}")
        if tree is None:
            tree = dict(repo.commits[parents[0]].tree) if parents else {}
        changed = list(files or [])
        listed = {f.filename for f in changed}
        for path, text in (contents or {}).items():
            if text is None:
                previous = tree.pop(path, None)
                if path not in listed and previous is not None:
                    changed.append(ChangedFile(path, "removed", 0, previous.count(b"\n") or 1))
                continue
            data = text.encode() if isinstance(text, str) else text
            existed = path in tree
            tree[path] = data
            if path not in listed:
                changed.append(
                    ChangedFile(path, "modified" if existed else "added", data.count(b"\n") or 1, 0)
                )
        for entry in changed:
            if entry.sha is None and entry.filename in tree:
                entry.sha = blob_sha(tree[entry.filename])
        for login in (author, committer):
            if login:
                self.account(login)
        commit = Commit(
            sha=sha,
            parents=list(parents),
            message=message,
            author=author,
            committer=committer,
            date=date or utcnow(),
            tree=tree,
            files=changed,
        )
        repo.commits[sha] = commit
        return commit

    def ancestors(self, repo: Repo, sha: str) -> set[str]:
        """`sha` and every commit reachable from it."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in repo.commits:
                continue
            seen.add(current)
            todo.extend(repo.commits[current].parents)
        return seen

    def ordered_commits(self, repo: Repo, include: set[str]) -> list[Commit]:
        """`include` in topological order, oldest first (parents before children)."""
        out: list[Commit] = []
        placed: set[str] = set()

        def place(sha: str) -> None:
            stack = [(sha, False)]
            while stack:
                current, expanded = stack.pop()
                if current in placed or current not in include:
                    continue
                if expanded:
                    placed.add(current)
                    out.append(repo.commits[current])
                    continue
                stack.append((current, True))
                for parent in reversed(repo.commits[current].parents):
                    stack.append((parent, False))

        for sha in sorted(include, key=lambda s: repo.commits[s].date):
            place(sha)
        return out

    def merge_base(self, repo: Repo, base: str, head: str) -> str | None:
        common = self.ancestors(repo, base) & self.ancestors(repo, head)
        if not common:
            return None
        ordered = self.ordered_commits(repo, common)
        return ordered[-1].sha if ordered else None

    def move_branch(self, repo: Repo, branch: str, sha: str) -> None:
        repo.branches[branch] = sha
        # A moved base branch makes GitHub recompute mergeability of its PRs.
        for pr in repo.pulls.values():
            if pr.state == "open" and pr.base_ref == branch:
                pr.mergeable_pending = True

    # -- pull requests ------------------------------------------------------

    def pull(self, repo: Repo, number: int) -> PullRequest:
        pr = repo.pulls.get(int(number))
        if pr is None:
            raise GitHubError(404, "Not Found")
        return pr

    def touch(self, pr: PullRequest) -> None:
        """GitHub moves a PR's `updated_at` on every timeline event: a review submitted
        or dismissed, a comment written, a label added or removed (checks and statuses
        never move it)."""
        pr.updated_at = utcnow()

    def set_head(self, repo: Repo, pr: PullRequest, sha: str) -> None:
        pr.head_history.append(sha)
        pr.head_sha = sha
        pr.updated_at = utcnow()
        pr.mergeable_pending = True
        if pr.head_ref in repo.branches or pr.state == "open":
            repo.branches[pr.head_ref] = sha

    def read_mergeable(self, repo: Repo, pr: PullRequest) -> tuple[bool | None, str]:
        """What a `pulls/get` answers now; the first read after a change answers null."""
        if pr.merged or pr.state != "open":
            return None, "unknown"
        if pr.mergeable_pending:
            pr.mergeable_pending = False
            return None, "unknown"
        return self.computed_mergeable(repo, pr)

    def computed_mergeable(self, repo: Repo, pr: PullRequest) -> tuple[bool, str]:
        if pr.conflicting:
            return False, "dirty"
        if pr.mergeable_state_override is not None:
            return True, pr.mergeable_state_override
        if pr.draft:
            return True, "draft"
        protection = repo.protections.get(pr.base_ref)
        if protection is not None:
            if self.protection_failures(repo, pr, protection):
                return True, "blocked"
            strict = (protection.get("required_status_checks") or {}).get("strict")
            base_sha = repo.branches.get(pr.base_ref)
            if strict and base_sha and base_sha not in self.ancestors(repo, pr.head_sha):
                return True, "behind"
        return True, "clean"

    def latest_check_results(self, repo: Repo, sha: str) -> dict[str, str | None]:
        """Context/check name -> latest state or conclusion on `sha` (success, failure, pending...)."""
        results: dict[str, str | None] = {}
        for status in repo.statuses:
            if status.sha == sha:
                results[status.context] = status.state
        for run in sorted(repo.check_runs.values(), key=lambda r: r.id):
            if run.head_sha == sha:
                results[run.name] = run.conclusion if run.status == "completed" else "pending"
        return results

    def protection_failures(
        self, repo: Repo, pr: PullRequest, protection: Mapping[str, Any]
    ) -> list[str]:
        """Why branch protection refuses the merge, in GitHub's words (empty: allowed)."""
        failures: list[str] = []
        checks = protection.get("required_status_checks") or {}
        results = self.latest_check_results(repo, pr.head_sha)
        for context in checks.get("contexts", []):
            state = results.get(context)
            if state is None or state == "pending":
                failures.append(f'Required status check "{context}" is expected.')
            elif state not in ("success", "neutral", "skipped"):
                failures.append(f'Required status check "{context}" is failing.')
        reviews = protection.get("required_pull_request_reviews") or {}
        needed = int(reviews.get("required_approving_review_count") or 0)
        if needed:
            latest: dict[str, Review] = {}
            for review in pr.reviews_sorted:
                if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                    latest[review.user.lower()] = review
            approvals = [
                r
                for r in latest.values()
                if r.state == "APPROVED"
                and self.base_role(repo, r.user) in ("write", "maintain", "admin")
            ]
            if any(r.state == "CHANGES_REQUESTED" for r in latest.values()):
                failures.append("Changes must be made through a pull request.")
            elif len(approvals) < needed:
                plural = "review is" if needed == 1 else "reviews are"
                failures.append(
                    f"At least {needed} approving {plural} required by reviewers with write access."
                )
        return failures

    # -- people -------------------------------------------------------------

    def base_role(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower() and self.account(repo.owner).type != "Organization":
            return "admin"
        found = repo.collaborators.get(login.lower())
        return found.base_role if found else "none"

    def role_name(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower() and self.account(repo.owner).type != "Organization":
            return "admin"
        found = repo.collaborators.get(login.lower())
        return found.role_name if found else "none"

    def author_association(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        org = self.orgs.get(repo.owner.lower())
        if org is not None and login.lower() in {m.lower() for m in org.members}:
            return "MEMBER"
        if login.lower() in repo.collaborators:
            return "COLLABORATOR"
        for pr in repo.pulls.values():
            if pr.merged and pr.user.lower() == login.lower():
                return "CONTRIBUTOR"
        return "NONE"

    # -- checks -------------------------------------------------------------

    def combined_state(self, repo: Repo, sha: str) -> str:
        latest: dict[str, Status] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status
        states = [s.state for s in latest.values()]
        if any(s in ("error", "failure") for s in states):
            return "failure"
        if not states or any(s == "pending" for s in states):
            return "pending"
        return "success"

    def installation_for_repo(self, full_name: str) -> Installation | None:
        key = full_name.lower()
        owner = key.split("/", 1)[0]
        for installation in self.installations.values():
            if installation.account.lower() != owner:
                continue
            if installation.repositories is None or key in installation.repositories:
                return installation
        return None


def as_changed_files(
    files: Iterable[str | Mapping[str, Any] | ChangedFile] | None,
) -> list[ChangedFile]:
    """Accept filenames, dicts with ChangedFile's fields, or ChangedFile objects."""
    out: list[ChangedFile] = []
    for entry in files or ():
        if isinstance(entry, ChangedFile):
            out.append(entry)
        elif isinstance(entry, str):
            out.append(ChangedFile(entry))
        else:
            out.append(ChangedFile(**dict(entry)))
    return out
