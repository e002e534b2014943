"""The fake GitLab's world: users, groups, projects and their git history,
merge requests and everything hanging off them.

Plain dataclasses plus `World`, which owns them behind one re-entrant lock
and implements the rules both sides need: the HTTP handlers (what GitLab
does when the bot calls) and the arrange API (what a test says happened).
Nothing here knows about HTTP or JSON shapes.

Times are kept as aware datetimes with millisecond precision, as GitLab
stores them, and `World.now()` never hands out the same instant twice, so
ordering by time and by id agree.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import itertools
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Project and group access levels (doc/api/members.md).
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
MERGE_METHODS = ("merge", "rebase_merge", "ff")
SQUASH_OPTIONS = ("never", "always", "default_on", "default_off")
STATUS_STATES = ("pending", "running", "success", "failed", "canceled", "skipped")

# The legacy `merge_status` values a test may set, and what each means here.
MERGE_STATUSES = ("can_be_merged", "cannot_be_merged", "unchecked", "checking")
# `detailed_merge_status` values that come from git (the merge endpoint answers
# 422 for them); every other blocking value answers 405.
GIT_STATE_BLOCKERS = ("conflict", "need_rebase")

# GitLab's commit status state machine (CommitStatus / Ci::HasStatus): the event
# each requested state fires, and the states it may fire from.
_STATUS_EVENTS = {
    "pending": ("enqueue", {"created", "skipped", "manual", "scheduled"}),
    "running": ("run", {"pending"}),
    "success": ("success", {"created", "waiting_for_resource", "preparing", "pending", "running"}),
    "failed": (
        "drop",
        {
            "created",
            "waiting_for_resource",
            "preparing",
            "pending",
            "running",
            "manual",
            "scheduled",
        },
    ),
    "canceled": (
        "cancel",
        {
            "created",
            "waiting_for_resource",
            "preparing",
            "pending",
            "running",
            "manual",
            "scheduled",
        },
    ),
    "skipped": ("skip", {"created", "waiting_for_resource", "preparing", "pending"}),
}
FINISHED_STATES = ("success", "failed", "canceled", "skipped")


def iso(moment: dt.datetime | None) -> str | None:
    """GitLab's API form: `2019-07-11T22:34:43.500Z`."""
    if moment is None:
        return None
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def hook_utc(moment: dt.datetime | None) -> str | None:
    """The form most webhook bodies use: `2015-05-17 18:21:36 UTC`."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hook_iso(moment: dt.datetime | None) -> str | None:
    """The form the merge request hook uses: `2013-12-03T17:23:34Z`."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_time(moment: dt.datetime) -> str:
    """A commit's time as GitLab shows it: `2012-09-20T11:50:22+00:00`."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class GitLabError(Exception):
    """An answer other than success, raised by World rules and turned into an HTTP error.

    GitLab's API errors are `{"message": ...}`; parameter validation errors
    and unknown routes use `{"error": ...}` (`key="error"`).
    """

    def __init__(self, status: int, message: Any, *, key: str = "message") -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.key = key

    @property
    def body(self) -> dict[str, Any]:
        return {self.key: self.message}


@dataclass
class User:
    id: int
    username: str
    name: str
    bot: bool = False
    created: dt.datetime = field(default_factory=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


@dataclass
class Group:
    id: int
    full_path: str
    name: str
    parent: str | None  # full path of the parent group
    members: dict[str, int] = field(default_factory=dict)  # username (lower) -> access level

    @property
    def path(self) -> str:
        return self.full_path.rsplit("/", 1)[-1]


@dataclass
class Commit:
    sha: str
    parents: list[str]
    message: str
    author: str  # username
    committer: str
    tree: dict[str, bytes]
    created: dt.datetime
    seq: int

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass
class FileChange:
    """One entry of a merge request's diff, as GitLab lists it in `/diffs`."""

    old_path: str
    new_path: str
    new_file: bool = False
    deleted_file: bool = False
    renamed_file: bool = False
    diff: str = ""


@dataclass
class Label:
    id: int
    title: str
    color: str
    description: str | None
    created: dt.datetime


@dataclass
class AwardEmoji:
    id: int
    name: str
    user: str
    awardable_type: str  # "Note" or "MergeRequest"
    awardable_id: int
    created: dt.datetime

    @property
    def created_at(self) -> str:
        return iso(self.created) or ""


_PROJECT_HOOK_EVENTS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "pipeline_events",
    "job_events",
    "wiki_page_events",
    "deployment_events",
    "releases_events",
    "emoji_events",
    "feature_flag_events",
    "resource_access_token_events",
    "enable_ssl_verification",
)
HOOK_EVENTS = {
    "project": _PROJECT_HOOK_EVENTS,
    "group": (*_PROJECT_HOOK_EVENTS, "member_events", "subgroup_events"),
}
"""The boolean fields of GitLab's project and group hooks (REST `.../hooks`)."""


@dataclass
class Hook:
    """A project or group webhook. GitLab never returns its `token`."""

    id: int
    kind: str  # project | group
    target_id: int
    url: str
    token: str
    events: dict[str, bool]
    created: dt.datetime


@dataclass
class Note:
    id: int
    iid: int  # the merge request's iid
    author: str
    body: str
    system: bool
    created: dt.datetime
    updated: dt.datetime
    edited: bool = False
    awards: list[AwardEmoji] = field(default_factory=list)

    @property
    def created_at(self) -> str:
        return iso(self.created) or ""

    @property
    def updated_at(self) -> str:
        return iso(self.updated) or ""


@dataclass
class CommitStatus:
    """An external commit status (or a job) on a commit, in one pipeline."""

    id: int
    sha: str
    ref: str
    name: str
    status: str
    description: str | None
    target_url: str | None
    author: str
    pipeline_id: int
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    allow_failure: bool = False
    coverage: float | None = None
    retried: bool = False

    @property
    def created_at(self) -> str:
        return iso(self.created) or ""


@dataclass
class Pipeline:
    id: int
    iid: int
    project: str  # path_with_namespace
    sha: str
    ref: str
    source: str  # "api", "external", "push", "merge_request_event", ...
    status: str
    user: str
    created: dt.datetime
    variables: dict[str, str] = field(default_factory=dict)
    before_sha: str = "0" * 40
    finished: dt.datetime | None = None


@dataclass
class MergeRecord:
    """A merge performed through `PUT .../merge`."""

    project: str
    iid: int
    requested_sha: str | None
    head_sha: str
    squash: bool
    merge_commit_sha: str | None
    squash_commit_sha: str | None
    should_remove_source_branch: bool
    merge_commit_message: str | None
    squash_commit_message: str | None
    merged_by: str
    at: dt.datetime


@dataclass
class RebaseRecord:
    project: str
    iid: int
    old_head_sha: str
    new_head_sha: str
    by: str
    skip_ci: bool


@dataclass
class MergeRequest:
    id: int
    iid: int
    project: str  # path_with_namespace
    title: str
    description: str
    author: str
    source_branch: str
    target_branch: str
    draft: bool
    created: dt.datetime
    updated: dt.datetime
    labels: list[str] = field(default_factory=list)
    state: str = "opened"  # opened, closed, merged, locked
    head_history: list[str] = field(default_factory=list)
    approvals: dict[str, dt.datetime] = field(default_factory=dict)  # username -> approved at
    merged_by: str | None = None
    merged: dt.datetime | None = None
    closed_by: str | None = None
    closed: dt.datetime | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    squash: bool = False
    should_remove_source_branch: bool | None = None
    force_remove_source_branch: bool = True
    merge_error: str | None = None
    # The diff a merged request keeps showing: its base and the target's head
    # just before the merge (afterwards the target contains the head).
    merged_base: str | None = None
    merged_start: str | None = None
    # A test-set `merge_status` ("checking", "cannot_be_merged"...) or
    # `detailed_merge_status`; None means "computed from git and settings".
    status_override: str | None = None
    # What the last change was, for the next `update` webhook: the previous
    # head when commits were pushed, and field -> (previous, current).
    last_oldrev: str | None = None
    last_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    last_actor: str | None = None
    last_unapprover: str | None = None

    @property
    def head_sha(self) -> str:
        return self.head_history[-1]

    @property
    def sha(self) -> str:
        return self.head_sha


@dataclass
class Project:
    id: int
    path_with_namespace: str
    namespace: str  # the group's full path
    default_branch: str
    merge_method: str
    squash_option: str
    approvals_required: int
    remove_source_branch_after_merge: bool
    visibility: str
    created: dt.datetime
    description: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    protected_branches: set[str] = field(default_factory=set)
    commits: dict[str, Commit] = field(default_factory=dict)
    mrs: dict[int, MergeRequest] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    mr_awards: dict[int, list[AwardEmoji]] = field(default_factory=dict)  # iid -> awards
    labels: dict[str, Label] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    pipelines: list[Pipeline] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # username (lower) -> access level
    branch_history: dict[str, list[str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[-1]

    @property
    def key(self) -> str:
        return self.path_with_namespace.lower()


def parse_files(
    files: Iterable[str | Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Normalise `open_mr(files=...)` entries: a path, or a dict with `path`
    (or `new_path`) and optionally `deleted`, `old_path` (a rename), `content`."""
    out = []
    for entry in files or ():
        if isinstance(entry, str):
            out.append({"path": entry})
            continue
        spec = dict(entry)
        path = spec.pop("path", None) or spec.pop("new_path", None)
        if not path:
            raise ValueError(f"a changed file needs a path: {entry!r}")
        unknown = set(spec) - {"deleted", "old_path", "content", "new_file"}
        if unknown:
            raise ValueError(f"unknown changed-file keys {sorted(unknown)} in {entry!r}")
        spec["path"] = path
        out.append(spec)
    return out


class World:
    """Everything the fake knows, behind one lock (`with world.lock:`)."""

    def __init__(self, bot_username: str) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(101)
        self._shas = itertools.count(1)
        self._seq = itertools.count(1)
        self._last_now = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.projects: dict[str, Project] = {}
        self.tokens: dict[str, str] = {}  # token -> username
        self.merges: list[MergeRecord] = []
        self.rebases: list[RebaseRecord] = []
        self.pipelines_created: list[Pipeline] = []
        self.deleted_branches: list[tuple[str, str]] = []
        self.hooks: list[Hook] = []
        self.reset_approvals_on_push = False
        self.bot_username = bot_username
        self.user(bot_username, bot=True)

    # -- identities ---------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> dt.datetime:
        """The current time at millisecond precision, strictly after the last one given."""
        moment = dt.datetime.now(dt.UTC)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if moment <= self._last_now:
            moment = self._last_now + dt.timedelta(milliseconds=1)
        self._last_now = moment
        return moment

    def new_sha(self, label: str = "") -> str:
        return hashlib.sha1(f"fake-gitlab-commit-{next(self._shas)}-{label}".encode()).hexdigest()

    def user(self, username: str, *, bot: bool | None = None) -> User:
        found = self.users.get(username.lower())
        if found is None:
            found = User(self.next_id(), username, username.replace("-", " ").title(), bool(bot))
            self.users[username.lower()] = found
        elif bot is not None:
            found.bot = bot
        return found

    def known_user(self, username: str) -> User | None:
        return self.users.get(username.lower())

    def user_by_id(self, user_id: int) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def token_user(self, token: str | None) -> User | None:
        username = self.tokens.get(token or "")
        return self.users[username.lower()] if username else None

    # -- groups and access --------------------------------------------------

    def group(self, full_path: str, *, create: bool = True) -> Group:
        key = full_path.strip("/").lower()
        found = self.groups.get(key)
        if found is None:
            if not create:
                raise GitLabError(404, "404 Group Not Found")
            parent = full_path.strip("/").rsplit("/", 1)[0] if "/" in full_path.strip("/") else None
            if parent is not None:
                parent = self.group(parent).full_path
            path = full_path.strip("/")
            found = Group(self.next_id(), path, path.rsplit("/", 1)[-1].title(), parent)
            self.groups[key] = found
        return found

    def find_group(self, ref: str) -> Group:
        """A group by numeric id or (URL-decoded) full path; 404 otherwise."""
        if ref.isdigit():
            found = next((g for g in self.groups.values() if g.id == int(ref)), None)
        else:
            found = self.groups.get(urllib.parse.unquote(ref).lower())
        if found is None:
            raise GitLabError(404, "404 Group Not Found")
        return found

    def group_chain(self, full_path: str | None) -> list[Group]:
        """The group and its ancestors, nearest first."""
        chain = []
        while full_path:
            group = self.groups[full_path.lower()]
            chain.append(group)
            full_path = group.parent
        return chain

    def group_access(self, group: Group, username: str) -> int:
        """Direct or inherited access to `group` (highest wins, like members/all)."""
        key = username.lower()
        return max((g.members.get(key, 0) for g in self.group_chain(group.full_path)), default=0)

    def project_access(self, project: Project, username: str) -> int:
        key = username.lower()
        direct = project.members.get(key, 0)
        inherited = max(
            (g.members.get(key, 0) for g in self.group_chain(project.namespace)), default=0
        )
        return max(direct, inherited)

    # -- projects and git ---------------------------------------------------

    def project(self, ref: str | int) -> Project:
        """A project by numeric id or (URL-encoded or plain) path; 404 otherwise."""
        text = str(ref)
        if text.isdigit():
            found = next((p for p in self.projects.values() if p.id == int(text)), None)
        else:
            found = self.projects.get(urllib.parse.unquote(text).lower())
        if found is None:
            raise GitLabError(404, "404 Project Not Found")
        return found

    def add_commit(
        self,
        project: Project,
        parents: list[str],
        *,
        message: str,
        author: str,
        committer: str | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        tree: dict[str, bytes] | None = None,
        sha: str | None = None,
    ) -> Commit:
        """A new commit whose tree is its first parent's plus `contents` (None deletes)."""
        sha = (sha or self.new_sha(message)).lower()
        if sha in project.commits:
            raise ValueError(f"{project.path_with_namespace} already has a commit {sha}")
        if tree is None:
            tree = dict(project.commits[parents[0]].tree) if parents else {}
        else:
            tree = dict(tree)
        for path, text in (contents or {}).items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text.encode() if isinstance(text, str) else bytes(text)
        self.user(author)
        if committer:
            self.user(committer)
        commit = Commit(
            sha=sha,
            parents=list(parents),
            message=message,
            author=author,
            committer=committer or author,
            tree=tree,
            created=self.now(),
            seq=next(self._seq),
        )
        project.commits[sha] = commit
        return commit

    def move_branch(self, project: Project, branch: str, sha: str) -> None:
        project.branches[branch] = sha
        project.branch_history.setdefault(branch, []).append(sha)

    def resolve(self, project: Project, ref: str | None) -> str | None:
        """The commit SHA `ref` names: a branch, refs/heads/..., a full or short SHA, HEAD."""
        if not ref or ref == "HEAD":
            return project.branches.get(project.default_branch)
        if ref.startswith("refs/heads/"):
            ref = ref[len("refs/heads/") :]
        if ref in project.branches:
            return project.branches[ref]
        lowered = ref.lower()
        if lowered in project.commits:
            return lowered
        if len(lowered) >= 7 and all(c in "0123456789abcdef" for c in lowered):
            matches = [sha for sha in project.commits if sha.startswith(lowered)]
            if len(matches) == 1:
                return matches[0]
        return None

    def commit(self, project: Project, sha: str) -> Commit:
        resolved = self.resolve(project, sha)
        if resolved is None:
            raise GitLabError(404, "404 Commit Not Found")
        return project.commits[resolved]

    def ancestors(self, project: Project, sha: str) -> set[str]:
        """`sha` and every commit reachable from it."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current in seen or current not in project.commits:
                continue
            seen.add(current)
            todo.extend(project.commits[current].parents)
        return seen

    def merge_base(self, project: Project, a: str, b: str) -> str | None:
        common = self.ancestors(project, a) & self.ancestors(project, b)
        if not common:
            return None
        return max(common, key=lambda sha: project.commits[sha].seq)

    def commits_between(self, project: Project, base: str | None, head: str) -> list[Commit]:
        """Commits reachable from `head` but not from `base`, newest first."""
        excluded = self.ancestors(project, base) if base else set()
        found = [project.commits[s] for s in self.ancestors(project, head) - excluded]
        return sorted(found, key=lambda c: c.seq, reverse=True)

    def branches_containing(self, project: Project, sha: str) -> list[str]:
        return sorted(
            name for name, head in project.branches.items() if sha in self.ancestors(project, head)
        )

    def tree_changes(self, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[FileChange]:
        """What changed from `old` to `new`, with exact renames detected as git does."""
        removed = sorted(set(old) - set(new))
        added = sorted(set(new) - set(old))
        changes: list[FileChange] = []
        for path in sorted(set(old) & set(new)):
            if old[path] != new[path]:
                changes.append(FileChange(path, path, diff=unified_diff(old[path], new[path])))
        for path in added:
            source = next((r for r in removed if old[r] == new[path]), None)
            if source is not None:
                removed.remove(source)
                changes.append(FileChange(source, path, renamed_file=True))
            else:
                changes.append(
                    FileChange(path, path, new_file=True, diff=unified_diff(b"", new[path]))
                )
        for path in removed:
            changes.append(
                FileChange(path, path, deleted_file=True, diff=unified_diff(old[path], b""))
            )
        return sorted(changes, key=lambda c: c.new_path)

    @staticmethod
    def changed_paths(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> set[str]:
        return {p for p in set(old) | set(new) if old.get(p) != new.get(p)}

    def three_way(
        self, base: Mapping[str, bytes], ours: Mapping[str, bytes], theirs: Mapping[str, bytes]
    ) -> tuple[dict[str, bytes], set[str]]:
        """`ours` with the changes base->theirs applied, and the paths both sides
        changed differently (the conflicts)."""
        merged = dict(ours)
        ours_changed = self.changed_paths(base, ours)
        conflicts = set()
        for path in self.changed_paths(base, theirs):
            if path in ours_changed and ours.get(path) != theirs.get(path):
                conflicts.add(path)
                continue
            if path in theirs:
                merged[path] = theirs[path]
            else:
                merged.pop(path, None)
        return merged, conflicts

    # -- merge requests -----------------------------------------------------

    def mr(self, project: Project, iid: int | str) -> MergeRequest:
        try:
            found = project.mrs.get(int(iid))
        except ValueError:
            found = None
        if found is None:
            raise GitLabError(404, "404 Not found")
        return found

    def target_sha(self, project: Project, mr: MergeRequest) -> str | None:
        if mr.state == "merged" and mr.merged_start:
            return mr.merged_start
        return project.branches.get(mr.target_branch)

    def diff_base(self, project: Project, mr: MergeRequest) -> str | None:
        if mr.state == "merged" and mr.merged_base:
            return mr.merged_base
        target = self.target_sha(project, mr)
        return self.merge_base(project, mr.head_sha, target) if target else None

    def mr_changes(self, project: Project, mr: MergeRequest) -> list[FileChange]:
        base = self.diff_base(project, mr)
        old = project.commits[base].tree if base else {}
        return self.tree_changes(old, project.commits[mr.head_sha].tree)

    def mr_commits(self, project: Project, mr: MergeRequest) -> list[Commit]:
        return self.commits_between(project, self.diff_base(project, mr), mr.head_sha)

    def has_conflicts(self, project: Project, mr: MergeRequest) -> bool:
        if mr.status_override in ("cannot_be_merged", "conflict"):
            return True
        target = self.target_sha(project, mr)
        base = self.diff_base(project, mr)
        if target is None or base is None:
            return False
        _, conflicts = self.three_way(
            project.commits[base].tree,
            project.commits[target].tree,
            project.commits[mr.head_sha].tree,
        )
        return bool(conflicts)

    def needs_rebase(self, project: Project, mr: MergeRequest) -> bool:
        if project.merge_method == "merge":
            return False
        target = self.target_sha(project, mr)
        return target is not None and target not in self.ancestors(project, mr.head_sha)

    def approvals_left(self, project: Project, mr: MergeRequest) -> int:
        return max(0, project.approvals_required - len(mr.approvals))

    def detailed_merge_status(self, project: Project, mr: MergeRequest) -> str:
        """GitLab's `detailed_merge_status`, first failing check first."""
        if mr.state != "opened":
            return "not_open"
        if mr.status_override in ("checking", "unchecked"):
            return mr.status_override
        if mr.draft:
            return "draft_status"
        if not self.mr_commits(project, mr):
            return "commits_status"
        if mr.status_override not in (None, "can_be_merged", "cannot_be_merged", "conflict"):
            return mr.status_override
        if self.approvals_left(project, mr):
            return "not_approved"
        if self.has_conflicts(project, mr):
            return "conflict"
        if self.needs_rebase(project, mr):
            return "need_rebase"
        return "mergeable"

    def merge_status(self, project: Project, mr: MergeRequest) -> str:
        """The legacy `merge_status`."""
        if mr.status_override in ("checking", "unchecked"):
            return mr.status_override
        if mr.state == "opened" and self.has_conflicts(project, mr):
            return "cannot_be_merged"
        return "can_be_merged"

    def set_head(self, project: Project, mr: MergeRequest, sha: str, actor: str) -> None:
        """Move the merge request's head (a push or a rebase)."""
        oldrev = mr.head_sha
        previous_updated = mr.updated
        mr.head_history.append(sha)
        self.move_branch(project, mr.source_branch, sha)
        mr.updated = self.now()
        mr.last_oldrev = oldrev
        mr.last_changes = {"updated_at": (previous_updated, mr.updated)}
        mr.last_actor = actor
        mr.merge_error = None
        if self.reset_approvals_on_push and mr.approvals:
            mr.approvals.clear()

    def replay(
        self, project: Project, commits: list[Commit], onto: str, committer: str
    ) -> tuple[str, set[str]]:
        """Re-create `commits` (oldest first) on top of `onto`; the new head and any conflicts."""
        head = onto
        conflicts: set[str] = set()
        for commit in commits:
            parent_tree = project.commits[commit.parents[0]].tree if commit.parents else {}
            tree, clashing = self.three_way(parent_tree, project.commits[head].tree, commit.tree)
            conflicts |= clashing
            head = self.add_commit(
                project,
                [head],
                message=commit.message,
                author=commit.author,
                committer=committer,
                tree=tree,
            ).sha
        return head, conflicts

    def rebase(self, project: Project, mr: MergeRequest, by: str, *, skip_ci: bool) -> None:
        target = self.target_sha(project, mr)
        if target is None or self.has_conflicts(project, mr):
            mr.merge_error = (
                "Rebase failed: Rebase locally, resolve all conflicts, then push the branch."
            )
            return
        old_head = mr.head_sha
        if target in self.ancestors(project, old_head):
            new_head = old_head
        else:
            commits = list(reversed(self.mr_commits(project, mr)))
            new_head, _ = self.replay(project, commits, target, by)
            self.set_head(project, mr, new_head, by)
        self.rebases.append(
            RebaseRecord(project.path_with_namespace, mr.iid, old_head, new_head, by, skip_ci)
        )

    def merge(
        self,
        project: Project,
        mr: MergeRequest,
        by: str,
        *,
        squash: bool,
        merge_commit_message: str | None = None,
        squash_commit_message: str | None = None,
    ) -> None:
        """Merge `mr` into its target as the project's merge method says."""
        target = self.target_sha(project, mr)
        if target is None:
            raise GitLabError(422, "Branch cannot be merged")
        head = mr.head_sha
        base = self.diff_base(project, mr)
        mr.merged_base, mr.merged_start = base, target
        if squash:
            squashed = self.add_commit(
                project,
                [base] if base else [],
                message=squash_commit_message or mr.title,
                author=mr.author,
                committer=by,
                tree=project.commits[head].tree,
            )
            mr.squash_commit_sha = squashed.sha
            head = squashed.sha
        if project.merge_method == "ff":
            new_target = head
            mr.merge_commit_sha = None
        else:
            tree, _ = self.three_way(
                project.commits[base].tree if base else {},
                project.commits[target].tree,
                project.commits[head].tree,
            )
            message = merge_commit_message or (
                f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}\n\n"
                f"See merge request {project.path_with_namespace}!{mr.iid}"
            )
            merge_commit = self.add_commit(
                project, [target, head], message=message, author=by, tree=tree
            )
            mr.merge_commit_sha = merge_commit.sha
            new_target = merge_commit.sha
        self.move_branch(project, mr.target_branch, new_target)
        previous_updated = mr.updated
        mr.state = "merged"
        mr.merged_by = by
        mr.merged = mr.updated = self.now()
        mr.squash = squash
        mr.last_oldrev = None
        mr.last_changes = {
            "state_id": (1, 3),
            "updated_at": (previous_updated, mr.updated),
        }
        mr.last_actor = by

    # -- commit statuses and pipelines --------------------------------------

    def pipeline_for(self, project: Project, sha: str, ref: str | None) -> Pipeline | None:
        """The newest pipeline for `sha` (and `ref`), as statuses pick it."""
        for pipeline in reversed(project.pipelines):
            if pipeline.sha == sha and (ref is None or pipeline.ref == ref):
                return pipeline
        return None

    def add_pipeline(
        self,
        project: Project,
        *,
        sha: str,
        ref: str,
        source: str,
        user: str,
        status: str = "pending",
        variables: Mapping[str, str] | None = None,
    ) -> Pipeline:
        pipeline = Pipeline(
            id=self.next_id(),
            iid=sum(1 for _ in project.pipelines) + 1,
            project=project.path_with_namespace,
            sha=sha,
            ref=ref,
            source=source,
            status=status,
            user=user,
            created=self.now(),
            variables=dict(variables or {}),
        )
        project.pipelines.append(pipeline)
        return pipeline

    def post_status(
        self,
        project: Project,
        sha: str,
        *,
        name: str,
        state: str,
        user: str,
        ref: str | None = None,
        description: str | None = None,
        target_url: str | None = None,
        strict: bool = True,
    ) -> CommitStatus:
        """What `POST /projects/:id/statuses/:sha` does.

        Like GitLab, an open (pending or running) status by the same user with
        the same name and ref in the commit's pipeline is moved along the state
        machine; otherwise a new status is created (the older ones of that name
        become "retried"). A transition the machine refuses answers 400 with
        GitLab's message (`strict=False`, for arranging, forces it instead).
        """
        commit = self.commit(project, sha)
        pipeline = self.pipeline_for(project, commit.sha, ref) or self.pipeline_for(
            project, commit.sha, None
        )
        ref = ref or (pipeline.ref if pipeline else None)
        if ref is None:
            containing = self.branches_containing(project, commit.sha)
            ref = containing[0] if containing else None
        if ref is None:
            raise GitLabError(404, "404 References for commit Not Found")
        if pipeline is None or pipeline.ref != ref:
            pipeline = self.add_pipeline(
                project, sha=commit.sha, ref=ref, source="external", user=user
            )
        existing = next(
            (
                s
                for s in reversed(project.statuses)
                if s.pipeline_id == pipeline.id
                and s.name == name
                and s.ref == ref
                and s.author.lower() == user.lower()
                and s.status in ("pending", "running")
            ),
            None,
        )
        current = existing.status if existing else "created"
        if state == "running" and current in _STATUS_EVENTS["pending"][1]:
            current = "pending"  # `enqueue` first, silently ignored when refused
        event, allowed = _STATUS_EVENTS[state]
        if current not in allowed and strict:
            raise GitLabError(
                400,
                f"Cannot transition status via :{event} from :{current} "
                f'(Reason(s): Status cannot transition via "{event}")',
            )
        now = self.now()
        if existing is None:
            for older in project.statuses:
                if older.pipeline_id == pipeline.id and older.name == name:
                    older.retried = True
            existing = CommitStatus(
                id=self.next_id(),
                sha=commit.sha,
                ref=ref,
                name=name,
                status=state,
                description=description,
                target_url=target_url,
                author=self.user(user).username,
                pipeline_id=pipeline.id,
                created=now,
            )
            project.statuses.append(existing)
        existing.status = state
        if description is not None:
            existing.description = description
        if target_url is not None:
            existing.target_url = target_url
        if state == "running" and existing.started is None:
            existing.started = now
        if state in FINISHED_STATES:
            existing.finished = now
        pipeline.status = self.composite_status(project, pipeline)
        return existing

    def composite_status(self, project: Project, pipeline: Pipeline) -> str:
        latest = [s for s in project.statuses if s.pipeline_id == pipeline.id and not s.retried]
        states = {s.status for s in latest if not (s.allow_failure and s.status == "failed")}
        for state in ("running", "pending", "failed", "canceled"):
            if state in states:
                return state
        if states and states <= {"skipped"}:
            return "skipped"
        return "success" if states else pipeline.status

    # -- labels -------------------------------------------------------------

    def label(self, project: Project, title: str) -> Label:
        found = project.labels.get(title.lower())
        if found is None:
            found = Label(self.next_id(), title, "#6699cc", None, self.now())
            project.labels[title.lower()] = found
        return found


def unified_diff(old: bytes, new: bytes) -> str:
    """The hunk text GitLab puts in a diff's `diff` field (no ---/+++ header)."""
    old_lines = old.decode(errors="replace").splitlines(keepends=True)
    new_lines = new.decode(errors="replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(old_lines, new_lines, n=3))[2:]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
