"""Response bodies of the fake GitLab, built from GitLab's own examples.

Each body starts from an example in tests/fixtures/gitlab/api (documentation
examples are envelopes: their `body` is used) and is overlaid with the
fake's state; URLs point at the fake (python-gitlab warns when a response's
URLs name another host). Where an example lacks a field current GitLab sends,
the field is added and named here:

- merge request: the docs' merge example (Entities::MergeRequest) plus the
  keys only the Go client's `get_merge_request.json` has (`has_conflicts`,
  `head_pipeline`, `user`, `first_contribution`, `approvals_before_merge`,
  `reference`); `diverged_commits_count` and `rebase_in_progress` only when
  asked for, as GitLab does.
- merge request list item: the Go client's list example, plus `draft`,
  `has_conflicts`, `merge_status`, `references` and `squash_commit_sha`
  (MergeRequestBasic has them since GitLab 14/15; the example is older).
- merge request commits: the docs example plus `parent_ids` (Entities::Commit
  has it; the docs example leaves it out, `get_commit.json` shows it).
- project: there is no project example among the fixtures; the body uses the
  field names of doc/api/projects.md that the bot reads (merge_method,
  squash_option, default_branch, path_with_namespace, web_url, namespace,
  permissions...).
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from .state import (
    HOOK_EVENTS,
    AwardEmoji,
    Commit,
    CommitStatus,
    FileChange,
    Group,
    Hook,
    MergeRequest,
    Note,
    Pipeline,
    Project,
    User,
    World,
    blob_id,
    git_time,
    iso,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"

VISIBILITY_LEVELS = {"private": 0, "internal": 10, "public": 20}
STATE_IDS = {"opened": 1, "closed": 2, "merged": 3, "locked": 4}


@functools.cache
def _fixture_text(relative: str) -> str:
    return (FIXTURES / relative).read_text()


def example(relative: str) -> Any:
    """A fresh copy of a fixture; for a documentation envelope, its `body`."""
    data = json.loads(_fixture_text(relative))
    if isinstance(data, dict) and "_source" in data and "body" in data:
        return data["body"]
    return data


def overlay(template: Any, values: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = copy.deepcopy(template) if isinstance(template, dict) else {}
    out.update(values)
    for key in drop:
        out.pop(key, None)
    return out


def avatar_url(user: User) -> str:
    digest = hashlib.md5(user.email.encode()).hexdigest()  # noqa: S324 - gravatar's scheme
    return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"


class Shapes:
    """Builds bodies for one world, with URLs under `url`."""

    def __init__(self, world: World, url: str) -> None:
        self.world = world
        self.url = url

    # -- URLs ---------------------------------------------------------------

    def project_url(self, project: Project) -> str:
        return f"{self.url}/{project.path_with_namespace}"

    def mr_url(self, project: Project, mr: MergeRequest) -> str:
        return f"{self.project_url(project)}/-/merge_requests/{mr.iid}"

    def commit_url(self, project: Project, sha: str) -> str:
        return f"{self.project_url(project)}/-/commit/{sha}"

    def pipeline_url(self, project: Project, pipeline: Pipeline) -> str:
        return f"{self.project_url(project)}/-/pipelines/{pipeline.id}"

    # -- users --------------------------------------------------------------

    def user_basic(self, username: str | None) -> dict[str, Any] | None:
        """UserBasic, in the shape of a merge request's `author`."""
        if username is None:
            return None
        user = self.world.user(username)
        template = example("api/get_merge_request.json")["author"]
        return overlay(
            template,
            {
                "id": user.id,
                "name": user.name,
                "username": user.username,
                "state": "active",
                "avatar_url": avatar_url(user),
                "web_url": f"{self.url}/{user.username}",
            },
        )

    def current_user(self, user: User) -> dict[str, Any]:
        """`GET /user`: the bot's example for bot users, the plain one otherwise."""
        template = example("api/get_user_bot.json" if user.bot else "api/get_user.json")
        values: dict[str, Any] = {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "state": "active",
            "avatar_url": avatar_url(user),
            "web_url": f"{self.url}/{user.username}",
            "created_at": iso(user.created),
            "bot": user.bot,
            "public_email": user.email,
        }
        if user.bot:
            values.update(
                {
                    "email": user.email,
                    "commit_email": user.email,
                    "created_by": None,
                    "confirmed_at": iso(user.created),
                    "last_activity_on": user.created.date().isoformat(),
                }
            )
        return overlay(template, values)

    # -- projects -----------------------------------------------------------

    def project(self, project: Project, caller: str | None) -> dict[str, Any]:
        namespace = self.world.group(project.namespace)
        direct = project.members.get((caller or "").lower())
        inherited = (
            max(
                (
                    g.members.get(caller.lower(), 0)
                    for g in self.world.group_chain(namespace.full_path)
                ),
                default=0,
            )
            if caller
            else 0
        )
        web_url = self.project_url(project)
        host = self.url.split("://", 1)[-1]
        return {
            "id": project.id,
            "description": project.description,
            "name": project.path,
            "name_with_namespace": " / ".join(project.path_with_namespace.split("/")),
            "path": project.path,
            "path_with_namespace": project.path_with_namespace,
            "created_at": iso(project.created),
            "default_branch": project.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{host}:{project.path_with_namespace}.git",
            "http_url_to_repo": f"{web_url}.git",
            "web_url": web_url,
            "readme_url": None,
            "avatar_url": None,
            "forks_count": 0,
            "star_count": 0,
            "last_activity_at": iso(project.created),
            "namespace": {
                "id": namespace.id,
                "name": namespace.name,
                "path": namespace.path,
                "kind": "group",
                "full_path": namespace.full_path,
                "parent_id": self.world.group(namespace.parent).id if namespace.parent else None,
                "avatar_url": None,
                "web_url": f"{self.url}/groups/{namespace.full_path}",
            },
            "visibility": project.visibility,
            "archived": False,
            "empty_repo": not project.commits,
            "merge_requests_enabled": True,
            "merge_method": project.merge_method,
            "squash_option": project.squash_option,
            "only_allow_merge_if_pipeline_succeeds": False,
            "only_allow_merge_if_all_discussions_are_resolved": False,
            "remove_source_branch_after_merge": project.remove_source_branch_after_merge,
            "approvals_before_merge": project.approvals_required,
            "permissions": {
                "project_access": (
                    {"access_level": direct, "notification_level": 3} if direct else None
                ),
                "group_access": (
                    {"access_level": inherited, "notification_level": 3} if inherited else None
                ),
            },
        }

    # -- merge requests -----------------------------------------------------

    def _pipeline_brief(self, project: Project, pipeline: Pipeline | None) -> dict[str, Any] | None:
        if pipeline is None:
            return None
        template = example("api/get_merge_request.json")["pipeline"]
        return overlay(
            template,
            {
                "id": pipeline.id,
                "sha": pipeline.sha,
                "ref": pipeline.ref,
                "status": pipeline.status,
                "web_url": self.pipeline_url(project, pipeline),
                "created_at": iso(pipeline.created),
                "updated_at": iso(pipeline.finished or pipeline.created),
            },
        )

    def _head_pipeline(self, project: Project, pipeline: Pipeline | None) -> dict[str, Any] | None:
        if pipeline is None:
            return None
        template = example("api/get_merge_request.json")["head_pipeline"]
        status = pipeline.status
        return overlay(
            template,
            {
                **self._pipeline_brief(project, pipeline),  # type: ignore[dict-item]
                "before_sha": pipeline.before_sha,
                "tag": False,
                "yaml_errors": None,
                "user": self.user_basic(pipeline.user),
                "started_at": None,
                "finished_at": iso(pipeline.finished),
                "committed_at": None,
                "duration": None,
                "coverage": None,
                "detailed_status": overlay(
                    template["detailed_status"],
                    {
                        "icon": f"status_{status}",
                        "text": status,
                        "label": status,
                        "group": status,
                        "tooltip": status,
                        "details_path": f"/{project.path_with_namespace}/-/pipelines/{pipeline.id}",
                        "favicon": None,
                    },
                ),
            },
        )

    def head_pipeline(self, project: Project, mr: MergeRequest) -> Pipeline | None:
        found = [p for p in project.pipelines if p.sha == mr.head_sha]
        return max(found, key=lambda p: p.id) if found else None

    def mr(
        self,
        project: Project,
        mr: MergeRequest,
        caller: str | None,
        *,
        include_rebase_in_progress: bool = False,
        include_diverged_commits_count: bool = False,
    ) -> dict[str, Any]:
        world = self.world
        template = example("api/merge_merge_request.json")
        go_example = example("api/get_merge_request.json")
        for key in (
            "has_conflicts",
            "head_pipeline",
            "user",
            "first_contribution",
            "approvals_before_merge",
            "reference",
        ):
            template[key] = go_example[key]
        awards = project.mr_awards.get(mr.iid, [])
        base = world.diff_base(project, mr)
        target = world.target_sha(project, mr)
        pipeline = self.head_pipeline(project, mr)
        changes = world.mr_changes(project, mr)
        reference = f"!{mr.iid}"
        values: dict[str, Any] = {
            "id": mr.id,
            "iid": mr.iid,
            "project_id": project.id,
            "title": mr.title,
            "description": mr.description,
            "state": mr.state,
            "created_at": iso(mr.created),
            "updated_at": iso(mr.updated),
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "upvotes": sum(1 for a in awards if a.name == "thumbsup"),
            "downvotes": sum(1 for a in awards if a.name == "thumbsdown"),
            "author": self.user_basic(mr.author),
            "assignee": None,
            "assignees": [],
            "reviewers": [],
            "source_project_id": project.id,
            "target_project_id": project.id,
            "labels": list(mr.labels),
            "draft": mr.draft,
            "work_in_progress": mr.draft,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": world.merge_status(project, mr),
            "detailed_merge_status": world.detailed_merge_status(project, mr),
            "merge_error": mr.merge_error,
            "sha": mr.head_sha,
            "merge_commit_sha": mr.merge_commit_sha,
            "squash_commit_sha": mr.squash_commit_sha,
            "user_notes_count": sum(
                1 for n in project.notes.values() if n.iid == mr.iid and not n.system
            ),
            "discussion_locked": None,
            "should_remove_source_branch": mr.should_remove_source_branch,
            "force_remove_source_branch": mr.force_remove_source_branch,
            "allow_collaboration": False,
            "allow_maintainer_to_push": False,
            "web_url": self.mr_url(project, mr),
            "reference": reference,
            "references": {
                "short": reference,
                "relative": reference,
                "full": f"{project.path_with_namespace}{reference}",
            },
            "squash": mr.squash,
            "subscribed": False,
            "changes_count": str(len(changes)),
            "merged_by": self.user_basic(mr.merged_by),
            "merge_user": self.user_basic(mr.merged_by),
            "merged_at": iso(mr.merged),
            "merge_after": None,
            "prepared_at": iso(mr.created),
            "closed_by": self.user_basic(mr.closed_by),
            "closed_at": iso(mr.closed),
            "latest_build_started_at": None,
            "latest_build_finished_at": None,
            "first_deployed_to_production_at": None,
            "pipeline": self._pipeline_brief(project, pipeline),
            "head_pipeline": self._head_pipeline(project, pipeline),
            "diff_refs": {
                "base_sha": base,
                "head_sha": mr.head_sha,
                "start_sha": target,
            },
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": mr.state == "opened" and world.has_conflicts(project, mr),
            "user": {
                "can_merge": bool(caller) and world.project_access(project, caller) >= 30,
            },
            "first_contribution": False,
            "approvals_before_merge": project.approvals_required or None,
        }
        drop: list[str] = []
        if include_diverged_commits_count and target:
            values["diverged_commits_count"] = len(
                world.commits_between(project, mr.head_sha, target)
            )
        else:
            drop.append("diverged_commits_count")
        if include_rebase_in_progress:
            # Rebases finish before the PUT answers: never in progress on a read.
            values["rebase_in_progress"] = False
        return overlay(template, values, drop=tuple(drop))

    def mr_basic(self, project: Project, mr: MergeRequest, caller: str | None) -> dict[str, Any]:
        full = self.mr(project, mr, caller)
        keys = set(example("api/get_merge_requests.json")[0]) | {
            "draft",
            "has_conflicts",
            "merge_status",
            "references",
            "squash_commit_sha",
        }
        return {k: v for k, v in full.items() if k in keys}

    def diff(self, change: FileChange) -> dict[str, Any]:
        template = example("api/list_merge_request_diffs.json")[0]
        return overlay(
            template,
            {
                "old_path": change.old_path,
                "new_path": change.new_path,
                "a_mode": "0" if change.new_file else "100644",
                "b_mode": "0" if change.deleted_file else "100644",
                "diff": change.diff,
                "new_file": change.new_file,
                "renamed_file": change.renamed_file,
                "deleted_file": change.deleted_file,
                "generated_file": False,
            },
        )

    def commit(self, project: Project, commit: Commit) -> dict[str, Any]:
        """Entities::Commit (the shape of a merge request's commits)."""
        template = example("api/list_merge_request_commits.json")[0]
        author = self.world.user(commit.author)
        committer = self.world.user(commit.committer)
        return overlay(
            template,
            {
                "id": commit.sha,
                "short_id": commit.sha[:11],
                "title": commit.title,
                "author_name": author.name,
                "author_email": author.email,
                "authored_date": git_time(commit.created),
                "committer_name": committer.name,
                "committer_email": committer.email,
                "committed_date": git_time(commit.created),
                "created_at": git_time(commit.created),
                "message": commit.message,
                "parent_ids": list(commit.parents),
                "web_url": self.commit_url(project, commit.sha),
            },
        )

    def commit_detail(self, project: Project, commit: Commit) -> dict[str, Any]:
        """`GET /projects/:id/repository/commits/:sha` (CommitDetail)."""
        template = example("api/get_commit.json")
        parent_tree = project.commits[commit.parents[0]].tree if commit.parents else {}
        changes = self.world.tree_changes(parent_tree, commit.tree)
        additions = sum(c.diff.count("\n+") + c.diff.startswith("+") for c in changes)
        deletions = sum(c.diff.count("\n-") + c.diff.startswith("-") for c in changes)
        pipeline = next((p for p in reversed(project.pipelines) if p.sha == commit.sha), None)
        last_pipeline = None
        if pipeline is not None:
            last_pipeline = overlay(
                template["last_pipeline"],
                {
                    "id": pipeline.id,
                    "ref": pipeline.ref,
                    "sha": pipeline.sha,
                    "status": pipeline.status,
                    "web_url": self.pipeline_url(project, pipeline),
                    "created_at": iso(pipeline.created),
                    "updated_at": iso(pipeline.finished or pipeline.created),
                },
            )
        return overlay(
            template,
            {
                **self.commit(project, commit),
                "last_pipeline": last_pipeline,
                "stats": {
                    "additions": additions,
                    "deletions": deletions,
                    "total": additions + deletions,
                },
                "status": pipeline.status if pipeline else None,
                "project_id": project.id,
            },
        )

    # -- approvals ----------------------------------------------------------

    def approvals(self, project: Project, mr: MergeRequest) -> dict[str, Any]:
        template = example("api/get_merge_request_approvals.json")
        entry = template["approved_by"][0]
        approved_by = [
            overlay(
                entry,
                {
                    "user": overlay(entry["user"], self.user_basic(username) or {}),
                    "approved_at": iso(at),
                },
            )
            for username, at in sorted(mr.approvals.items(), key=lambda item: item[1])
        ]
        return overlay(
            template,
            {
                "id": mr.id,
                "iid": mr.iid,
                "project_id": project.id,
                "title": mr.title,
                "description": mr.description,
                "state": mr.state,
                "created_at": iso(mr.created),
                "updated_at": iso(mr.updated),
                "merge_status": self.world.merge_status(project, mr),
                "approvals_required": project.approvals_required,
                "approvals_left": self.world.approvals_left(project, mr),
                "approved_by": approved_by,
            },
        )

    def approval_state(self, project: Project, mr: MergeRequest) -> dict[str, Any]:
        template = example("api/get_merge_request_approval_state.json")
        rules = []
        if project.approvals_required:
            approvers = [self.user_basic(u) for u in sorted(mr.approvals)]
            rules.append(
                overlay(
                    template["rules"][0],
                    {
                        "id": project.id,
                        "name": "All Members",
                        "rule_type": "any_approver",
                        "eligible_approvers": [],
                        "approvals_required": project.approvals_required,
                        "users": [],
                        "groups": [],
                        "contains_hidden_groups": False,
                        "approved_by": approvers,
                        "source_rule": None,
                        "approved": not self.world.approvals_left(project, mr),
                        "overridden": False,
                    },
                )
            )
        return overlay(template, {"approval_rules_overwritten": False, "rules": rules})

    # -- notes and emoji ----------------------------------------------------

    def note(self, project: Project, mr: MergeRequest, note: Note) -> dict[str, Any]:
        template = example("api/get_merge_request_note.json")
        author = self.world.user(note.author)
        return overlay(
            template,
            {
                "id": note.id,
                "body": note.body,
                "author": overlay(
                    template["author"],
                    {
                        "id": author.id,
                        "username": author.username,
                        "email": author.email,
                        "name": author.name,
                        "state": "active",
                        "created_at": iso(author.created),
                    },
                ),
                "created_at": note.created_at,
                "updated_at": note.updated_at,
                "system": note.system,
                "noteable_id": mr.id,
                "noteable_type": "MergeRequest",
                "project_id": project.id,
                "noteable_iid": mr.iid,
            },
        )

    def group(self, group: Group) -> dict[str, Any]:
        """A group as `GET /groups/:id` shows it (the fields the bot reads, and a few)."""
        parent = self.world.groups[group.parent.lower()].id if group.parent else None
        return {
            "id": group.id,
            "name": group.name,
            "path": group.path,
            "full_name": " / ".join(part.title() for part in group.full_path.split("/")),
            "full_path": group.full_path,
            "parent_id": parent,
            "visibility": "private",
            "web_url": f"{self.url}/groups/{group.full_path}",
            "description": "",
        }

    def hook(self, hook: Hook) -> dict[str, Any]:
        """A project or group hook as GitLab lists it: never with its token."""
        owner = "project_id" if hook.kind == "project" else "group_id"
        return {
            "id": hook.id,
            "url": hook.url,
            owner: hook.target_id,
            "name": None,
            "description": None,
            "created_at": iso(hook.created),
            "push_events_branch_filter": None,
            "branch_filter_strategy": "wildcard",
            "alert_status": "executable",
            "disabled_until": None,
            "custom_webhook_template": None,
            **{name: hook.events.get(name, False) for name in HOOK_EVENTS[hook.kind]},
        }

    def award(self, award: AwardEmoji) -> dict[str, Any]:
        template = example("api/create_note_award_emoji.json")
        return overlay(
            template,
            {
                "id": award.id,
                "name": award.name,
                "user": overlay(template["user"], self.user_basic(award.user) or {}),
                "created_at": award.created_at,
                "updated_at": award.created_at,
                "awardable_id": award.awardable_id,
                "awardable_type": award.awardable_type,
            },
        )

    # -- statuses and pipelines ---------------------------------------------

    def status(self, status: CommitStatus) -> dict[str, Any]:
        template = example("api/create_commit_status.json")
        return overlay(
            template,
            {
                "author": overlay(template["author"], self.user_basic(status.author) or {}),
                "name": status.name,
                "sha": status.sha,
                "status": status.status,
                "coverage": status.coverage,
                "description": status.description,
                "id": status.id,
                "target_url": status.target_url,
                "ref": status.ref,
                "started_at": iso(status.started),
                "created_at": status.created_at,
                "allow_failure": status.allow_failure,
                "finished_at": iso(status.finished),
            },
        )

    def pipeline(self, project: Project, pipeline: Pipeline) -> dict[str, Any]:
        template = example("api/create_pipeline.json")
        return overlay(
            template,
            {
                "id": pipeline.id,
                "iid": pipeline.iid,
                "project_id": project.id,
                "sha": pipeline.sha,
                "ref": pipeline.ref,
                "status": pipeline.status,
                "before_sha": pipeline.before_sha,
                "tag": False,
                "yaml_errors": None,
                "user": self.user_basic(pipeline.user),
                "created_at": iso(pipeline.created),
                "updated_at": iso(pipeline.finished or pipeline.created),
                "started_at": None,
                "finished_at": iso(pipeline.finished),
                "committed_at": None,
                "duration": None,
                "queued_duration": None,
                "coverage": None,
                "web_url": self.pipeline_url(project, pipeline),
            },
        )

    def pipeline_basic(self, project: Project, pipeline: Pipeline) -> dict[str, Any]:
        template = example("api/list_project_pipelines.json")[0]
        return overlay(
            template,
            {
                "id": pipeline.id,
                "iid": pipeline.iid,
                "project_id": project.id,
                "status": pipeline.status,
                "source": pipeline.source,
                "ref": pipeline.ref,
                "sha": pipeline.sha,
                "name": None,
                "web_url": self.pipeline_url(project, pipeline),
                "created_at": iso(pipeline.created),
                "updated_at": iso(pipeline.finished or pipeline.created),
            },
        )

    # -- repository ---------------------------------------------------------

    def file(self, project: Project, path: str, ref: str, sha: str) -> dict[str, Any]:
        data = project.commits[sha].tree[path]
        last = next(
            c.sha
            for c in self.world.commits_between(project, None, sha)
            if (project.commits[c.parents[0]].tree.get(path) if c.parents else None)
            != c.tree.get(path)
        )
        return overlay(
            example("api/get_repository_file.json"),
            {
                "file_name": path.rsplit("/", 1)[-1],
                "file_path": path,
                "size": len(data),
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
                "content_sha256": hashlib.sha256(data).hexdigest(),
                "ref": ref,
                "blob_id": blob_id(data),
                "commit_id": sha,
                "last_commit_id": last,
                "execute_filemode": False,
            },
        )

    def branch(self, project: Project, name: str) -> dict[str, Any]:
        template = example("api/get_branch.json")
        sha = project.branches[name]
        commit = project.commits[sha]
        shaped = self.commit(project, commit)
        return overlay(
            template,
            {
                "name": name,
                "merged": False,
                "protected": name in project.protected_branches,
                "default": name == project.default_branch,
                "developers_can_push": False,
                "developers_can_merge": False,
                "can_push": True,
                "web_url": f"{self.project_url(project)}/-/tree/{name}",
                "commit": overlay(
                    template["commit"], {k: shaped[k] for k in template["commit"] if k in shaped}
                ),
            },
        )

    def member(self, username: str, access_level: int) -> dict[str, Any]:
        template = example("api/get_member_all.json")
        user = self.world.user(username)
        return overlay(
            template,
            {
                **(self.user_basic(username) or {}),
                "access_level": access_level,
                "created_at": iso(user.created),
                "created_by": self.user_basic(self.world.bot_username),
                "email": user.email,
                "expires_at": None,
                "group_saml_identity": None,
            },
        )
