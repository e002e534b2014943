"""What the fake GitLab does for each REST v4 route it implements.

Routes are named like GitLab's docs name them, with the method:
`"PUT /projects/:id/merge_requests/:iid/merge"`; that name is what faults,
holds and `requests_for` match on. Each handler takes a `Call` (path
parameters, query and body merged as Grape merges them, the authenticated
user) and returns a `Reply` or raises `GitLabError`. Handlers run under the
world's lock; the server adds authentication, faults, holds and the log.

GitLab behaviours kept on purpose (each checked against GitLab's source):

- `PUT .../merge`: 401 "401 Unauthorized" when the caller may not push to the
  target (access below developer here); 405 "405 Method Not Allowed" when the
  request is not open, a draft, lacks approvals or is held by a test-set
  status; 422 "Branch cannot be merged" for git problems (conflicts, a
  fast-forward project needing a rebase); then 409 "SHA does not match HEAD of
  source branch: <head>" when `sha` is stale. (Older GitLab answered 406 for
  conflicts.)
- `POST .../statuses/:sha` reuses only a *pending or running* status of the
  same name, ref and user, and moves it along the state machine: posting
  pending twice, or running twice, answers 400 "Cannot transition status via
  :enqueue from :pending ..." / ":run from :running"; a finished status is
  never reused, so success after success creates a new status (201).
- `POST .../award_emoji` with a name the user already awarded answers 404
  "404 Award Emoji Name has already been taken Not Found" (GitLab turns the
  failed save into `not_found!`).
- Unknown records answer `{"message": "404 <Thing> Not Found"}` or, for
  ActiveRecord lookups (merge requests, notes, members), "404 Not found";
  missing required parameters answer 400 `{"error": "<param> is missing"}`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .pagination import paginate
from .shapes import Shapes
from .state import (
    DEVELOPER,
    GIT_STATE_BLOCKERS,
    GUEST,
    HOOK_EVENTS,
    MAINTAINER,
    OWNER,
    STATUS_STATES,
    AwardEmoji,
    Commit,
    GitLabError,
    Hook,
    MergeRecord,
    MergeRequest,
    Note,
    Project,
    User,
    World,
    blob_id,
)

_TRUE = {"true", "1", "yes", "t", "y", "on"}


@dataclass
class Call:
    route: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: dict[str, Any]
    caller: User
    url: str  # absolute, without query: what Link headers point at

    def arg(self, name: str, default: Any = None) -> Any:
        """A parameter from the body, else the query string (Grape merges both)."""
        if name in self.body:
            return self.body[name]
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def required(self, name: str) -> Any:
        value = self.arg(name)
        if value is None or value == "":
            raise GitLabError(400, f"{name} is missing", key="error")
        return value


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (raw files)


ROUTES: dict[str, str] = {}  # "METHOD /template" -> handler method name


def route(name: str) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    def register(function: Callable[..., Reply]) -> Callable[..., Reply]:
        ROUTES[name] = function.__name__
        return function

    return register


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r":([a-z_]+)", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template))
    return re.compile(f"^{regex}$")


def match(method: str, api_path: str) -> tuple[str, dict[str, str]] | None:
    """The route name for `METHOD /path` (under /api/v4, still percent-encoded)
    and its decoded parameters."""
    for found in _routes():
        if found.method != method.upper():
            continue
        hit = found.pattern.match(api_path)
        if hit:
            return found.name, {k: urllib.parse.unquote(v) for k, v in hit.groupdict().items()}
    return None


_compiled: list[Route] = []


def _routes() -> list[Route]:
    if not _compiled:
        for name in ROUTES:
            method, template = name.split(" ", 1)
            _compiled.append(Route(name, method, _compile(template)))
    return _compiled


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


class Handlers:
    """The routes, bound to one world and one set of shapes."""

    def __init__(self, world: World, shapes: Shapes) -> None:
        self.world = world
        self.shapes = shapes

    def dispatch(self, name: str, call: Call) -> Reply:
        return getattr(self, ROUTES[name])(call)

    # -- helpers ------------------------------------------------------------

    def project(self, call: Call, level: int = GUEST) -> Project:
        """The `:id` project; 404 when the caller cannot see it, 403 below `level`."""
        project = self.world.project(call.params["id"])
        access = self.world.project_access(project, call.caller.username)
        if access < GUEST:
            raise GitLabError(404, "404 Project Not Found")
        if access < level:
            raise GitLabError(403, "403 Forbidden")
        return project

    def access(self, project: Project, call: Call) -> int:
        return self.world.project_access(project, call.caller.username)

    def listed(self, call: Call, items: list[Any]) -> Reply:
        page, headers = paginate(items, call.query, call.url)
        return Reply(200, page, headers)

    def mr_body(self, project: Project, mr: MergeRequest, call: Call) -> dict[str, Any]:
        return self.shapes.mr(project, mr, call.caller.username)

    def note(self, project: Project, mr: MergeRequest, note_id: str) -> Note:
        note = project.notes.get(int(note_id)) if note_id.isdigit() else None
        if note is None or note.iid != mr.iid:
            raise GitLabError(404, "404 Not found")
        return note

    # -- users --------------------------------------------------------------

    @route("GET /user")
    def get_current_user(self, call: Call) -> Reply:
        return Reply(200, self.shapes.current_user(call.caller))

    @route("GET /users")
    def list_users(self, call: Call) -> Reply:
        username = call.arg("username")
        if username is not None:
            found = self.world.known_user(str(username))
            users = [found] if found else []
        else:
            users = sorted(self.world.users.values(), key=lambda u: u.id)
        return self.listed(call, [self.shapes.user_basic(u.username) for u in users])

    @route("GET /users/:user_id")
    def get_user(self, call: Call) -> Reply:
        found = next(
            (u for u in self.world.users.values() if str(u.id) == str(call.params["user_id"])),
            None,
        )
        if found is None:
            raise GitLabError(404, "404 User Not Found")
        return Reply(200, self.shapes.current_user(found))

    # -- projects and members -----------------------------------------------

    @route("GET /projects/:id")
    def get_project(self, call: Call) -> Reply:
        project = self.project(call)
        return Reply(200, self.shapes.project(project, call.caller.username))

    def _members(self, levels: dict[str, int]) -> list[dict[str, Any]]:
        ordered = sorted(levels.items(), key=lambda item: self.world.user(item[0]).id)
        return [self.shapes.member(username, level) for username, level in ordered if level > 0]

    def _one_member(self, levels: dict[str, int], user_id: str) -> Reply:
        user = self.world.user_by_id(int(user_id)) if user_id.isdigit() else None
        level = levels.get(user.username.lower(), 0) if user else 0
        if user is None or level <= 0:
            raise GitLabError(404, "404 Not found")
        return Reply(200, self.shapes.member(user.username, level))

    def _project_levels(self, project: Project) -> dict[str, int]:
        usernames = set(project.members)
        for group in self.world.group_chain(project.namespace):
            usernames |= set(group.members)
        return {u: self.world.project_access(project, u) for u in usernames}

    def _group_levels(self, call: Call) -> dict[str, int]:
        group = self.world.find_group(call.params["id"])
        usernames: set[str] = set()
        for ancestor in self.world.group_chain(group.full_path):
            usernames |= set(ancestor.members)
        return {u: self.world.group_access(group, u) for u in usernames}

    @route("GET /projects/:id/members/all")
    def list_project_members_all(self, call: Call) -> Reply:
        return self.listed(call, self._members(self._project_levels(self.project(call))))

    @route("GET /projects/:id/members/all/:user_id")
    def get_project_member_all(self, call: Call) -> Reply:
        levels = self._project_levels(self.project(call))
        return self._one_member(levels, call.params["user_id"])

    @route("GET /groups/:id/members/all")
    def list_group_members_all(self, call: Call) -> Reply:
        return self.listed(call, self._members(self._group_levels(call)))

    @route("GET /groups/:id/members/all/:user_id")
    def get_group_member_all(self, call: Call) -> Reply:
        return self._one_member(self._group_levels(call), call.params["user_id"])

    # -- groups and webhooks ------------------------------------------------

    @route("GET /groups/:id")
    def get_group(self, call: Call) -> Reply:
        group = self.world.find_group(call.params["id"])
        if self.world.group_access(group, call.caller.username) < GUEST:
            raise GitLabError(404, "404 Group Not Found")
        return Reply(200, self.shapes.group(group))

    def _hook_owner(self, call: Call, kind: str) -> int:
        """The `:id` project (maintainers) or group (owners) whose hooks are asked for."""
        if kind == "project":
            return self.project(call, level=MAINTAINER).id
        group = self.world.find_group(call.params["id"])
        access = self.world.group_access(group, call.caller.username)
        if access < GUEST:
            raise GitLabError(404, "404 Group Not Found")
        if access < OWNER:
            raise GitLabError(403, "403 Forbidden")
        return group.id

    def _hooks(self, call: Call, kind: str) -> list[Hook]:
        owner = self._hook_owner(call, kind)
        return [h for h in self.world.hooks if h.kind == kind and h.target_id == owner]

    def _hook(self, call: Call, kind: str) -> Hook:
        hook_id = call.params["hook_id"]
        found = [h for h in self._hooks(call, kind) if str(h.id) == hook_id]
        if not found:
            raise GitLabError(404, "404 Not found")
        return found[0]

    def _hook_events(self, call: Call, kind: str, events: dict[str, bool]) -> dict[str, bool]:
        for name in HOOK_EVENTS[kind]:
            flag = call.flag(name)
            if flag is not None:
                events[name] = flag
        return events

    def _list_hooks(self, call: Call, kind: str) -> Reply:
        return self.listed(call, [self.shapes.hook(h) for h in self._hooks(call, kind)])

    def _add_hook(self, call: Call, kind: str) -> Reply:
        owner = self._hook_owner(call, kind)
        # GitLab's defaults: push events on, SSL verification on, the rest off.
        events = {"push_events": True, "enable_ssl_verification": True}
        hook = Hook(
            self.world.next_id(), kind, owner, str(call.required("url")),
            str(call.arg("token") or ""), self._hook_events(call, kind, events), self.world.now(),
        )
        self.world.hooks.append(hook)
        return Reply(201, self.shapes.hook(hook))

    def _edit_hook(self, call: Call, kind: str) -> Reply:
        hook = self._hook(call, kind)
        url = str(call.required("url"))
        if url != hook.url:
            hook.url, hook.token = url, ""  # GitLab drops the token when the URL changes
        if call.arg("token") is not None:
            hook.token = str(call.arg("token"))
        self._hook_events(call, kind, hook.events)
        return Reply(200, self.shapes.hook(hook))

    def _delete_hook(self, call: Call, kind: str) -> Reply:
        hook = self._hook(call, kind)
        self.world.hooks.remove(hook)
        return Reply(204)

    @route("GET /projects/:id/hooks")
    def list_project_hooks(self, call: Call) -> Reply:
        return self._list_hooks(call, "project")

    @route("GET /projects/:id/hooks/:hook_id")
    def get_project_hook(self, call: Call) -> Reply:
        return Reply(200, self.shapes.hook(self._hook(call, "project")))

    @route("POST /projects/:id/hooks")
    def add_project_hook(self, call: Call) -> Reply:
        return self._add_hook(call, "project")

    @route("PUT /projects/:id/hooks/:hook_id")
    def edit_project_hook(self, call: Call) -> Reply:
        return self._edit_hook(call, "project")

    @route("DELETE /projects/:id/hooks/:hook_id")
    def delete_project_hook(self, call: Call) -> Reply:
        return self._delete_hook(call, "project")

    @route("GET /groups/:id/hooks")
    def list_group_hooks(self, call: Call) -> Reply:
        return self._list_hooks(call, "group")

    @route("GET /groups/:id/hooks/:hook_id")
    def get_group_hook(self, call: Call) -> Reply:
        return Reply(200, self.shapes.hook(self._hook(call, "group")))

    @route("POST /groups/:id/hooks")
    def add_group_hook(self, call: Call) -> Reply:
        return self._add_hook(call, "group")

    @route("PUT /groups/:id/hooks/:hook_id")
    def edit_group_hook(self, call: Call) -> Reply:
        return self._edit_hook(call, "group")

    @route("DELETE /groups/:id/hooks/:hook_id")
    def delete_group_hook(self, call: Call) -> Reply:
        return self._delete_hook(call, "group")

    # -- merge requests -----------------------------------------------------

    @route("GET /projects/:id/merge_requests")
    def list_merge_requests(self, call: Call) -> Reply:
        project = self.project(call)
        state = call.arg("state", "all")
        wanted_labels = set(_labels(call.arg("labels")))
        iids = {
            int(v) for v in call.query.get("iids[]", []) + call.query.get("iids", []) if v.isdigit()
        }
        # GitLab keeps merge requests updated at or after the time.
        updated_after = _time(call.arg("updated_after"))
        found = []
        for mr in project.mrs.values():
            if state != "all" and mr.state != state:
                continue
            if call.arg("target_branch") and mr.target_branch != call.arg("target_branch"):
                continue
            if call.arg("source_branch") and mr.source_branch != call.arg("source_branch"):
                continue
            if wanted_labels and not wanted_labels <= set(mr.labels):
                continue
            if iids and mr.iid not in iids:
                continue
            if updated_after is not None and mr.updated < updated_after:
                continue
            found.append(mr)
        order = "updated" if call.arg("order_by") == "updated_at" else "created"
        found.sort(
            key=lambda m: (getattr(m, order), m.id), reverse=call.arg("sort", "desc") != "asc"
        )
        shaped = [self.shapes.mr_basic(project, mr, call.caller.username) for mr in found]
        return self.listed(call, shaped)

    @route("GET /projects/:id/merge_requests/:iid")
    def get_merge_request(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        body = self.shapes.mr(
            project,
            mr,
            call.caller.username,
            include_rebase_in_progress=bool(call.flag("include_rebase_in_progress")),
            include_diverged_commits_count=bool(call.flag("include_diverged_commits_count")),
        )
        return Reply(200, body)

    @route("PUT /projects/:id/merge_requests/:iid")
    def update_merge_request(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        if (
            self.access(project, call) < DEVELOPER
            and mr.author.lower() != call.caller.username.lower()
        ):
            raise GitLabError(403, "403 Forbidden")
        changes: dict[str, Any] = {}
        if call.arg("title") is not None:
            changes["title"] = str(call.arg("title"))
        if call.arg("description") is not None:
            changes["description"] = str(call.arg("description"))
        if call.arg("target_branch") is not None:
            changes["target"] = str(call.arg("target_branch"))
        labels = list(mr.labels)
        if "labels" in call.body or "labels" in call.query:
            labels = _labels(call.arg("labels"))
        labels += [name for name in _labels(call.arg("add_labels")) if name not in labels]
        removed = set(_labels(call.arg("remove_labels")))
        labels = [name for name in labels if name not in removed]
        if labels != mr.labels:
            changes["labels"] = labels
        if call.flag("squash") is not None:
            mr.squash = bool(call.flag("squash"))
        if call.flag("remove_source_branch") is not None:
            mr.force_remove_source_branch = bool(call.flag("remove_source_branch"))
        state_event = call.arg("state_event")
        if state_event == "close" and mr.state == "opened":
            changes["state"] = "closed"
        elif state_event == "reopen" and mr.state == "closed":
            changes["state"] = "opened"
        if changes:
            edit_mr(self.world, project, mr, call.caller.username, **changes)
        return Reply(200, self.mr_body(project, mr, call))

    @route("GET /projects/:id/merge_requests/:iid/diffs")
    def list_merge_request_diffs(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        changes = self.world.mr_changes(project, mr)
        return self.listed(call, [self.shapes.diff(c) for c in changes])

    @route("GET /projects/:id/merge_requests/:iid/commits")
    def list_merge_request_commits(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        commits = self.world.mr_commits(project, mr)
        return self.listed(call, [self.shapes.commit(project, c) for c in commits])

    @route("GET /projects/:id/merge_requests/:iid/pipelines")
    def list_merge_request_pipelines(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        shas = set(mr.head_history) | {c.sha for c in self.world.mr_commits(project, mr)}
        found = sorted((p for p in project.pipelines if p.sha in shas), key=lambda p: -p.id)
        return self.listed(call, [self.shapes.pipeline_basic(project, p) for p in found])

    # -- approvals ----------------------------------------------------------

    @route("GET /projects/:id/merge_requests/:iid/approvals")
    def get_merge_request_approvals(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        return Reply(200, self.shapes.approvals(project, mr))

    @route("GET /projects/:id/merge_requests/:iid/approval_state")
    def get_merge_request_approval_state(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        return Reply(200, self.shapes.approval_state(project, mr))

    @route("POST /projects/:id/merge_requests/:iid/approve")
    def approve_merge_request(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        username = call.caller.username
        if (
            mr.state != "opened"
            or self.access(project, call) < DEVELOPER
            or username.lower() in {u.lower() for u in mr.approvals}
        ):
            raise GitLabError(401, "401 Unauthorized")
        sha = call.arg("sha")
        if sha and sha != mr.head_sha:
            raise GitLabError(409, f"SHA does not match HEAD of source branch: {mr.head_sha}")
        approve(self.world, mr, username)
        return Reply(201, self.shapes.approvals(project, mr))

    @route("POST /projects/:id/merge_requests/:iid/unapprove")
    def unapprove_merge_request(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        if not unapprove(self.world, mr, call.caller.username):
            raise GitLabError(404, "404 Not found")
        return Reply(201, self.shapes.approvals(project, mr))

    # -- notes and emoji ----------------------------------------------------

    @route("GET /projects/:id/merge_requests/:iid/notes")
    def list_merge_request_notes(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        notes = [n for n in project.notes.values() if n.iid == mr.iid]
        order = "updated" if call.arg("order_by") == "updated_at" else "created"
        # GitLab's default order is newest first.
        notes.sort(
            key=lambda n: (getattr(n, order), n.id), reverse=call.arg("sort", "desc") != "asc"
        )
        return self.listed(call, [self.shapes.note(project, mr, n) for n in notes])

    @route("GET /projects/:id/merge_requests/:iid/notes/:note_id")
    def get_merge_request_note(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        note = self.note(project, mr, call.params["note_id"])
        return Reply(200, self.shapes.note(project, mr, note))

    @route("POST /projects/:id/merge_requests/:iid/notes")
    def create_merge_request_note(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        body = str(call.required("body"))
        note = add_note(self.world, project, mr, call.caller.username, body)
        return Reply(201, self.shapes.note(project, mr, note))

    @route("PUT /projects/:id/merge_requests/:iid/notes/:note_id")
    def update_merge_request_note(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        note = self.note(project, mr, call.params["note_id"])
        if note.system or note.author.lower() != call.caller.username.lower():
            raise GitLabError(403, "403 Forbidden")
        edit_note(self.world, note, str(call.required("body")))
        return Reply(200, self.shapes.note(project, mr, note))

    def _award(self, call: Call, awards: list[AwardEmoji], kind: str, awardable_id: int) -> Reply:
        name = str(call.required("name"))
        username = call.caller.username
        if any(a.name == name and a.user.lower() == username.lower() for a in awards):
            raise GitLabError(404, "404 Award Emoji Name has already been taken Not Found")
        award = AwardEmoji(
            self.world.next_id(), name, username, kind, awardable_id, self.world.now()
        )
        awards.append(award)
        return Reply(201, self.shapes.award(award))

    @route("GET /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji")
    def list_note_award_emoji(self, call: Call) -> Reply:
        project = self.project(call)
        note = self.note(
            project, self.world.mr(project, call.params["iid"]), call.params["note_id"]
        )
        return self.listed(call, [self.shapes.award(a) for a in note.awards])

    @route("POST /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji")
    def create_note_award_emoji(self, call: Call) -> Reply:
        project = self.project(call)
        note = self.note(
            project, self.world.mr(project, call.params["iid"]), call.params["note_id"]
        )
        return self._award(call, note.awards, "Note", note.id)

    @route("GET /projects/:id/merge_requests/:iid/award_emoji")
    def list_merge_request_award_emoji(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        awards = project.mr_awards.get(mr.iid, [])
        return self.listed(call, [self.shapes.award(a) for a in awards])

    @route("POST /projects/:id/merge_requests/:iid/award_emoji")
    def create_merge_request_award_emoji(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        return self._award(call, project.mr_awards.setdefault(mr.iid, []), "MergeRequest", mr.id)

    # -- merging ------------------------------------------------------------

    @route("PUT /projects/:id/merge_requests/:iid/merge")
    def merge_merge_request(self, call: Call) -> Reply:
        world = self.world
        project = self.project(call)
        mr = world.mr(project, call.params["iid"])
        username = call.caller.username
        if self.access(project, call) < DEVELOPER:
            raise GitLabError(401, "401 Unauthorized")
        detailed = world.detailed_merge_status(project, mr)
        if detailed in ("checking", "unchecked"):
            # The merge endpoint rechecks synchronously: a pending check settles.
            mr.status_override = None
            detailed = world.detailed_merge_status(project, mr)
        if detailed != "mergeable" and detailed not in GIT_STATE_BLOCKERS:
            raise GitLabError(405, "405 Method Not Allowed")
        if detailed in GIT_STATE_BLOCKERS:
            raise GitLabError(422, "Branch cannot be merged")
        sha = call.arg("sha")
        if sha and sha != mr.head_sha:
            raise GitLabError(409, f"SHA does not match HEAD of source branch: {mr.head_sha}")
        requested_squash = call.flag("squash")
        if requested_squash:
            mr.squash = True
        squash = {"always": True, "never": False}.get(project.squash_option, mr.squash)
        if requested_squash and project.squash_option == "never":
            mr.merge_error = (
                "This project does not allow squashing commits when merge requests are accepted."
            )
            raise GitLabError(422, "Branch cannot be merged")
        remove = call.flag("should_remove_source_branch")
        head = mr.head_sha
        world.merge(
            project,
            mr,
            username,
            squash=squash,
            merge_commit_message=call.arg("merge_commit_message"),
            squash_commit_message=call.arg("squash_commit_message"),
        )
        if remove is not None:
            mr.should_remove_source_branch = remove
        if remove or (remove is None and mr.force_remove_source_branch):
            delete_branch(world, project, mr.source_branch)
        world.merges.append(
            MergeRecord(
                project=project.path_with_namespace,
                iid=mr.iid,
                requested_sha=sha,
                head_sha=head,
                squash=squash,
                merge_commit_sha=mr.merge_commit_sha,
                squash_commit_sha=mr.squash_commit_sha,
                should_remove_source_branch=bool(remove),
                merge_commit_message=call.arg("merge_commit_message"),
                squash_commit_message=call.arg("squash_commit_message"),
                merged_by=username,
                at=mr.merged or world.now(),
            )
        )
        return Reply(200, self.mr_body(project, mr, call))

    @route("PUT /projects/:id/merge_requests/:iid/rebase")
    def rebase_merge_request(self, call: Call) -> Reply:
        project = self.project(call)
        mr = self.world.mr(project, call.params["iid"])
        if mr.source_branch not in project.branches:
            raise GitLabError(403, "403 Forbidden - Source branch does not exist")
        if self.access(project, call) < DEVELOPER:
            raise GitLabError(403, "403 Forbidden - Cannot push to source branch")
        self.world.rebase(project, mr, call.caller.username, skip_ci=bool(call.flag("skip_ci")))
        return Reply(202, {"rebase_in_progress": True})

    # -- repository ---------------------------------------------------------

    def _file(self, call: Call, ref: str) -> tuple[Project, str, str]:
        project = self.project(call, level=20)
        sha = self.world.resolve(project, ref)
        if sha is None:
            raise GitLabError(404, "404 Commit Not Found")
        path = call.params["file_path"]
        if path not in project.commits[sha].tree:
            raise GitLabError(404, "404 File Not Found")
        return project, path, sha

    @route("GET /projects/:id/repository/files/:file_path/raw")
    def get_raw_file(self, call: Call) -> Reply:
        project, path, sha = self._file(call, call.arg("ref") or "HEAD")
        data = project.commits[sha].tree[path]
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "X-Gitlab-File-Path": path,
            "X-Gitlab-Commit-Id": sha,
            "X-Gitlab-Blob-Id": blob_id(data),
        }
        return Reply(200, None, headers, raw=data)

    @route("GET /projects/:id/repository/files/:file_path")
    def get_file(self, call: Call) -> Reply:
        ref = str(call.required("ref"))
        project, path, sha = self._file(call, ref)
        return Reply(200, self.shapes.file(project, path, ref, sha))

    @route("GET /projects/:id/repository/commits/:sha")
    def get_commit(self, call: Call) -> Reply:
        project = self.project(call, level=20)
        commit = self.world.commit(project, call.params["sha"])
        return Reply(200, self.shapes.commit_detail(project, commit))

    @route("GET /projects/:id/repository/branches/:branch")
    def get_branch(self, call: Call) -> Reply:
        project = self.project(call, level=20)
        if call.params["branch"] not in project.branches:
            raise GitLabError(404, "404 Branch Not Found")
        return Reply(200, self.shapes.branch(project, call.params["branch"]))

    @route("DELETE /projects/:id/repository/branches/:branch")
    def delete_repository_branch(self, call: Call) -> Reply:
        project = self.project(call, level=DEVELOPER)
        name = call.params["branch"]
        if name not in project.branches:
            raise GitLabError(404, "404 Branch Not Found")
        if name == project.default_branch:
            raise GitLabError(405, "The default branch of a project cannot be deleted.")
        if name in project.protected_branches:
            raise GitLabError(405, "Protected branch cant be removed")
        delete_branch(self.world, project, name)
        return Reply(204)

    # -- commit statuses and pipelines --------------------------------------

    @route("GET /projects/:id/repository/commits/:sha/statuses")
    def list_commit_statuses(self, call: Call) -> Reply:
        project = self.project(call)
        commit = self.world.commit(project, call.params["sha"])
        statuses = [s for s in project.statuses if s.sha == commit.sha]
        if not call.flag("all"):
            statuses = [s for s in statuses if not s.retried]
        for name in ("ref", "name"):
            wanted = call.arg(name)
            if wanted:
                statuses = [s for s in statuses if getattr(s, name) == wanted]
        statuses.sort(key=lambda s: s.id, reverse=call.arg("sort") == "desc")
        return self.listed(call, [self.shapes.status(s) for s in statuses])

    @route("POST /projects/:id/statuses/:sha")
    def create_commit_status(self, call: Call) -> Reply:
        project = self.project(call, level=DEVELOPER)
        state = str(call.required("state"))
        if state not in STATUS_STATES:
            raise GitLabError(400, "state does not have a valid value", key="error")
        status = self.world.post_status(
            project,
            call.params["sha"],
            name=str(call.arg("name") or call.arg("context") or "default"),
            state=state,
            user=call.caller.username,
            ref=call.arg("ref"),
            description=call.arg("description"),
            target_url=call.arg("target_url"),
        )
        return Reply(201, self.shapes.status(status))

    @route("POST /projects/:id/pipeline")
    def create_pipeline(self, call: Call) -> Reply:
        project = self.project(call, level=DEVELOPER)
        ref = str(call.required("ref"))
        sha = project.branches.get(ref.removeprefix("refs/heads/"))
        if sha is None:
            raise GitLabError(400, {"base": ["Reference not found"]})
        variables = {}
        for entry in call.arg("variables") or []:
            if isinstance(entry, dict) and "key" in entry:
                variables[str(entry["key"])] = str(entry.get("value", ""))
        pipeline = self.world.add_pipeline(
            project,
            sha=sha,
            ref=ref.removeprefix("refs/heads/"),
            source="api",
            user=call.caller.username,
            variables=variables,
        )
        self.world.pipelines_created.append(pipeline)
        return Reply(201, self.shapes.pipeline(project, pipeline))

    @route("GET /projects/:id/pipelines/:pipeline_id")
    def get_pipeline(self, call: Call) -> Reply:
        project = self.project(call)
        wanted = int(call.params["pipeline_id"])
        found = next((p for p in project.pipelines if p.id == wanted), None)
        if found is None:
            raise GitLabError(404, "404 Not found")
        return Reply(200, self.shapes.pipeline(project, found))

    @route("GET /projects/:id/pipelines")
    def list_pipelines(self, call: Call) -> Reply:
        project = self.project(call)
        found = list(project.pipelines)
        for name in ("sha", "ref", "status", "source"):
            wanted = call.arg(name)
            if wanted:
                found = [p for p in found if getattr(p, name) == wanted]
        found.sort(key=lambda p: p.id, reverse=call.arg("sort", "desc") != "asc")
        return self.listed(call, [self.shapes.pipeline_basic(project, p) for p in found])


# -- rules shared by the handlers and the arrange API ---------------------------


NEW_COMMIT_DISPLAY_LIMIT = 10
"""GitLab lists this many pushed commits in an "added" note; earlier ones as a range."""


def added_commits_note(
    project: Project, mr: MergeRequest, commits: list[Commit], oldrev: str | None
) -> str:
    """The body of GitLab's system note for `commits` (oldest first) pushed to `mr`
    (`SystemNotes::CommitService#add_commits`): short ids and HTML-escaped titles."""
    count = len(commits)
    items = []
    shown = commits
    if count > NEW_COMMIT_DISPLAY_LIMIT:
        earlier, shown = commits[:-NEW_COMMIT_DISPLAY_LIMIT], commits[-NEW_COMMIT_DISPLAY_LIMIT:]
        ids = (
            earlier[0].sha[:8]
            if len(earlier) == 1
            else f"{oldrev[:8]}...{earlier[-1].sha[:8]}"
            if oldrev
            else f"{earlier[0].sha[:8]}..{earlier[-1].sha[:8]}"
        )
        noun = "earlier commit" if len(earlier) == 1 else "earlier commits"
        items.append(f"<li>{ids} - {len(earlier)} {noun}</li>")
    for commit in shown:
        title = html.escape(commit.message.splitlines()[0] if commit.message else "", quote=True)
        items.append(f"<li>{commit.sha[:8]} - {title}</li>")
    noun = "commit" if count == 1 else "commits"
    link = (f"/{project.path_with_namespace}/-/merge_requests/{mr.iid}/diffs"
            f"?diff_id={len(mr.head_history)}&start_sha={oldrev or ''}")
    return f"added {count} {noun}\n\n<ul>{''.join(items)}</ul>\n\n[Compare with previous version]({link})"


def add_note(
    world: World,
    project: Project,
    mr: MergeRequest,
    author: str,
    body: str,
    *,
    system: bool = False,
) -> Note:
    now = world.now()
    note = Note(world.next_id(), mr.iid, world.user(author).username, body, system, now, now)
    project.notes[note.id] = note
    mr.updated = now
    return note


def edit_note(world: World, note: Note, body: str) -> None:
    note.body = body
    note.updated = world.now()
    note.edited = True


def approve(world: World, mr: MergeRequest, username: str) -> None:
    mr.approvals[world.user(username).username] = world.now()
    mr.last_actor = username
    # GitLab records an approval with a system note, and a note touches its noteable.
    mr.updated = world.now()


def unapprove(world: World, mr: MergeRequest, username: str) -> bool:
    for approver in list(mr.approvals):
        if approver.lower() == username.lower():
            del mr.approvals[approver]
            mr.last_unapprover = approver
            mr.updated = world.now()
            return True
    return False


def delete_branch(world: World, project: Project, name: str) -> None:
    project.branches.pop(name, None)
    world.deleted_branches.append((project.path_with_namespace, name))


def edit_mr(world: World, project: Project, mr: MergeRequest, actor: str, **changes: Any) -> None:
    """Apply `changes` (state, draft, target, labels, title, description) and
    remember them for the next `update`/`close`/`reopen` webhook."""
    previous_updated = mr.updated
    recorded: dict[str, tuple[Any, Any]] = {}
    for key, value in changes.items():
        if key == "state":
            if value not in ("opened", "closed", "locked"):
                raise ValueError("state is opened, closed or locked (merge with merge_mr)")
            ids = {"opened": 1, "closed": 2, "locked": 4}
            recorded["state_id"] = (ids.get(mr.state, 1), ids[value])
            mr.state = value
            if value == "closed":
                mr.closed_by, mr.closed = actor, world.now()
            elif value == "opened":
                mr.closed_by, mr.closed = None, None
        elif key == "draft":
            recorded["draft"] = (mr.draft, bool(value))
            mr.draft = bool(value)
        elif key == "target":
            if value not in project.branches:
                raise ValueError(f"{project.path_with_namespace} has no branch {value}")
            recorded["target_branch"] = (mr.target_branch, value)
            mr.target_branch = value
        elif key == "labels":
            labels = list(value)
            for title in labels:
                world.label(project, title)
            recorded["labels"] = (list(mr.labels), labels)
            mr.labels = labels
        elif key in ("title", "description"):
            recorded[key] = (getattr(mr, key), value)
            setattr(mr, key, value)
        else:
            raise TypeError(f"merge requests have no editable field {key!r}")
    mr.updated = world.now()
    recorded["updated_at"] = (previous_updated, mr.updated)
    mr.last_changes = recorded
    mr.last_oldrev = None
    mr.last_actor = actor


def _time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time from a query parameter (UTC when it names no zone)."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
