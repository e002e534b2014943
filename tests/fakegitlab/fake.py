"""`FakeGitLab`: the handle tests hold — lifecycle, arranging state, reading
what the bot did, injecting faults and building webhooks.

See the package docstring for a tour. Every method takes the lock of the
world the HTTP handlers share, so a test may arrange state while a bot in
another thread or process is talking to the server.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from support.fakes.faults import Fault, FaultBook, Matcher
from support.fakes.forge import FakeForge
from support.fakes.recording import RequestLog

from . import handlers as rules
from .handlers import Handlers
from .server import HttpFrontend
from .shapes import Shapes
from .state import (
    MAINTAINER,
    MERGE_METHODS,
    MERGE_STATUSES,
    SQUASH_OPTIONS,
    AwardEmoji,
    CommitStatus,
    Group,
    Hook,
    MergeRecord,
    MergeRequest,
    Note,
    Pipeline,
    Project,
    RebaseRecord,
    User,
    World,
    parse_files,
)
from .webhooks import _DEFAULT, TEMPLATES, Builder, event_header, request

# GitLab's bodies for the statuses tests usually inject.
FAULT_MESSAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout",
}


class FakeGitLab(FakeForge):
    """A stateful GitLab on 127.0.0.1, driven over HTTP by the code under test."""

    def __init__(
        self,
        *,
        bot_username: str = "gatebot-bot",
        token: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.world = World(bot_username)
        self.token = token or "glpat-" + secrets.token_urlsafe(15)
        self.webhook_secret = webhook_secret or "glwh-" + secrets.token_hex(12)
        self.world.tokens[self.token] = bot_username
        self.log = RequestLog()
        self.faults = FaultBook()
        self._frontend = HttpFrontend(self)
        self.url = self._frontend.url
        self.shapes = Shapes(self.world, self.url)
        self.handlers = Handlers(self.world, self.shapes)
        self.webhook_uuid = str(uuid.uuid4())
        self._started = False

    @property
    def bot_username(self) -> str:
        """The token's user ("gatebot-bot", `bot: true`): author of its notes and statuses."""
        return self.world.bot_username

    @property
    def reset_approvals_on_push(self) -> bool:
        """GitLab keeps approvals when commits are pushed unless the project says
        otherwise; True makes every push (and rebase) drop them."""
        return self.world.reset_approvals_on_push

    @reset_approvals_on_push.setter
    def reset_approvals_on_push(self, value: bool) -> None:
        with self.world.lock:
            self.world.reset_approvals_on_push = bool(value)

    # -- people -------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False) -> User:
        with self.world.lock:
            return self.world.user(username, bot=bot)

    def add_token(self, username: str) -> str:
        """A personal access token for `username` (another caller than the bot)."""
        with self.world.lock:
            self.world.user(username)
            token = "glpat-" + secrets.token_urlsafe(15)
            self.world.tokens[token] = username
            return token

    def add_group(self, full_path: str, *, members: Mapping[str, int] | None = None) -> Group:
        """A group (parents created as needed) and its direct members' access levels."""
        with self.world.lock:
            group = self.world.group(full_path)
            for username, level in (members or {}).items():
                self.set_group_access(full_path, username, level)
            return group

    def set_group_access(self, full_path: str, username: str, level: int | None) -> None:
        with self.world.lock:
            group = self.world.group(full_path)
            self._set_level(group.members, username, level)

    def set_access(self, project: str, username: str, level: int | None) -> None:
        """Direct project membership: 10 guest, 20 reporter, 30 developer,
        40 maintainer, 50 owner; None removes it (inherited access stays)."""
        with self.world.lock:
            self._set_level(self.world.project(project).members, username, level)

    def _set_level(self, members: dict[str, int], username: str, level: int | None) -> None:
        self.world.user(username)
        if level is None:
            members.pop(username.lower(), None)
        else:
            members[username.lower()] = int(level)

    def access_level(self, project: str, username: str) -> int:
        """Effective access (direct or inherited, the highest), 0 for none."""
        with self.world.lock:
            return self.world.project_access(self.world.project(project), username)

    # -- projects and git ---------------------------------------------------

    def add_project(
        self,
        path_with_namespace: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str | bytes] | None = None,
        merge_method: str = "merge",
        squash_option: str = "default_off",
        approvals_required: int = 0,
        remove_source_branch_after_merge: bool = True,
        visibility: str = "private",
        bot_access: int | None = MAINTAINER,
        description: str = "",
    ) -> Project:
        """A project with one commit on `default_branch` (protected) holding `files`.

        Its namespace group is created with any missing parents. The bot is a
        direct member at `bot_access` (a project access token's role; None: no
        membership, so the project answers 404 to the bot).
        """
        if merge_method not in MERGE_METHODS:
            raise ValueError(f"merge_method is one of {MERGE_METHODS}")
        if squash_option not in SQUASH_OPTIONS:
            raise ValueError(f"squash_option is one of {SQUASH_OPTIONS}")
        if "/" not in path_with_namespace:
            raise ValueError("projects live in a group: give 'group/project'")
        with self.world.lock:
            if path_with_namespace.lower() in self.world.projects:
                raise ValueError(f"{path_with_namespace} already exists")
            namespace = path_with_namespace.rsplit("/", 1)[0]
            self.world.group(namespace)
            project = Project(
                id=self.world.next_id(),
                path_with_namespace=path_with_namespace,
                namespace=self.world.group(namespace).full_path,
                default_branch=default_branch,
                merge_method=merge_method,
                squash_option=squash_option,
                approvals_required=approvals_required,
                remove_source_branch_after_merge=remove_source_branch_after_merge,
                visibility=visibility,
                created=self.world.now(),
                description=description,
            )
            self.world.projects[project.key] = project
            initial = self.world.add_commit(
                project,
                [],
                message="Initial commit",
                author=self.bot_username,
                contents=dict(files or {}),
            )
            self.world.move_branch(project, default_branch, initial.sha)
            project.protected_branches.add(default_branch)
            if bot_access is not None:
                project.members[self.bot_username.lower()] = bot_access
            return project

    def project(self, path: str) -> Project:
        with self.world.lock:
            return self.world.project(path)

    def set_project(self, path: str, **settings: Any) -> None:
        """Change project settings: merge_method, squash_option, approvals_required,
        default_branch, remove_source_branch_after_merge, visibility..."""
        with self.world.lock:
            project = self.world.project(path)
            for key, value in settings.items():
                if key in ("id", "path_with_namespace", "namespace") or not hasattr(project, key):
                    raise AttributeError(f"projects have no setting {key!r}")
                setattr(project, key, value)

    def protect_branch(self, project: str, branch: str, protected: bool = True) -> None:
        with self.world.lock:
            branches = self.world.project(project).protected_branches
            if protected:
                branches.add(branch)
            else:
                branches.discard(branch)

    def add_branch(self, project: str, name: str, from_ref: str | None = None) -> str:
        with self.world.lock:
            found = self.world.project(project)
            sha = self.world.resolve(found, from_ref)
            if sha is None:
                raise KeyError(f"{project} has no ref {from_ref}")
            self.world.move_branch(found, name, sha)
            return sha

    def commit(
        self,
        project: str,
        branch: str,
        contents: Mapping[str, str | bytes | None] | None = None,
        *,
        author: str | None = None,
        message: str = "Update",
    ) -> str:
        """A new commit on `branch` (created from the default branch if missing);
        its SHA. A commit on a target branch can put merge requests in conflict
        or, for fast-forward projects, in need of a rebase."""
        with self.world.lock:
            found = self.world.project(project)
            parent = found.branches.get(branch) or found.branches[found.default_branch]
            commit = self.world.add_commit(
                found,
                [parent],
                message=message,
                author=author or self.bot_username,
                contents=contents,
            )
            self.world.move_branch(found, branch, commit.sha)
            for mr in found.mrs.values():
                if mr.state == "opened" and mr.source_branch == branch:
                    self.world.set_head(found, mr, commit.sha, author or mr.author)
            return commit.sha

    def file(self, project: str, ref: str, path: str) -> str | None:
        with self.world.lock:
            found = self.world.project(project)
            sha = self.world.resolve(found, ref)
            data = found.commits[sha].tree.get(path) if sha else None
            return data.decode() if data is not None else None

    def branch_sha(self, project: str, branch: str) -> str | None:
        with self.world.lock:
            return self.world.project(project).branches.get(branch)

    # -- merge requests -----------------------------------------------------

    def open_mr(
        self,
        project: str,
        iid: int | None = None,
        *,
        author: str = "alice",
        source: str | None = None,
        target: str | None = None,
        files: Iterable[str | Mapping[str, Any]] | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        commits: Sequence[str | Mapping[str, Any]] | None = None,
        draft: bool = False,
        labels: Iterable[str] = (),
        title: str | None = None,
        description: str = "",
        remove_source_branch: bool | None = None,
        squash: bool | None = None,
    ) -> MergeRequest:
        """Open merge request `iid` from branch `source` into `target`.

        The changes land in the first of the request's commits, on top of the
        target's head: each `files` entry (a path, or a dict with `path` and
        `deleted`, `old_path` for a rename, or `content`) edits the tree — an
        existing file gets a line appended, a new one is created — then
        `contents` (path -> text, None deletes) is applied. Diffs are computed
        from the trees, so they always agree with file reads. `commits` lists
        the commits oldest first: messages, or dicts with `author`,
        `committer`, `message` (default: one commit by `author`).
        """
        with self.world.lock:
            found = self.world.project(project)
            iid = iid or (max(found.mrs, default=0) + 1)
            if iid in found.mrs:
                raise ValueError(f"{project} already has merge request !{iid}")
            target = target or found.default_branch
            source = source or f"feature-{iid}"
            if target not in found.branches:
                raise KeyError(f"{project} has no branch {target}")
            self.world.user(author)
            start = found.branches.get(source) or found.branches[target]
            tree = dict(found.commits[start].tree)
            for spec in parse_files(files):
                path = spec["path"]
                if spec.get("deleted"):
                    if path not in tree:
                        raise KeyError(f"{path} does not exist on {target}: it cannot be deleted")
                    del tree[path]
                    continue
                if spec.get("old_path"):
                    tree[path] = tree.pop(spec["old_path"])
                if "content" in spec:
                    content = spec["content"]
                    tree[path] = content.encode() if isinstance(content, str) else content
                elif not spec.get("old_path"):
                    verb = "changed" if path in tree else "added"
                    tree[path] = tree.get(path, b"") + f"{verb} by !{iid}\n".encode()
            if files is None and contents is None:
                tree[f"change-{iid}.txt"] = f"added by !{iid}\n".encode()
            specs = [{"message": c} if isinstance(c, str) else dict(c) for c in (commits or [{}])]
            head = start
            for index, spec in enumerate(specs):
                commit = self.world.add_commit(
                    found,
                    [head],
                    message=spec.get("message") or title or f"Change for !{iid}",
                    author=spec.get("author", author),
                    committer=spec.get("committer"),
                    tree=tree if index == 0 else None,
                    contents=contents if index == 0 else None,
                )
                head = commit.sha
            self.world.move_branch(found, source, head)
            now = self.world.now()
            for name in labels:
                self.world.label(found, name)
            mr = MergeRequest(
                id=self.world.next_id(),
                iid=iid,
                project=found.path_with_namespace,
                title=title or f"Merge request !{iid}",
                description=description,
                author=self.world.user(author).username,
                source_branch=source,
                target_branch=target,
                draft=draft,
                created=now,
                updated=now,
                labels=list(labels),
                head_history=[head],
                squash=(
                    squash
                    if squash is not None
                    else found.squash_option in ("always", "default_on")
                ),
                force_remove_source_branch=(
                    remove_source_branch
                    if remove_source_branch is not None
                    else found.remove_source_branch_after_merge
                ),
                last_actor=author,
            )
            found.mrs[iid] = mr
            return mr

    def mr(self, project: str, iid: int) -> MergeRequest:
        with self.world.lock:
            return self.world.mr(self.world.project(project), iid)

    def push(
        self,
        project: str,
        iid: int,
        *,
        pusher: str | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        message: str | None = None,
    ) -> str:
        """A new head commit on the merge request's source branch (by `pusher`,
        default its author); approvals stay unless `reset_approvals_on_push`.
        Without `contents` a file of its own changes, so every push alters the diff.
        GitLab's "added 1 commit" system note, written as the pusher, comes with it."""
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid)
            if mr.state != "opened":
                raise ValueError(f"!{iid} is {mr.state}")
            pusher = pusher or mr.author
            number = len(mr.head_history)
            commit = self.world.add_commit(
                found,
                [mr.head_sha],
                message=message or f"Push {number} to !{iid}",
                author=pusher,
                contents=contents
                if contents is not None
                else {f"push-{iid}-{number}.txt": f"push {number}\n"},
            )
            oldrev = mr.head_sha
            self.world.set_head(found, mr, commit.sha, pusher)
            rules.add_note(self.world, found, mr, pusher, rules.added_commits_note(
                found, mr, [commit], oldrev), system=True)
            return commit.sha

    def approve(self, project: str, iid: int, user: str) -> None:
        with self.world.lock:
            mr = self.world.mr(self.world.project(project), iid)
            rules.approve(self.world, mr, user)

    def unapprove(self, project: str, iid: int, user: str) -> None:
        with self.world.lock:
            mr = self.world.mr(self.world.project(project), iid)
            if not rules.unapprove(self.world, mr, user):
                raise KeyError(f"{user} has not approved !{iid}")

    def request_changes(self, project: str, iid: int, user: str) -> None:
        """`user`, a reviewer, submits "request changes": GitLab drops their approval
        (`UpdateReviewerStateService` -> `remove_approval` with `skip_system_note` and
        `skip_notification`), so no system note touches the MR's `updated_at` and no
        `unapproved` webhook is sent."""
        with self.world.lock:
            mr = self.world.mr(self.world.project(project), iid)
            for approver in list(mr.approvals):
                if approver.lower() == user.lower():
                    del mr.approvals[approver]
                    return
            raise KeyError(f"{user} has not approved !{iid}")

    def approvals(self, project: str, iid: int) -> list[str]:
        """Usernames that approved, in the order they did."""
        with self.world.lock:
            mr = self.world.mr(self.world.project(project), iid)
            return sorted(mr.approvals, key=lambda u: mr.approvals[u])

    def add_note(self, project: str, iid: int, author: str, body: str) -> Note:
        with self.world.lock:
            found = self.world.project(project)
            return rules.add_note(self.world, found, self.world.mr(found, iid), author, body)

    def add_system_note(
        self, project: str, iid: int, body: str, *, author: str | None = None
    ) -> Note:
        """A system note ("added 1 commit", "approved this merge request"...), by
        `author` (default the merge request's author)."""
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid)
            return rules.add_note(self.world, found, mr, author or mr.author, body, system=True)

    def edit_note(self, project: str, note_id: int, body: str) -> Note:
        with self.world.lock:
            note = self.world.project(project).notes[note_id]
            rules.edit_note(self.world, note, body)
            return note

    def add_award(
        self, project: str, iid: int, user: str, name: str, *, note_id: int | None = None
    ) -> AwardEmoji:
        """An emoji reaction by `user` on the merge request or on one of its notes."""
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid)
            if note_id is None:
                awards, kind, target_id = found.mr_awards.setdefault(iid, []), "MergeRequest", mr.id
            else:
                awards, kind, target_id = found.notes[note_id].awards, "Note", note_id
            award = AwardEmoji(
                self.world.next_id(),
                name,
                self.world.user(user).username,
                kind,
                target_id,
                self.world.now(),
            )
            awards.append(award)
            return award

    def set_status(
        self,
        project: str,
        sha: str,
        name: str,
        state: str = "success",
        *,
        author: str = "ci-user",
        description: str | None = None,
        target_url: str | None = None,
        ref: str | None = None,
    ) -> CommitStatus:
        """A commit status (an external status or a job) posted by `author`: moves
        that author's open status of this name along, or starts a new one."""
        with self.world.lock:
            found = self.world.project(project)
            return self.world.post_status(
                found,
                sha,
                name=name,
                state=state,
                user=author,
                ref=ref,
                description=description,
                target_url=target_url,
                strict=False,
            )

    def merge_mr(self, project: str, iid: int, *, by: str, squash: bool | None = None) -> str:
        """Someone merges in the UI: the target's new head (the merge commit, or
        the head itself for fast-forward projects). Not listed in `merges`."""
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid)
            if mr.state != "opened":
                raise ValueError(f"!{iid} is {mr.state}")
            if squash is None:
                squash = {"always": True, "never": False}.get(found.squash_option, mr.squash)
            self.world.merge(found, mr, self.world.user(by).username, squash=squash)
            if mr.force_remove_source_branch:
                found.branches.pop(mr.source_branch, None)
            return found.branches[mr.target_branch]

    def edit_mr(self, project: str, iid: int, *, by: str | None = None, **changes: Any) -> None:
        """Change `state` ("closed", "opened" to reopen, "locked"), `draft`,
        `target` (a branch), `labels`, `title` or `description`, as `by`
        (default the author); the next `update`/`close`/`reopen` hook reports it."""
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid)
            rules.edit_mr(self.world, found, mr, by or mr.author, **changes)

    def set_merge_status(self, project: str, iid: int, status: str | None) -> None:
        """Force what GitLab computes: a legacy `merge_status` ("cannot_be_merged" is
        a conflict, "checking"/"unchecked" a pending check, "can_be_merged" or None
        back to computed) or any `detailed_merge_status` ("conflict",
        "need_rebase", "ci_must_pass", "discussions_not_resolved"...)."""
        with self.world.lock:
            mr = self.world.mr(self.world.project(project), iid)
            if status in (None, "can_be_merged", "mergeable"):
                mr.status_override = None
            elif status in MERGE_STATUSES or status.replace("_", "").isalpha():
                mr.status_override = status
            else:
                raise ValueError(f"not a merge status: {status!r}")

    # -- what the bot did ---------------------------------------------------

    def statuses(self, project: str, sha: str) -> list[CommitStatus]:
        """Every status on `sha` (all authors, retried ones too), oldest first."""
        with self.world.lock:
            return [s for s in self.world.project(project).statuses if s.sha == sha]

    def notes(self, project: str, iid: int) -> list[Note]:
        """The merge request's notes (system ones too), oldest first."""
        with self.world.lock:
            found = self.world.project(project)
            return sorted((n for n in found.notes.values() if n.iid == iid), key=lambda n: n.id)

    def award_emoji(self, project: str, iid: int, note_id: int | None = None) -> list[AwardEmoji]:
        """Reactions on note `note_id`, or on the merge request itself when None."""
        with self.world.lock:
            found = self.world.project(project)
            if note_id is None:
                return list(found.mr_awards.get(iid, []))
            return list(found.notes[note_id].awards)

    @property
    def merges(self) -> list[MergeRecord]:
        """Merges performed through `PUT .../merge`, in order."""
        with self.world.lock:
            return list(self.world.merges)

    def set_pipeline_status(self, project: str, pipeline_id: int, status: str) -> None:
        """Move a pipeline on (`running`, `success`, `failed`, `canceled`...)."""
        with self.world.lock:
            found = self.world.project(project)
            pipeline = next(p for p in found.pipelines if p.id == pipeline_id)
            pipeline.status = status
            ended = status in ("success", "failed", "canceled", "skipped")
            pipeline.finished = self.world.now() if ended else None

    @property
    def pipelines_created(self) -> list[Pipeline]:
        """Pipelines created through `POST /projects/:id/pipeline` (project, ref,
        variables as a dict, id, sha), in order."""
        with self.world.lock:
            return list(self.world.pipelines_created)

    @property
    def deleted_branches(self) -> list[tuple[str, str]]:
        """(project, branch) for each branch removed through the API: a DELETE, or
        a merge that removed its source branch."""
        with self.world.lock:
            return list(self.world.deleted_branches)

    @property
    def rebases(self) -> list[RebaseRecord]:
        with self.world.lock:
            return list(self.world.rebases)

    # -- request log (the rest is `FakeForge`'s) -----------------------------

    def assert_clean(self) -> None:
        """Fail when any request so far went to a route the fake does not implement."""
        unknown = self.unknown_requests
        if unknown:
            raise AssertionError(
                f"{len(unknown)} request(s) to routes the fake GitLab does not implement:\n"
                + "\n".join(str(r) for r in unknown)
            )

    # -- faults -------------------------------------------------------------

    def default_fault_body(self, status: int) -> Any:
        """GitLab's `{"message": "500 Internal Server Error"}` style."""
        return {"message": FAULT_MESSAGES.get(status, f"{status} Error")}

    def fail(self, route: str | None = None, **options: Any) -> Fault:
        """The next `times` matching requests answer `status` (body GitLab's
        `{"message": "500 Internal Server Error"}` style unless given); with
        `after_action` the request is performed first (a merge that answers 500
        but happened). `query` narrows the match (`{"page": "2"}`). The options
        are `FakeForge.fail`'s."""
        return super().fail(route, **options)

    def rate_limit(
        self,
        route: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> Fault:
        """GitLab's rate limiter: 429 "Retry later" with Retry-After and RateLimit-* headers."""
        headers = {
            "Content-Type": "text/plain",
            "Retry-After": str(retry_after),
            "RateLimit-Limit": "2000",
            "RateLimit-Remaining": "0",
            "RateLimit-Observed": "2000",
        }
        fault = Fault(
            Matcher(route, path, method), 429, times, False, b"Retry later\n", headers, "rate-limit"
        )
        return self.faults.add_fault(fault)

    # -- webhooks -----------------------------------------------------------

    def webhook(
        self,
        kind: str,
        project: str,
        iid: int | None = None,
        *,
        action: str | None = None,
        user: str | None = None,
        note_id: int | None = None,
        award_id: int | None = None,
        status: str | None = None,
        pipeline_id: int | None = None,
        builds: Sequence[Mapping[str, Any]] | None = None,
        ref: str | None = None,
        before: str | None = None,
        after: str | None = None,
        oldrev: Any = _DEFAULT,
        changes: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """(X-Gitlab-Event value, payload) for a webhook consistent with the state.

        kind "merge_request": action open, update, close, reopen, merge, approved,
          unapproved (also approval, unapproval); `update` carries
          `object_attributes.oldrev` exactly when the last change pushed commits
          (override with `oldrev=`), and `changes` from the last edit.
        kind "note": note `note_id` (default the latest); action create, or
          update for an edited note.
        kind "pipeline": the merge request's head pipeline (one is created if
          none), set to `status`; without `iid`, the branch `ref`'s pipeline;
          `builds` lists {"name", "status", "stage"}.
        kind "push": `ref` (default the default branch, or the merge request's
          source branch), `before`/`after` defaulting to the branch's last move.
        kind "emoji": award `award_id` (default the latest), action award/revoke.
        """
        if kind not in TEMPLATES:
            raise ValueError(f"webhook kinds are {sorted(TEMPLATES)}")
        with self.world.lock:
            found = self.world.project(project)
            mr = self.world.mr(found, iid) if iid is not None else None
            builder = Builder(self)
            if kind == "push":
                if ref is None:
                    ref = mr.source_branch if mr else found.default_branch
                payload = builder.push_hook(found, ref=ref, before=before, after=after, user=user)
            elif kind == "pipeline":
                payload = builder.pipeline_hook(
                    found,
                    mr,
                    ref=ref,
                    status=status,
                    pipeline_id=pipeline_id,
                    builds=list(builds) if builds else None,
                    user=user,
                )
            else:
                if mr is None:
                    raise ValueError(f"a {kind} webhook is about a merge request: give its iid")
                if kind == "merge_request":
                    payload = builder.merge_request_hook(
                        found, mr, action or "update", user=user, oldrev=oldrev, changes=changes
                    )
                elif kind == "note":
                    payload = builder.note_hook(found, mr, note_id, action)
                else:
                    payload = builder.emoji_hook(found, mr, award_id, action or "award")
            return event_header(TEMPLATES[kind]), payload

    def hooks(self, path: str) -> list[Hook]:
        """The webhooks of the project, else of the group, at `path`."""
        with self.world.lock:
            if path.lower() in self.world.projects:
                kind, owner = "project", self.world.project(path).id
            else:
                kind, owner = "group", self.world.find_group(path).id
            return [h for h in self.world.hooks if h.kind == kind and h.target_id == owner]

    def hook_token(self, payload: Mapping[str, Any]) -> str | None:
        """The token GitLab would send with `payload`: that of the project's own hook,
        else of its nearest group's (group hooks cover subgroups' projects)."""
        project = payload.get("project")
        path = (project.get("path_with_namespace") if isinstance(project, dict) else None) or (
            payload.get("project_path_with_namespace")
        )
        with self.world.lock:
            owners: list[tuple[str, int]] = []
            if isinstance(path, str) and path.lower() in self.world.projects:
                found = self.world.project(path)
                owners.append(("project", found.id))
                owners += [("group", g.id) for g in self.world.group_chain(found.namespace)]
            elif isinstance(payload.get("group_id"), int):
                group = self.world.find_group(str(payload["group_id"]))
                owners += [("group", g.id) for g in self.world.group_chain(group.full_path)]
            for kind, owner in owners:
                for hook in self.world.hooks:
                    if hook.kind == kind and hook.target_id == owner and hook.token:
                        return hook.token
        return None

    def webhook_request(
        self,
        event: str,
        payload: Mapping[str, Any],
        secret: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers GitLab would POST for `payload`: X-Gitlab-Event,
        X-Gitlab-Token (`secret`; by default the token of the hook that would send
        it — the project's, else its nearest group's, see `hook_token` — else this
        fake's `webhook_secret`; "" sends none), a new Idempotency-Key per call
        unless given (a redelivery keeps it)."""
        if secret is None:
            secret = self.hook_token(payload) or self.webhook_secret
        return request(
            event,
            payload,
            secret=secret,
            instance_url=self.url,
            webhook_uuid=self.webhook_uuid,
            idempotency_key=idempotency_key,
        )
