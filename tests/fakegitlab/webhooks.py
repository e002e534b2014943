"""Webhook payloads consistent with the fake's state, and the requests GitLab
would send them in.

Each payload starts from a real body in tests/fixtures/gitlab/webhooks
(merge_request.json, note_merge_request_client_go.json, pipeline.json,
push_client_go.json, emoji_*merge_request.json); the user, project,
repository and the event's own objects are replaced by the fake's current
state, each nested object keeping its template's keys and its template's
time format (the merge request hook writes `2013-12-03T17:23:34Z`, the note,
pipeline and emoji hooks `2015-05-17 18:21:36 UTC`). The `X-Gitlab-Event`
value comes from webhook_headers.json.

Added to the templates, as current GitLab sends them: `object_attributes.draft`
next to `work_in_progress`, and `object_attributes.oldrev` (the previous
head) on merge request `update` hooks that pushed commits, and only there.
Removed: `assignee` objects and `source_pipeline` (the fake has no
assignees and no multi-project pipelines).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .shapes import FIXTURES, STATE_IDS, VISIBILITY_LEVELS, avatar_url, example
from .state import (
    Commit,
    MergeRequest,
    Pipeline,
    Project,
    git_time,
    hook_iso,
    hook_utc,
    iso,
)

if TYPE_CHECKING:
    from .fake import FakeGitLab

NULL_SHA = "0" * 40
GITLAB_VERSION = "17.8.0"

TEMPLATES = {
    "merge_request": "merge_request.json",
    "note": "note_merge_request_client_go.json",
    "pipeline": "pipeline.json",
    "push": "push_client_go.json",
    "emoji": "emoji_note_merge_request.json",
}
MR_ACTIONS = (
    "open",
    "update",
    "close",
    "reopen",
    "merge",
    "approved",
    "unapproved",
    "approval",
    "unapproval",
)
# Pipeline hook `detailed_status` for each status (the fixture: success -> "passed").
DETAILED_PIPELINE_STATUS = {"success": "passed"}


def event_header(template_file: str) -> str:
    """The X-Gitlab-Event value documented for a webhook fixture."""
    table = json.loads((FIXTURES / "webhook_headers.json").read_text())
    return str(table["x_gitlab_event_by_fixture"][template_file])


def template(template_file: str) -> dict[str, Any]:
    return example(f"webhooks/{template_file}")


def _time_like(sample: Any, moment: dt.datetime | None) -> str | None:
    """`moment` written the way `sample` (a template's value) is written."""
    if moment is None:
        return None
    text = str(sample or "")
    if text.endswith(" UTC"):
        return hook_utc(moment)
    if "." in text and text.endswith("Z"):
        return iso(moment)
    if text and not text.endswith("Z"):
        return git_time(moment)
    return hook_iso(moment)


def _shaped(template_obj: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """`template_obj`'s keys, each replaced by `values` where it has one."""
    out = copy.deepcopy(template_obj) if isinstance(template_obj, dict) else {}
    for key in out:
        if key in values:
            out[key] = values[key]
    return out


class Builder:
    """Builds payloads from one fake's state (call under the world's lock)."""

    def __init__(self, fake: FakeGitLab) -> None:
        self.fake = fake
        self.world = fake.world
        self.shapes = fake.shapes

    # -- common objects -----------------------------------------------------

    def user(self, template_obj: Any, username: str) -> dict[str, Any]:
        user = self.world.user(username)
        return _shaped(
            template_obj,
            {
                "id": user.id,
                "name": user.name,
                "username": user.username,
                "avatar_url": avatar_url(user),
                "email": user.email,
            },
        )

    def project(self, template_obj: Any, project: Project) -> dict[str, Any]:
        web_url = self.shapes.project_url(project)
        host = self.fake.url.split("://", 1)[-1]
        ssh = f"git@{host}:{project.path_with_namespace}.git"
        return _shaped(
            template_obj,
            {
                "id": project.id,
                "name": project.path,
                "description": project.description,
                "web_url": web_url,
                "avatar_url": None,
                "git_ssh_url": ssh,
                "git_http_url": f"{web_url}.git",
                "namespace": self.world.group(project.namespace).name,
                "visibility_level": VISIBILITY_LEVELS[project.visibility],
                "path_with_namespace": project.path_with_namespace,
                "default_branch": project.default_branch,
                "ci_config_path": "",
                "homepage": web_url,
                "url": ssh,
                "ssh_url": ssh,
                "http_url": f"{web_url}.git",
            },
        )

    def repository(self, template_obj: Any, project: Project) -> dict[str, Any]:
        shaped = self.project(template_obj, project)
        return {**shaped, "name": project.path}

    def labels(self, template_label: Any, project: Project, titles: list[str]) -> list[Any]:
        out = []
        for title in titles:
            label = self.world.label(project, title)
            created = _time_like((template_label or {}).get("created_at"), label.created)
            out.append(
                _shaped(
                    template_label,
                    {
                        "id": label.id,
                        "title": label.title,
                        "color": label.color,
                        "project_id": project.id,
                        "created_at": created,
                        "updated_at": created,
                        "template": False,
                        "description": label.description,
                        "type": "ProjectLabel",
                        "group_id": None,
                    },
                )
            )
        return out

    def commit(self, template_obj: Any, project: Project, commit: Commit) -> dict[str, Any]:
        author = self.world.user(commit.author)
        parent_tree = project.commits[commit.parents[0]].tree if commit.parents else {}
        return _shaped(
            template_obj,
            {
                "id": commit.sha,
                "message": commit.message,
                "title": commit.title,
                "timestamp": git_time(commit.created),
                "url": self.shapes.commit_url(project, commit.sha),
                "author": {"name": author.name, "email": author.email},
                "added": sorted(set(commit.tree) - set(parent_tree)),
                "modified": sorted(
                    p
                    for p in set(commit.tree) & set(parent_tree)
                    if commit.tree[p] != parent_tree[p]
                ),
                "removed": sorted(set(parent_tree) - set(commit.tree)),
            },
        )

    def merge_request(
        self, template_obj: dict[str, Any], project: Project, mr: MergeRequest
    ) -> dict[str, Any]:
        """A merge request in the shape (and time format) of `template_obj`."""
        world = self.world
        label_template = (template_obj.get("labels") or [None])[0]
        if label_template is None:
            label_template = template("merge_request.json")["labels"][0]
        head = project.commits[mr.head_sha]
        values = {
            "id": mr.id,
            "iid": mr.iid,
            "project_id": project.id,
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "source_project_id": project.id,
            "target_project_id": project.id,
            "author_id": world.user(mr.author).id,
            "assignee_ids": [],
            "assignee_id": None,
            "reviewer_ids": [],
            "title": mr.title,
            "description": mr.description,
            "created_at": _time_like(template_obj.get("created_at"), mr.created),
            "updated_at": _time_like(template_obj.get("updated_at"), mr.updated),
            "milestone_id": None,
            "state": mr.state,
            "blocking_discussions_resolved": True,
            "work_in_progress": mr.draft,
            "first_contribution": False,
            "merge_status": world.merge_status(project, mr),
            "detailed_merge_status": world.detailed_merge_status(project, mr),
            "url": self.shapes.mr_url(project, mr),
            "source": self.project(template_obj.get("source"), project),
            "target": self.project(template_obj.get("target"), project),
            "last_edited_at": None,
            "last_edited_by_id": None,
            "state_id": STATE_IDS[mr.state],
            "last_commit": self.commit(template_obj.get("last_commit"), project, head),
            "total_time_spent": 0,
            "time_change": 0,
            "human_total_time_spent": None,
            "human_time_change": None,
            "human_time_estimate": None,
            "labels": self.labels(label_template, project, mr.labels),
            "position": 0,
        }
        shaped = _shaped(template_obj, values)
        shaped.pop("assignee", None)
        if "work_in_progress" in shaped:
            shaped["draft"] = mr.draft
        return shaped

    # -- events -------------------------------------------------------------

    def merge_request_hook(
        self,
        project: Project,
        mr: MergeRequest,
        action: str,
        *,
        user: str | None,
        oldrev: Any,
        changes: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if action not in MR_ACTIONS:
            raise ValueError(f"merge request hook actions are {MR_ACTIONS}, not {action!r}")
        required_state = {
            "merge": "merged",
            "close": "closed",
            "reopen": "opened",
            "open": "opened",
        }
        if action in required_state and mr.state != required_state[action]:
            raise ValueError(f"!{mr.iid} is {mr.state}: no {action!r} hook is consistent with it")
        payload = template(TEMPLATES["merge_request"])
        if action in ("approved", "approval"):
            if not mr.approvals:
                raise ValueError(f"!{mr.iid} has no approvals to report")
            actor = max(mr.approvals, key=lambda u: mr.approvals[u])
        elif action in ("unapproved", "unapproval"):
            actor = mr.last_unapprover or mr.author
        elif action == "open":
            actor = mr.author
        elif action == "merge":
            actor = mr.merged_by or mr.author
        elif action == "close":
            actor = mr.closed_by or mr.author
        else:
            actor = mr.last_actor or mr.author
        actor = user or actor

        attributes = self.merge_request(payload["object_attributes"], project, mr)
        attributes["action"] = action
        if oldrev is _DEFAULT:
            oldrev = mr.last_oldrev if action == "update" else None
        if oldrev:
            attributes["oldrev"] = oldrev
        if changes is None:
            recorded = mr.last_changes if action in ("update", "close", "reopen", "merge") else {}
            changes = self.changes(payload["changes"], project, recorded)

        payload["user"] = self.user(payload["user"], actor)
        payload["project"] = self.project(payload["project"], project)
        payload["repository"] = self.repository(payload["repository"], project)
        payload["object_attributes"] = attributes
        payload["labels"] = attributes["labels"]
        payload["changes"] = dict(changes)
        payload["assignees"] = []
        payload["reviewers"] = []
        return payload

    def changes(
        self, template_changes: Mapping[str, Any], project: Project, recorded: Mapping[str, Any]
    ) -> dict[str, Any]:
        label_template = template_changes["labels"]["current"][0]
        time_sample = template_changes["updated_at"]["current"]
        out: dict[str, Any] = {}
        for key, (previous, current) in recorded.items():
            if key == "labels":
                previous = self.labels(label_template, project, previous)
                current = self.labels(label_template, project, current)
            elif isinstance(previous, dt.datetime) or isinstance(current, dt.datetime):
                previous = _time_like(time_sample, previous)
                current = _time_like(time_sample, current)
            out[key] = {"previous": previous, "current": current}
        return out

    def note_hook(
        self, project: Project, mr: MergeRequest, note_id: int | None, action: str | None
    ) -> dict[str, Any]:
        notes = [n for n in project.notes.values() if n.iid == mr.iid]
        if note_id is None:
            if not notes:
                raise ValueError(f"!{mr.iid} has no notes")
            note = max(notes, key=lambda n: n.id)
        else:
            found = project.notes.get(note_id)
            if found is None or found.iid != mr.iid:
                raise KeyError(f"!{mr.iid} has no note {note_id}")
            note = found
        payload = template(TEMPLATES["note"])
        attributes = payload["object_attributes"]
        payload["user"] = self.user(payload["user"], note.author)
        payload["project_id"] = project.id
        payload["project"] = self.project(payload["project"], project)
        payload["repository"] = self.repository(payload["repository"], project)
        payload["object_attributes"] = _shaped(
            attributes,
            {
                "id": note.id,
                "note": note.body,
                "noteable_type": "MergeRequest",
                "author_id": self.world.user(note.author).id,
                "created_at": _time_like(attributes["created_at"], note.created),
                "updated_at": _time_like(attributes["updated_at"], note.updated),
                "project_id": project.id,
                "attachment": None,
                "line_code": None,
                "commit_id": "",
                "noteable_id": mr.id,
                "system": note.system,
                "st_diff": None,
                "action": action or ("update" if note.edited else "create"),
                "url": f"{self.shapes.mr_url(project, mr)}#note_{note.id}",
            },
        )
        payload["merge_request"] = self.merge_request(payload["merge_request"], project, mr)
        return payload

    def pipeline_hook(
        self,
        project: Project,
        mr: MergeRequest | None,
        *,
        ref: str | None,
        status: str | None,
        pipeline_id: int | None,
        builds: list[Mapping[str, Any]] | None,
        user: str | None,
    ) -> dict[str, Any]:
        world = self.world
        pipeline = self._pipeline(project, mr, ref, pipeline_id, user)
        if status is not None:
            pipeline.status = status
            pipeline.finished = (
                world.now() if status in ("success", "failed", "canceled", "skipped") else None
            )
        payload = template(TEMPLATES["pipeline"])
        attributes = payload["object_attributes"]
        build_template = next(b for b in payload["builds"] if not b.get("manual"))
        shaped_builds = [
            self._build(build_template, project, pipeline, spec) for spec in (builds or [])
        ]
        stages = list(dict.fromkeys(b["stage"] for b in shaped_builds))
        duration = (
            int((pipeline.finished - pipeline.created).total_seconds())
            if pipeline.finished
            else None
        )
        payload["object_attributes"] = _shaped(
            attributes,
            {
                "id": pipeline.id,
                "iid": pipeline.iid,
                "ref": pipeline.ref,
                "tag": False,
                "sha": pipeline.sha,
                "before_sha": pipeline.before_sha,
                "source": pipeline.source,
                "status": pipeline.status,
                "detailed_status": DETAILED_PIPELINE_STATUS.get(pipeline.status, pipeline.status),
                "stages": stages,
                "created_at": _time_like(attributes["created_at"], pipeline.created),
                "finished_at": _time_like(attributes["finished_at"], pipeline.finished),
                "duration": duration,
                "queued_duration": None,
                "variables": [{"key": k, "value": v} for k, v in pipeline.variables.items()],
            },
        )
        if mr is not None:
            payload["merge_request"] = self.merge_request(payload["merge_request"], project, mr)
        else:
            payload["merge_request"] = None
        payload["user"] = self.user(payload["user"], pipeline.user)
        payload["project"] = self.project(payload["project"], project)
        payload["commit"] = self.commit(payload["commit"], project, project.commits[pipeline.sha])
        payload.pop("source_pipeline", None)
        payload["builds"] = shaped_builds
        return payload

    def _pipeline(
        self,
        project: Project,
        mr: MergeRequest | None,
        ref: str | None,
        pipeline_id: int | None,
        user: str | None,
    ) -> Pipeline:
        if pipeline_id is not None:
            found = next((p for p in project.pipelines if p.id == pipeline_id), None)
            if found is None:
                raise KeyError(f"{project.path_with_namespace} has no pipeline {pipeline_id}")
            return found
        if mr is not None:
            sha, source = mr.head_sha, "merge_request_event"
            pipeline_ref = f"refs/merge-requests/{mr.iid}/head"
            actor = user or mr.last_actor or mr.author
        else:
            branch = (ref or project.default_branch).removeprefix("refs/heads/")
            sha, source, pipeline_ref = project.branches[branch], "push", branch
            actor = user or project.commits[sha].author
        existing = [p for p in project.pipelines if p.sha == sha and p.ref == pipeline_ref]
        if existing:
            return max(existing, key=lambda p: p.id)
        return self.world.add_pipeline(
            project, sha=sha, ref=pipeline_ref, source=source, user=actor, status="pending"
        )

    def _build(
        self,
        build_template: Mapping[str, Any],
        project: Project,
        pipeline: Pipeline,
        spec: Mapping[str, Any],
    ) -> dict[str, Any]:
        status = spec.get("status", "success")
        created = pipeline.created
        finished = pipeline.finished if status in ("success", "failed", "canceled") else None
        return _shaped(
            build_template,
            {
                "id": self.world.next_id(),
                "stage": spec.get("stage", "test"),
                "name": spec["name"],
                "status": status,
                "created_at": _time_like(build_template.get("created_at"), created),
                "started_at": _time_like(build_template.get("started_at"), created),
                "finished_at": _time_like(build_template.get("started_at"), finished),
                "when": "on_success",
                "manual": False,
                "allow_failure": bool(spec.get("allow_failure", False)),
                "user": self.user(build_template["user"], pipeline.user),
            },
        )

    def push_hook(
        self,
        project: Project,
        *,
        ref: str,
        before: str | None,
        after: str | None,
        user: str | None,
    ) -> dict[str, Any]:
        branch = ref.removeprefix("refs/heads/")
        history = project.branch_history.get(branch, [])
        if after is None:
            after = project.branches.get(branch, NULL_SHA)
        if before is None:
            if after == NULL_SHA:
                before = history[-1] if history else NULL_SHA
            elif after in history:
                position = max(i for i, sha in enumerate(history) if sha == after)
                before = history[position - 1] if position > 0 else NULL_SHA
            else:
                parents = project.commits[after].parents
                before = parents[0] if parents else NULL_SHA
        commits: list[Commit] = []
        if after != NULL_SHA:
            base = before if before != NULL_SHA else None
            commits = list(reversed(self.world.commits_between(project, base, after)))
        pusher = user or (
            project.commits[after].author if after != NULL_SHA else self.world.bot_username
        )
        account = self.world.user(pusher)
        payload = template(TEMPLATES["push"])
        commit_template = payload["commits"][0]
        payload.update(
            {
                "before": before,
                "after": after,
                "ref": f"refs/heads/{branch}",
                "ref_protected": branch in project.protected_branches,
                "checkout_sha": after if after != NULL_SHA else None,
                "user_id": account.id,
                "user_name": account.name,
                "user_username": account.username,
                "user_email": account.email,
                "user_avatar": avatar_url(account),
                "project_id": project.id,
                "project": self.project(payload["project"], project),
                "repository": self.repository(payload["repository"], project),
                # GitLab lists at most 20 commits, oldest first, and counts them all.
                "commits": [self.commit(commit_template, project, c) for c in commits[-20:]],
                "total_commits_count": len(commits),
            }
        )
        return payload

    def emoji_hook(
        self, project: Project, mr: MergeRequest, award_id: int | None, action: str
    ) -> dict[str, Any]:
        candidates = [(a, None) for a in project.mr_awards.get(mr.iid, [])]
        for note in project.notes.values():
            if note.iid == mr.iid:
                candidates += [(a, note) for a in note.awards]
        if award_id is None:
            if not candidates:
                raise ValueError(f"!{mr.iid} has no emoji awards")
            award, note = max(candidates, key=lambda pair: pair[0].id)
        else:
            found = [pair for pair in candidates if pair[0].id == award_id]
            if not found:
                raise KeyError(f"!{mr.iid} has no award {award_id}")
            award, note = found[0]
        payload = template(TEMPLATES["emoji"] if note is not None else "emoji_merge_request.json")
        attributes = payload["object_attributes"]
        mr_url = self.shapes.mr_url(project, mr)
        payload["user"] = self.user(payload["user"], award.user)
        payload["project_id"] = project.id
        payload["project"] = self.project(payload["project"], project)
        payload["object_attributes"] = _shaped(
            attributes,
            {
                "user_id": self.world.user(award.user).id,
                "created_at": _time_like(attributes["created_at"], award.created),
                "id": award.id,
                "name": award.name,
                "awardable_type": award.awardable_type,
                "awardable_id": award.awardable_id,
                "updated_at": _time_like(attributes["updated_at"], award.created),
                "action": action,
                "awarded_on_url": f"{mr_url}#note_{note.id}" if note else mr_url,
            },
        )
        if note is not None:
            note_template = payload["note"]
            payload["note"] = _shaped(
                note_template,
                {
                    "id": note.id,
                    "note": note.body,
                    "noteable_type": "MergeRequest",
                    "noteable_id": mr.id,
                    "author_id": self.world.user(note.author).id,
                    "project_id": project.id,
                    "created_at": _time_like(note_template["created_at"], note.created),
                    "updated_at": _time_like(note_template["updated_at"], note.updated),
                    "description": note.body,
                    "url": f"{mr_url}#note_{note.id}",
                },
            )
        payload["merge_request"] = self.merge_request(payload["merge_request"], project, mr)
        return payload


class _Default:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Default()


def request(
    event: str,
    payload: Mapping[str, Any],
    *,
    secret: str,
    instance_url: str,
    webhook_uuid: str,
    idempotency_key: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitLab POSTs: the secret in X-Gitlab-Token (plain, no
    HMAC; omitted when `secret` is empty) and a new Idempotency-Key unless given
    (GitLab keeps it only across retries of one delivery)."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"GitLab/{GITLAB_VERSION}",
        "X-Gitlab-Event": event,
        "X-Gitlab-Instance": instance_url,
        "X-Gitlab-Webhook-UUID": webhook_uuid,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
    }
    if secret:
        headers["X-Gitlab-Token"] = secret
    return body, headers
