"""Webhook payloads consistent with the fake's state, and their signatures.

Each payload starts from a real delivery body of `@octokit/webhooks-examples`
in tests/fixtures/github/webhooks/<event>/<action>.1.json (for an action the
package lacks, e.g. `pull_request.edited`, the event's first example with the
action replaced), then the repository, sender, installation, organisation
and the event's own objects (pull request, review, comment, check run...)
are replaced by the fake's current state, API URLs pointing at the fake.
Review states are lower-case in webhooks ("approved"), as GitHub sends them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .builders import GITHUB_API, node_id, retarget
from .handlers import ensure_label
from .state import PullRequest, Repo, iso, utcnow

if TYPE_CHECKING:
    from .fake import FakeGitHub

WEBHOOK_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github" / "webhooks"

NULL_SHA = "0" * 40

# Events whose payload has no `action`; their fixtures are named after the event.
ACTIONLESS = {"push", "status", "ping"}
# Templates to start from when several examples exist.
PREFERRED = {("push", None): "push.5"}


def sign(secret: str | bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 header value GitHub sends for `body`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def request(
    event: str, payload: Mapping[str, Any], secret: str, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-Hub-Signature-256": sign(secret, body),
    }
    return body, headers


def template(event: str, action: str | None) -> dict[str, Any]:
    folder = WEBHOOK_FIXTURES / event
    preferred = PREFERRED.get((event, action))
    candidates = [folder / f"{preferred}.json"] if preferred else []
    candidates.append(folder / f"{action or event}.1.json")
    candidates.extend(sorted(folder.glob("*.1.json")))
    for path in candidates:
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"no webhook example for {event} in {folder}")


def _organization(fake: FakeGitHub, login: str, shaped: dict[str, Any] | None) -> dict[str, Any]:
    account = fake.world.account(login)
    api = f"{fake.api_url}/orgs/{account.login}"
    out = copy.deepcopy(shaped) if shaped else {}
    out.update(
        {
            "login": account.login,
            "id": account.id,
            "node_id": node_id("Organization", account.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
            "description": "",
        }
    )
    return out


def _merge(template_obj: Any, values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template_obj) if isinstance(template_obj, dict) else {}
    out.update(values)
    return out


def _issue(fake: FakeGitHub, repo: Repo, number: int, shaped: dict[str, Any]) -> dict[str, Any]:
    pr = repo.pulls[number]
    pull = fake.shapes.pull(repo, pr, settle=False)
    issue_api = f"{fake.shapes.repo_api(repo)}/issues/{number}"
    values = {
        "url": issue_api,
        "repository_url": fake.shapes.repo_api(repo),
        "labels_url": f"{issue_api}/labels{{/name}}",
        "comments_url": f"{issue_api}/comments",
        "events_url": f"{issue_api}/events",
        "html_url": pull["html_url"],
        "id": pr.id,
        "node_id": node_id("Issue", pr.id),
        "number": number,
        "title": pr.title,
        "user": pull["user"],
        "labels": pull["labels"],
        "state": pr.state,
        "locked": pr.locked,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": sum(1 for c in repo.comments.values() if c.number == number),
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at),
        "author_association": pull["author_association"],
        "body": pr.body,
        "reactions": fake.shapes.reaction_rollup(f"{issue_api}/reactions", []),
        "timeline_url": f"{issue_api}/timeline",
        "draft": pr.draft,
        "pull_request": {
            "url": pull["url"],
            "html_url": pull["html_url"],
            "diff_url": pull["diff_url"],
            "patch_url": pull["patch_url"],
            "merged_at": iso(pr.merged_at),
        },
    }
    return _merge(shaped, values)


def _push_commit(fake: FakeGitHub, repo: Repo, sha: str) -> dict[str, Any]:
    commit = repo.commits[sha]
    parent_tree = repo.commits[commit.parents[0]].tree if commit.parents else {}
    added = sorted(set(commit.tree) - set(parent_tree))
    removed = sorted(set(parent_tree) - set(commit.tree))
    modified = sorted(
        p for p in set(commit.tree) & set(parent_tree) if commit.tree[p] != parent_tree[p]
    )

    def person(login: str | None) -> dict[str, Any]:
        name = login or "Unknown"
        return {"name": name, "email": f"{name}@users.noreply.github.com", "username": login}

    return {
        "id": sha,
        "tree_id": sha,
        "distinct": True,
        "message": commit.message,
        "timestamp": iso(commit.date),
        "url": f"https://github.com/{repo.full_name}/commit/{sha}",
        "author": person(commit.author),
        "committer": person(commit.committer or commit.author),
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def build(
    fake: FakeGitHub,
    event: str,
    action: str | None,
    repo_name: str | None,
    number: int | None,
    *,
    sender: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """The payload of `event`/`action` about `repo_name` (and PR `number`), from current state.

    `details` by event:
      pull_request: before (synchronize; default the previous head), label, changes
      pull_request_review: review_id (default the latest review)
      issue_comment: comment_id (default the latest comment), changes
      check_run: check_run_id (default the latest run); check_suite: sha, app_slug
      status: status_id (default the latest status)
      push: ref ("refs/heads/<branch>"), before, after
      member: member, changes; membership: member, org, team; team: org, team, changes
      installation / installation_repositories: installation_id, repositories
      merge_group: head_sha (default the group the queue built last; see FakeGitHub.queue)
      deployment_status: deployment_id (default the latest deployment; its latest status)
      workflow_run: run_id (default the latest run a dispatch started)
    """
    world = fake.world
    shapes = fake.shapes
    payload = template(event, action)
    if event not in ACTIONLESS:
        payload["action"] = action or payload.get("action")
    repo = world.repo(repo_name) if repo_name else None
    pr = world.pull(repo, number) if repo is not None and number is not None else None
    old_full = (payload.get("repository") or {}).get("full_name")
    if repo is not None and old_full:
        # URLs of the example's repository that no overlay below replaces.
        payload = retarget(
            payload,
            [(f"/{old_full}/", f"/{repo.full_name}/"), (f"/{old_full}", f"/{repo.full_name}")],
        )
    # Who acted: the last pusher or the author for pull request events (the
    # review's, comment's or status's author where there is one), else the App.
    default_sender = pr.last_pusher or pr.user if pr is not None else world.bot_login
    payload["sender"] = shapes.user(sender or default_sender, payload.get("sender"))

    if repo is not None:
        shaped_repo = shapes.repository(repo, payload.get("repository"))
        if event == "push":
            # Push payloads carry the repository's times as Unix timestamps.
            shaped_repo["created_at"] = int(repo.created_at.timestamp())
            shaped_repo["pushed_at"] = int(utcnow().timestamp())
            shaped_repo["owner"].update(name=repo.owner, email=None)
        payload["repository"] = shaped_repo
        owner = world.account(repo.owner)
        if owner.type == "Organization":
            payload["organization"] = _organization(fake, owner.login, payload.get("organization"))
        else:
            payload.pop("organization", None)
        installation = world.installation_for_repo(repo.full_name)
        if installation is not None and event not in ("installation", "installation_repositories"):
            payload["installation"] = {
                "id": installation.id,
                "node_id": node_id("IntegrationInstallation", installation.id),
            }

    draft = _Draft(fake, payload, repo, pr, action, sender, details)
    builder = _EVENTS.get(event)
    if builder is not None:
        builder(draft)

    return retarget(payload, [(GITHUB_API, fake.api_url)])


def _suite(
    fake: FakeGitHub, repo: Repo, sha: str, app_slug: str | None, shaped: Any
) -> dict[str, Any]:
    world = fake.world
    runs = [
        r
        for r in repo.check_runs.values()
        if r.head_sha == sha and (app_slug is None or r.app_slug == app_slug)
    ]
    latest: dict[str, Any] = {}
    for run in sorted(runs, key=lambda r: r.id):
        latest[run.name] = run
    conclusions = [r.conclusion for r in latest.values()]
    completed = bool(latest) and all(r.status == "completed" for r in latest.values())
    if not completed:
        conclusion = None
    elif any(c in ("failure", "timed_out", "cancelled", "action_required") for c in conclusions):
        conclusion = "failure"
    else:
        conclusion = "success"
    suite_id = runs[0].check_suite_id if runs else world.next_id()
    first = runs[0] if runs else None
    branch = next((name for name, head in repo.branches.items() if head == sha), None)
    pulls = [
        fake.shapes.pull_ref(repo, p)
        for p in repo.pulls.values()
        if p.state == "open" and p.head_sha == sha
    ]
    app = (
        fake.shapes.app(first.app_id, first.app_slug, first.app_owner)
        if first
        else fake.shapes.app()
    )
    values = {
        "id": suite_id,
        "node_id": node_id("CheckSuite", suite_id),
        "head_branch": branch,
        "head_sha": sha,
        "status": "completed" if completed else "in_progress",
        "conclusion": conclusion,
        "url": f"{fake.shapes.repo_api(repo)}/check-suites/{suite_id}",
        "before": (repo.commits[sha].parents or [sha])[0],
        "after": sha,
        "pull_requests": pulls,
        "app": app,
        "latest_check_runs_count": len(latest),
        "check_runs_url": f"{fake.shapes.repo_api(repo)}/check-suites/{suite_id}/check-runs",
    }
    out = (
        _merge(shaped, values) if isinstance(shaped, dict) and len(shaped) > 1 else {"id": suite_id}
    )
    if isinstance(shaped, dict) and len(shaped) > 1 and "head_commit" in out:
        out["head_commit"] = _push_commit(fake, repo, sha)
    return out


@dataclass
class _Draft:
    """A payload being filled in, with what it is about."""

    fake: FakeGitHub
    payload: dict[str, Any]
    repo: Repo | None
    pr: PullRequest | None
    action: str | None
    sender: str | None
    details: dict[str, Any]

    def need_repo(self, event: str) -> Repo:
        if self.repo is None:
            raise ValueError(f"{event} webhooks need a repository")
        return self.repo

    def need_pr(self, event: str) -> tuple[Repo, PullRequest]:
        if self.repo is None or self.pr is None:
            raise ValueError(f"{event} webhooks need a repository and a pull request number")
        return self.repo, self.pr

    def set_sender(self, login: str) -> None:
        self.payload["sender"] = self.fake.shapes.user(
            self.sender or login, self.payload.get("sender")
        )


def _latest(items: list[Any], wanted: Any, what: str) -> Any:
    """The item with id `wanted`, or the last one when none is asked for."""
    found = next((i for i in items if i.id == wanted), None) if wanted else (items or [None])[-1]
    if found is None:
        raise ValueError(f"no {what} to send")
    return found


def _installation_ref(installation_id: int) -> dict[str, Any]:
    return {"id": installation_id, "node_id": node_id("IntegrationInstallation", installation_id)}


def _pull_request(d: _Draft) -> None:
    repo, pr = d.need_pr("pull_request")
    shapes, payload = d.fake.shapes, d.payload
    payload["number"] = pr.number
    payload["pull_request"] = _merge(
        payload.get("pull_request"), shapes.pull(repo, pr, settle=False)
    )
    if d.action == "synchronize":
        history = pr.head_history
        payload["before"] = d.details.get("before") or history[max(0, len(history) - 2)]
        payload["after"] = pr.head_sha
    else:
        payload.pop("before", None)
        payload.pop("after", None)
    if d.action in ("labeled", "unlabeled"):
        name = d.details.get("label") or (pr.labels[-1] if pr.labels else None)
        if name is not None:
            payload["label"] = shapes.label(repo, ensure_label(d.fake.world, repo, name))
    else:
        payload.pop("label", None)
    if d.action == "edited":
        payload["changes"] = d.details.get("changes", {})
    if d.action in ("review_requested", "review_request_removed"):
        reviewer = d.details.get("requested_reviewer") or (
            pr.requested_reviewers[-1] if pr.requested_reviewers else None
        )
        if reviewer:
            payload["requested_reviewer"] = shapes.user(reviewer)


def _pull_request_review(d: _Draft) -> None:
    repo, pr = d.need_pr("pull_request_review")
    review = _latest(pr.reviews_sorted, d.details.get("review_id"), f"review on #{pr.number}")
    shaped = _merge(d.payload.get("review"), d.fake.shapes.review(repo, review))
    shaped["state"] = review.state.lower()
    d.payload["review"] = shaped
    d.payload["pull_request"] = _merge(
        d.payload.get("pull_request"), d.fake.shapes.pull_simple(repo, pr)
    )
    d.set_sender(review.user)
    if d.action == "edited":
        d.payload["changes"] = d.details.get("changes", {"body": {"from": ""}})
    else:
        d.payload.pop("changes", None)


def _issue_comment(d: _Draft) -> None:
    repo, pr = d.need_pr("issue_comment")
    comments = sorted(
        (c for c in repo.comments.values() if c.number == pr.number), key=lambda c: c.id
    )
    comment = _latest(comments, d.details.get("comment_id"), f"comment on #{pr.number}")
    d.payload["issue"] = _issue(d.fake, repo, pr.number, d.payload.get("issue", {}))
    d.payload["comment"] = _merge(d.payload.get("comment"), d.fake.shapes.comment(repo, comment))
    d.set_sender(comment.user)
    if d.action == "edited":
        d.payload["changes"] = d.details.get("changes", {"body": {"from": ""}})
    else:
        d.payload.pop("changes", None)


def _check_run(d: _Draft) -> None:
    repo = d.need_repo("check_run")
    runs = sorted(repo.check_runs.values(), key=lambda r: r.id)
    run = _latest(runs, d.details.get("check_run_id"), "check run")
    shaped = _merge(d.payload.get("check_run"), d.fake.shapes.check_run(repo, run))
    shaped["check_suite"] = _suite(
        d.fake, repo, run.head_sha, run.app_slug, shaped.get("check_suite")
    )
    d.payload["check_run"] = shaped


def _check_suite(d: _Draft) -> None:
    repo = d.need_repo("check_suite")
    default = d.pr.head_sha if d.pr is not None else repo.branches[repo.default_branch]
    sha = d.details.get("sha") or default
    d.payload["check_suite"] = _suite(
        d.fake, repo, sha, d.details.get("app_slug"), d.payload.get("check_suite")
    )


def _status(d: _Draft) -> None:
    repo = d.need_repo("status")
    shapes = d.fake.shapes
    status = _latest(repo.statuses, d.details.get("status_id"), "status")
    d.payload.update(
        {
            "id": status.id,
            "sha": status.sha,
            "name": repo.full_name,
            "target_url": status.target_url,
            "context": status.context,
            "description": status.description,
            "state": status.state,
            "commit": _merge(
                d.payload.get("commit"), shapes.commit(repo, repo.commits[status.sha])
            ),
            "branches": [
                {
                    "name": name,
                    "commit": {"sha": sha, "url": f"{shapes.repo_api(repo)}/commits/{sha}"},
                    "protected": name in repo.protections,
                }
                for name, sha in repo.branches.items()
                if sha == status.sha
            ],
            "created_at": iso(status.created_at),
            "updated_at": iso(status.updated_at),
        }
    )
    d.set_sender(status.creator)


def _push(d: _Draft) -> None:
    repo = d.need_repo("push")
    world = d.fake.world
    branch = d.pr.head_ref if d.pr is not None else repo.default_branch
    ref = d.details.get("ref") or f"refs/heads/{branch}"
    after = d.details.get("after") or repo.branches[ref.removeprefix("refs/heads/")]
    before = d.details.get("before") or (repo.commits[after].parents or [NULL_SHA])[0]
    if before in repo.commits:
        new = world.ancestors(repo, after) - world.ancestors(repo, before)
        shas = [c.sha for c in world.ordered_commits(repo, new)]
    else:
        shas = [after]
    commits = [_push_commit(d.fake, repo, sha) for sha in shas]
    pusher = d.sender or (d.pr.last_pusher or d.pr.user if d.pr is not None else repo.owner)
    d.payload.update(
        {
            "ref": ref,
            "before": before,
            "after": after,
            "created": before == NULL_SHA,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"https://github.com/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
            "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.github.com"},
        }
    )
    d.set_sender(pusher)


def _member(d: _Draft) -> None:
    d.need_repo("member")
    d.payload["member"] = d.fake.shapes.user(d.details["member"], d.payload.get("member"))
    if "changes" in d.details:
        d.payload["changes"] = d.details["changes"]
    elif d.action != "edited":
        d.payload.pop("changes", None)


def _team_or_membership(d: _Draft) -> None:
    world = d.fake.world
    org_login = d.details.get("org") or (d.repo.owner if d.repo is not None else None)
    if org_login is None:
        raise ValueError("team and membership webhooks need org= or a repository")
    org = world.org(org_login)
    team = org.teams[d.details["team"].lower()]
    d.payload["organization"] = _organization(d.fake, org.login, d.payload.get("organization"))
    d.payload["team"] = _merge(d.payload.get("team"), d.fake.shapes.team(team))
    installation = next(
        (i for i in world.installations.values() if i.account.lower() == org.login.lower()), None
    )
    if installation is not None:
        d.payload["installation"] = _installation_ref(installation.id)
    if "member" in d.payload or "member" in d.details:
        d.payload["scope"] = "team"
        d.payload["member"] = d.fake.shapes.user(d.details["member"], d.payload.get("member"))
    elif "changes" in d.details:
        d.payload["changes"] = d.details["changes"]
    if d.repo is None:
        d.payload.pop("repository", None)


def _installation(d: _Draft) -> None:
    world = d.fake.world
    installation_id = d.details.get("installation_id")
    if installation_id is None:
        found = world.installation_for_repo(d.repo.full_name) if d.repo is not None else None
        installation_id = found.id if found is not None else next(iter(world.installations))
    installation = world.installations[installation_id]
    d.payload["installation"] = _merge(
        d.payload.get("installation"), d.fake.shapes.installation(installation)
    )
    keys = d.details.get("repositories") or sorted(installation.repositories or ())
    entries = [
        {
            "id": r.id,
            "node_id": node_id("Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": r.private,
        }
        for r in (world.repos[k.lower()] for k in keys if k.lower() in world.repos)
    ]
    if "repositories_added" in d.payload:
        d.payload["repository_selection"] = installation.repository_selection
        d.payload["repositories_added"] = entries if d.action == "added" else []
        d.payload["repositories_removed"] = entries if d.action == "removed" else []
    else:
        d.payload["repositories"] = entries
    d.payload.pop("repository", None)


def _merge_group(d: _Draft) -> None:
    repo = d.need_repo("merge_group")
    groups = list(repo.merge_groups.values())
    head_sha = d.details.get("head_sha") or (groups[-1].head_sha if groups else None)
    if head_sha not in repo.merge_groups:
        raise KeyError(f"{repo.full_name} has no merge group at {head_sha}")
    group = repo.merge_groups[head_sha]
    commit = _push_commit(d.fake, repo, head_sha)
    d.payload["merge_group"] = {
        "head_sha": group.head_sha,
        "head_ref": f"refs/heads/{group.head_ref}",
        "base_sha": group.base_sha,
        "base_ref": f"refs/heads/{group.base_ref}",
        "head_commit": {
            "id": commit["id"],
            "tree_id": commit["tree_id"],
            "message": commit["message"],
            "timestamp": commit["timestamp"],
            "author": {k: commit["author"][k] for k in ("name", "email")},
            "committer": {k: commit["committer"][k] for k in ("name", "email")},
        },
    }


def _deployment_status(d: _Draft) -> None:
    repo = d.need_repo("deployment_status")
    shapes = d.fake.shapes
    deployments = sorted(repo.deployments.values(), key=lambda x: x.id)
    deployment = _latest(deployments, d.details.get("deployment_id"), "deployment")
    if not deployment.statuses:
        raise ValueError("deployment_status webhooks need a status: see set_deployment_status")
    d.payload["deployment"] = _merge(
        d.payload.get("deployment"), shapes.deployment(repo, deployment)
    )
    d.payload["deployment_status"] = _merge(
        d.payload.get("deployment_status"),
        shapes.deployment_status(repo, deployment.statuses[-1]),
    )


def _workflow_run(d: _Draft) -> None:
    repo = d.need_repo("workflow_run")
    runs = sorted(repo.workflow_runs.values(), key=lambda r: r.id)
    run = _latest(runs, d.details.get("run_id"), "workflow run")
    d.payload["workflow_run"] = _merge(
        d.payload.get("workflow_run"), d.fake.shapes.workflow_run(repo, run)
    )


_EVENTS = {
    "deployment_status": _deployment_status,
    "workflow_run": _workflow_run,
    "merge_group": _merge_group,
    "pull_request": _pull_request,
    "pull_request_review": _pull_request_review,
    "issue_comment": _issue_comment,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "status": _status,
    "push": _push,
    "member": _member,
    "membership": _team_or_membership,
    "team": _team_or_membership,
    "installation": _installation,
    "installation_repositories": _installation,
}
