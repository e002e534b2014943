"""What the fake GitHub does for each operation of rest-operations.json.

One function per operationId, registered in `HANDLERS`. Each takes a `Call`
(the matched operation, its parameters and JSON body, the authenticated
caller) and returns a `Reply`, or raises `GitHubError` for GitHub's error
answers. They run under the world's lock; the server adds authentication,
faults, holds and the request log around them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .auth import Caller, mint_token
from .builders import Shapes
from .operations import Operation
from .pagination import paginate
from .state import (
    MERGE_METHODS,
    REACTIONS,
    BranchUpdate,
    ChangedFile,
    CheckRun,
    Comment,
    Deployment,
    DeploymentStatus,
    Dispatch,
    GitHubError,
    Label,
    MergeRecord,
    PullRequest,
    Reaction,
    Repo,
    Status,
    WorkflowRun,
    World,
    blob_sha,
    iso,
    utcnow,
)

if TYPE_CHECKING:
    from .hook_deliveries import HookLog

# GitHub lists at most this many files of a pull request and commits of a compare/PR.
PR_FILES_CAP = 3000
PR_COMMITS_CAP = 250
COMMIT_FILES_PAGE = 300

MERGE_NOT_ALLOWED = {
    "merge": "Merge commits are not allowed on this repository.",
    "squash": "Squash merges are not allowed on this repository.",
    "rebase": "Rebase merges are not allowed on this repository.",
}


@dataclass
class Call:
    operation: Operation
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    caller: Caller | None
    url: str  # absolute, without query: what Link headers point at
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A request header, whatever its case."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def field(self, name: str, default: Any = None) -> Any:
        if isinstance(self.body, dict):
            return self.body.get(name, default)
        return default


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    """A body sent as it is instead of JSON (a custom media type's answer)."""


SHA_MEDIA_TYPE = "application/vnd.github.sha"


class Handlers:
    """The operations, bound to one world and one set of shapes."""

    def __init__(
        self,
        world: World,
        shapes: Shapes,
        private_key_pem: str,
        webhook_secret: str,
        hook_log: HookLog,
    ) -> None:
        self.world = world
        self.shapes = shapes
        self.private_key_pem = private_key_pem
        self.webhook_secret = webhook_secret
        self.hook_log = hook_log

    @property
    def actor(self) -> str:
        """Who the App's writes are attributed to: its bot account."""
        return self.world.bot_login

    def repo(self, call: Call) -> Repo:
        return self.world.repo(f"{call.params['owner']}/{call.params['repo']}")

    def listed(
        self, call: Call, items: list[Any], **limits: int
    ) -> tuple[list[Any], dict[str, str]]:
        page, link = paginate(items, call.query, call.url, **limits)
        return page, ({"Link": link} if link else {})

    # -- the App ------------------------------------------------------------

    def apps_get_authenticated(self, call: Call) -> Reply:
        return Reply(200, self.shapes.app())

    def apps_create_from_manifest(self, call: Call) -> Reply:
        config = self.world.manifest_codes.pop(call.params["code"], None)
        if config is None:
            raise GitHubError(404, "Not Found")
        shaped = self.shapes.example("apps/create-from-manifest", 201)
        app = self.shapes.app()
        for key in (
            "id",
            "slug",
            "client_id",
            "node_id",
            "owner",
            "name",
            "html_url",
            "permissions",
            "events",
        ):
            shaped[key] = app[key]
        shaped["pem"] = self.private_key_pem
        shaped["webhook_secret"] = config.get("webhook_secret", self.webhook_secret)
        shaped["client_secret"] = config.get("client_secret", "fake-client-secret")
        return Reply(201, self.shapes.to_fake(shaped))

    def apps_create_installation_access_token(self, call: Call) -> Reply:
        installation = self.world.installations.get(int(call.params["installation_id"]))
        if installation is None:
            raise GitHubError(404, "Not Found")
        if installation.suspended:
            raise GitHubError(403, "This installation has been suspended")
        names = call.field("repositories")
        ids = call.field("repository_ids")
        restricted: set[str] | None = None
        if names or ids:
            restricted = set()
            for name in names or []:
                restricted.add(f"{installation.account}/{name}".lower())
            for repo_id in ids or []:
                restricted.update(r.key for r in self.world.repos.values() if r.id == repo_id)
            if len(restricted) < len(names or []) + len(ids or []) or any(
                key not in self.world.repos
                or (installation.repositories is not None and key not in installation.repositories)
                for key in restricted
            ):
                raise GitHubError(
                    422,
                    "There is at least one repository that does not exist or is not accessible to the parent installation.",
                    documentation_url="https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
                )
        permissions = dict(installation.permissions)
        asked = call.field("permissions")
        if asked:
            for scope, level in asked.items():
                granted = installation.permissions.get(scope)
                if granted is None or (level == "write" and granted != "write"):
                    raise GitHubError(
                        422,
                        "The permissions requested are not granted to this installation.",
                        documentation_url="https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
                    )
            permissions = dict(asked)
        token = mint_token(
            self.world,
            installation.id,
            frozenset(restricted) if restricted is not None else None,
            permissions,
        )
        if restricted is not None:
            repos = [self.world.repos[key] for key in sorted(restricted)]
        elif installation.repositories is not None:
            repos = [
                self.world.repos[key]
                for key in sorted(installation.repositories)
                if key in self.world.repos
            ]
        else:
            repos = None
        selection = "selected" if restricted is not None else installation.repository_selection
        body = self.shapes.access_token(
            token.token, iso(token.expires_at) or "", permissions, repos, selection
        )
        return Reply(201, body)

    # -- the App webhook's delivery log (hook_deliveries.py) -----------------

    def apps_list_webhook_deliveries(self, call: Call) -> Reply:
        per_page = call.arg("per_page")
        if per_page is not None and (not per_page.isdigit() or int(per_page) > 100):
            raise GitHubError(422, "per_page must be an integer between 1 and 100")
        cursor = call.arg("cursor")
        if cursor is not None and self.hook_log.find(_cursor_id(cursor)) is None:
            raise GitHubError(400, "Invalid cursor")
        page, link = self.hook_log.page(call.query, call.url)
        return Reply(200, [d.simple() for d in page], {"Link": link} if link else {})

    def apps_get_webhook_delivery(self, call: Call) -> Reply:
        found = self.hook_log.find(int(call.params["delivery_id"]))
        if found is None:
            raise GitHubError(404, "Not Found")
        return Reply(200, found.full(self.hook_log.url or ""))

    def apps_redeliver_webhook_delivery(self, call: Call) -> Reply:
        if not self.hook_log.redeliver(int(call.params["delivery_id"])):
            raise GitHubError(404, "Not Found")
        return Reply(202, {})

    def apps_get_repo_installation(self, call: Call) -> Reply:
        repo = self.repo(call)
        installation = self.world.installation_for_repo(repo.full_name)
        if installation is None:
            raise GitHubError(404, "Not Found")
        return Reply(200, self.shapes.installation(installation))

    # -- organisations ------------------------------------------------------

    def _org_in_scope(self, call: Call) -> None:
        org = call.params["org"].lower()
        installation = (
            self.world.installations.get(call.caller.installation_id) if call.caller else None
        )
        if (
            installation is None
            or installation.account.lower() != org
            or org not in self.world.orgs
        ):
            raise GitHubError(404, "Not Found")

    def orgs_check_membership_for_user(self, call: Call) -> Reply:
        self._org_in_scope(call)
        org = self.world.orgs[call.params["org"].lower()]
        login = call.params["username"].lower()
        if login in {m.lower() for m in org.members}:
            return Reply(204)
        return Reply(404)

    def teams_get_membership_for_user_in_org(self, call: Call) -> Reply:
        self._org_in_scope(call)
        org = self.world.orgs[call.params["org"].lower()]
        team = org.teams.get(call.params["team_slug"].lower())
        if team is None:
            raise GitHubError(404, "Not Found")
        login = call.params["username"]
        for members, state in ((team.members, "active"), (team.pending, "pending")):
            for member, role in members.items():
                if member.lower() == login.lower():
                    return Reply(200, self.shapes.team_membership(team, member, role, state))
        return Reply(404)

    # -- repository, branches, content --------------------------------------

    def repos_get(self, call: Call) -> Reply:
        return Reply(200, self.shapes.repository(self.repo(call)))

    def repos_get_branch(self, call: Call) -> Reply:
        repo = self.repo(call)
        if call.params["branch"] not in repo.branches:
            raise GitHubError(404, "Branch not found")
        return Reply(200, self.shapes.branch(repo, call.params["branch"]))

    def repos_get_branch_protection(self, call: Call) -> Reply:
        repo = self.repo(call)
        branch = call.params["branch"]
        if branch not in repo.branches:
            raise GitHubError(404, "Branch not found")
        if branch not in repo.protections:
            raise GitHubError(404, "Branch not protected")
        return Reply(200, self.shapes.branch_protection(repo, branch))

    def repos_get_content(self, call: Call) -> Reply:
        repo = self.repo(call)
        ref = call.arg("ref")
        sha = self.world.resolve(repo, ref)
        if sha is None:
            raise GitHubError(404, f"No commit found for the ref {ref}")
        tree = repo.commits[sha].tree
        path = call.params["path"].strip("/")
        shown_ref = ref or repo.default_branch
        if path in tree:
            return Reply(200, self.shapes.content(repo, path, shown_ref, tree[path]))
        if path == "" or any(p.startswith(f"{path}/") for p in tree):
            return Reply(200, self.shapes.directory(repo, path, shown_ref, tree))
        raise GitHubError(404, "Not Found")

    def git_delete_ref(self, call: Call) -> Reply:
        repo = self.repo(call)
        ref = call.params["ref"]
        for prefix, refs in (("heads/", repo.branches), ("tags/", repo.tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in refs:
                del refs[ref[len(prefix) :]]
                self.world.deleted_refs.append((repo.full_name, ref))
                return Reply(204)
        raise GitHubError(422, "Reference does not exist")

    # -- commits and comparisons --------------------------------------------

    def repos_get_commit(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = self.world.resolve(repo, call.params["ref"])
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {call.params['ref']}")
        if SHA_MEDIA_TYPE in (call.header("Accept") or ""):
            # The sha media type answers the SHA alone, with the SHA as its ETag: a
            # caller holding a SHA is answered 304 (free of rate limit) while the ref
            # still names it (`server._finish` answers the conditional GET).
            return Reply(200, headers={"ETag": f'"{sha}"', "Content-Type": f"{SHA_MEDIA_TYPE}; charset=utf-8"},
                         text=sha)
        commit = repo.commits[sha]
        body = self.shapes.commit(repo, commit, with_files=True)
        files, headers = self.listed(
            call, body["files"], default_per_page=COMMIT_FILES_PAGE, max_per_page=COMMIT_FILES_PAGE
        )
        body["files"] = files
        return Reply(200, body, headers)

    def repos_compare_commits(self, call: Call) -> Reply:
        repo = self.repo(call)
        base_ref, head_ref = call.params["base"], call.params["head"]
        base_sha = self.world.resolve(repo, base_ref)
        head_sha = self.world.resolve(repo, head_ref)
        if base_sha is None or head_sha is None:
            raise GitHubError(404, "Not Found")
        base_set = self.world.ancestors(repo, base_sha)
        head_set = self.world.ancestors(repo, head_sha)
        ahead = self.world.ordered_commits(repo, head_set - base_set)
        behind_by = len(base_set - head_set)
        if base_sha == head_sha:
            status = "identical"
        elif not ahead:
            status = "behind"
        elif behind_by == 0:
            status = "ahead"
        else:
            status = "diverged"
        merge_base_sha = self.world.merge_base(repo, base_sha, head_sha) or base_sha
        if "page" in call.query or "per_page" in call.query:
            page, headers = self.listed(call, ahead)
        else:
            page, headers = ahead[:PR_COMMITS_CAP], {}
        files = tree_diff(repo.commits[merge_base_sha].tree, repo.commits[head_sha].tree)
        body = self.shapes.compare(
            repo,
            base_ref,
            head_ref,
            status,
            ahead,
            behind_by,
            repo.commits[base_sha],
            repo.commits[merge_base_sha],
            page,
            files[:COMMIT_FILES_PAGE],
            head_sha,
        )
        return Reply(200, body, headers)

    def repos_list_pull_requests_associated_with_commit(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = self.world.resolve(repo, call.params["commit_sha"])
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {call.params['commit_sha']}")
        found = [
            pr
            for pr in sorted(repo.pulls.values(), key=lambda p: -p.number)
            if sha == pr.head_sha
            or sha in pr.commits
            or sha == pr.merge_commit_sha
            or repo.queue_commits.get(sha) == pr.number
        ]
        found.sort(key=lambda p: p.state != "open")
        page, headers = self.listed(call, found)
        return Reply(200, [self.shapes.pull_simple(repo, pr) for pr in page], headers)

    # -- statuses and checks ------------------------------------------------

    def repos_create_commit_status(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = call.params["sha"].lower()
        if sha not in repo.commits:
            raise GitHubError(
                422,
                f"No commit found for SHA: {sha}",
                documentation_url="https://docs.github.com/rest/commits/statuses",
            )
        now = utcnow()
        status = Status(
            id=self.world.next_id(),
            sha=sha,
            context=call.field("context") or "default",
            state=call.field("state"),
            description=call.field("description"),
            target_url=call.field("target_url"),
            creator=self.actor,
            created_at=now,
            updated_at=now,
        )
        repo.statuses.append(status)
        body = self.shapes.status(repo, status)
        return Reply(201, body, {"Location": body["url"]})

    def repos_get_combined_status_for_ref(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = self.world.resolve(repo, call.params["ref"])
        if sha is None:
            raise GitHubError(404, "Not Found")
        latest: dict[str, Status] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status
        ordered = sorted(latest.values(), key=lambda s: s.id)
        page, headers = self.listed(call, ordered)
        return Reply(200, self.shapes.combined_status(repo, sha, page, len(ordered)), headers)

    def repos_list_commit_statuses_for_ref(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = self.world.resolve(repo, call.params["ref"])
        statuses = [s for s in reversed(repo.statuses) if s.sha == sha] if sha else []
        page, headers = self.listed(call, statuses)
        return Reply(200, [self.shapes.status(repo, s) for s in page], headers)

    def checks_create(self, call: Call) -> Reply:
        repo = self.repo(call)
        head_sha = str(call.field("head_sha", "")).lower()
        if head_sha not in repo.commits:
            raise GitHubError(
                422,
                f"No commit found for SHA: {head_sha}",
                documentation_url="https://docs.github.com/rest/checks/runs",
            )
        now = utcnow()
        conclusion = call.field("conclusion")
        status = "completed" if conclusion else call.field("status", "queued")
        run = CheckRun(
            id=self.world.next_id(),
            head_sha=head_sha,
            name=call.field("name"),
            status=status,
            conclusion=conclusion,
            app_id=self.world.app_id,
            app_slug=self.world.app_slug,
            app_owner=self.world.app_owner,
            external_id=call.field("external_id"),
            details_url=call.field("details_url"),
            output=dict(call.field("output") or {}),
            started_at=parse_time(call.field("started_at")) or now,
            completed_at=parse_time(call.field("completed_at"))
            or (now if status == "completed" else None),
            check_suite_id=self.suite_id(repo, head_sha, self.world.app_id),
            actions=list(call.field("actions") or []),
        )
        repo.check_runs[run.id] = run
        return Reply(201, self.shapes.check_run(repo, run))

    def suite_id(self, repo: Repo, sha: str, app_id: int) -> int:
        for run in repo.check_runs.values():
            if run.head_sha == sha and run.app_id == app_id:
                return run.check_suite_id
        return self.world.next_id()

    def checks_update(self, call: Call) -> Reply:
        repo = self.repo(call)
        run = repo.check_runs.get(int(call.params["check_run_id"]))
        if run is None:
            raise GitHubError(404, "Not Found")
        if run.app_id != self.world.app_id:
            raise GitHubError(403, "Resource not accessible by integration")
        body = call.body or {}
        for name in ("name", "details_url", "external_id"):
            if name in body:
                setattr(run, name, body[name])
        if "output" in body:
            run.output = dict(body["output"] or {})
        if "started_at" in body:
            run.started_at = parse_time(body["started_at"])
        if "status" in body:
            run.status = body["status"]
        if body.get("conclusion") is not None:
            run.conclusion = body["conclusion"]
            run.status = "completed"
        if run.status == "completed" and run.completed_at is None:
            run.completed_at = parse_time(call.field("completed_at")) or utcnow()
        return Reply(200, self.shapes.check_run(repo, run))

    def checks_list_for_ref(self, call: Call) -> Reply:
        repo = self.repo(call)
        sha = self.world.resolve(repo, call.params["ref"])
        runs = [r for r in repo.check_runs.values() if r.head_sha == sha] if sha else []
        if call.arg("check_name") is not None:
            runs = [r for r in runs if r.name == call.arg("check_name")]
        if call.arg("status") is not None:
            runs = [r for r in runs if r.status == call.arg("status")]
        if call.arg("app_id") is not None:
            runs = [r for r in runs if str(r.app_id) == call.arg("app_id")]
        if call.arg("filter", "latest") == "latest":
            latest: dict[tuple[str, int], CheckRun] = {}
            for run in sorted(runs, key=lambda r: r.id):
                latest[(run.name, run.app_id)] = run
            runs = list(latest.values())
        runs.sort(key=lambda r: -r.id)
        page, headers = self.listed(call, runs)
        body = {
            "total_count": len(runs),
            "check_runs": [self.shapes.check_run(repo, r) for r in page],
        }
        return Reply(200, body, headers)

    # -- pull requests ------------------------------------------------------

    def pulls_list(self, call: Call) -> Reply:
        repo = self.repo(call)
        state = call.arg("state", "open")
        pulls = [p for p in repo.pulls.values() if state == "all" or p.state == state]
        head = call.arg("head")
        if head:
            owner, _, branch = head.partition(":")
            pulls = [
                p for p in pulls if owner.lower() == repo.owner.lower() and p.head_ref == branch
            ]
        if call.arg("base"):
            pulls = [p for p in pulls if p.base_ref == call.arg("base")]
        sort = call.arg("sort", "created")
        key = (
            (lambda p: p.updated_at)
            if sort in ("updated", "popularity", "long-running")
            else (lambda p: p.created_at)
        )
        pulls.sort(
            key=lambda p: (key(p), p.number), reverse=call.arg("direction", "desc") == "desc"
        )
        page, headers = self.listed(call, pulls)
        return Reply(200, [self.shapes.pull_simple(repo, p) for p in page], headers)

    def pulls_get(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        return Reply(200, self.shapes.pull(repo, pr))

    def pulls_list_files(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        page, headers = self.listed(call, pr.files[:PR_FILES_CAP])
        return Reply(200, [self.shapes.changed_file(repo, f, pr.head_sha) for f in page], headers)

    def pulls_list_commits(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        commits = [repo.commits[sha] for sha in pr.commits[:PR_COMMITS_CAP]]
        page, headers = self.listed(call, commits)
        return Reply(200, [self.shapes.commit(repo, c) for c in page], headers)

    def pulls_list_reviews(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        page, headers = self.listed(call, pr.reviews_sorted)
        return Reply(200, [self.shapes.review(repo, r) for r in page], headers)

    def pulls_dismiss_review(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        review = next((r for r in pr.reviews if r.id == int(call.params["review_id"])), None)
        if review is None:
            raise GitHubError(404, "Not Found")
        if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
            raise GitHubError(
                422,
                "Can not dismiss a commented pull request review",
                documentation_url="https://docs.github.com/rest/pulls/reviews#dismiss-a-review-for-a-pull-request",
            )
        review.state = "DISMISSED"
        review.dismissal_message = call.field("message")
        pr.mergeable_pending = True
        self.world.touch(pr)
        return Reply(200, self.shapes.review(repo, review))

    def pulls_request_reviewers(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        reviewers = list(call.field("reviewers") or [])
        teams = list(call.field("team_reviewers") or [])
        if any(login.lower() == pr.user.lower() for login in reviewers):
            raise GitHubError(422, "Review cannot be requested from pull request author.")
        for login in reviewers:
            if login.lower() not in {r.lower() for r in pr.requested_reviewers}:
                pr.requested_reviewers.append(self.world.account(login).login)
        for slug in teams:
            if slug not in pr.requested_teams:
                pr.requested_teams.append(slug)
        return Reply(201, self.shapes.pull_simple(repo, pr))

    def pulls_merge(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        method = call.field("merge_method") or "merge"
        if method not in MERGE_METHODS:
            raise GitHubError(
                422,
                f"Invalid merge_method: {method}",
                documentation_url="https://docs.github.com/rest",
            )
        if repo.archived:
            raise GitHubError(403, "Repository was archived so is read-only.")
        if pr.state != "open":
            raise GitHubError(405, "Pull Request is not mergeable")
        requested = call.field("sha")
        if requested is not None and requested.lower() != pr.head_sha:
            raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
        if method not in repo.merge_methods:
            raise GitHubError(405, MERGE_NOT_ALLOWED[method])
        if pr.draft:
            raise GitHubError(405, "Pull Request is still a draft")
        if pr.conflicting:
            raise GitHubError(405, "Pull Request is not mergeable")
        protection = repo.protections.get(pr.base_ref)
        if protection is not None:
            failures = self.world.protection_failures(repo, pr, protection)
            if failures:
                raise GitHubError(405, failures[0])
        merge_sha = self.perform_merge(
            repo, pr, method, call.field("commit_title"), call.field("commit_message")
        )
        self.world.merges.append(
            MergeRecord(
                repo=repo.full_name,
                number=pr.number,
                method=method,
                requested_sha=requested,
                head_sha=pr.head_sha,
                commit_title=call.field("commit_title"),
                commit_message=call.field("commit_message"),
                merge_commit_sha=merge_sha,
                merged_by=self.actor,
                at=utcnow(),
            )
        )
        return Reply(
            200, {"sha": merge_sha, "merged": True, "message": "Pull Request successfully merged"}
        )

    def perform_merge(
        self, repo: Repo, pr: Any, method: str, title: str | None, message: str | None
    ) -> str:
        base_sha = repo.branches[pr.base_ref]
        head_tree = dict(repo.commits[pr.head_sha].tree)
        base_tree = repo.commits[base_sha].tree
        merge_base = self.world.merge_base(repo, base_sha, pr.head_sha) or base_sha
        merged_tree = dict(base_tree)
        for change in tree_diff(repo.commits[merge_base].tree, head_tree):
            if change.status == "removed":
                merged_tree.pop(change.filename, None)
            else:
                merged_tree[change.filename] = head_tree[change.filename]
        actor = self.world.bot_login
        if method == "merge":
            commit = self.world.add_commit(
                repo,
                [base_sha, pr.head_sha],
                message=title or f"Merge pull request #{pr.number} from {repo.owner}/{pr.head_ref}",
                author=pr.user,
                committer=actor,
                tree=merged_tree,
            )
            final = commit.sha
        elif method == "squash":
            commit = self.world.add_commit(
                repo,
                [base_sha],
                message=title or f"{pr.title} (#{pr.number})",
                author=pr.user,
                committer=actor,
                tree=merged_tree,
            )
            final = commit.sha
        else:
            final = base_sha
            for sha in pr.commits:
                original = repo.commits[sha]
                final = self.world.add_commit(
                    repo,
                    [final],
                    message=original.message,
                    author=original.author,
                    committer=actor,
                    tree=merged_tree,
                ).sha
        if message:
            repo.commits[final].message += f"\n\n{message}"
        now = utcnow()
        pr.merged = True
        pr.state = "closed"
        pr.merged_at = now
        pr.closed_at = now
        pr.updated_at = now
        pr.merged_by = actor
        pr.merge_commit_sha = final
        self.world.move_branch(repo, pr.base_ref, final)
        if repo.delete_branch_on_merge:
            repo.branches.pop(pr.head_ref, None)
        return final

    def pulls_update_branch(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = self.world.pull(repo, int(call.params["pull_number"]))
        expected = call.field("expected_head_sha")
        if expected is not None and expected.lower() != pr.head_sha:
            raise GitHubError(
                422,
                "expected head sha didn't match current head ref.",
                documentation_url="https://docs.github.com/rest/pulls/pulls#update-a-pull-request-branch",
            )
        if pr.state != "open":
            raise GitHubError(
                422, "Pull request is closed", documentation_url="https://docs.github.com/rest"
            )
        if pr.conflicting:
            raise GitHubError(
                422,
                "merge conflict between base and head",
                documentation_url="https://docs.github.com/rest",
            )
        old_head = pr.head_sha
        self.update_branch(repo, pr, self.actor)
        self.world.branch_updates.append(
            BranchUpdate(repo.full_name, pr.number, expected, old_head, pr.head_sha, self.actor)
        )
        shaped = self.shapes.example("pulls/update-branch", 202)
        shaped["url"] = f"https://github.com/repos/{repo.full_name}/pulls/{pr.number}"
        return Reply(202, shaped)

    def update_branch(self, repo: Repo, pr: PullRequest, actor: str) -> str | None:
        """GitHub's "Update branch": a merge of the base tip into the head, written by
        `actor` and committed by GitHub (`web-flow`); None when the head has the tip."""
        base_sha = repo.branches[pr.base_ref]
        if base_sha in self.world.ancestors(repo, pr.head_sha):
            return None
        commit = self.world.add_commit(
            repo,
            [pr.head_sha, base_sha],
            message=f"Merge branch '{pr.base_ref}' into {pr.head_ref}",
            author=actor,
            committer="web-flow",
            tree=merged_tree(self.world, repo, pr.head_sha, base_sha),
        )
        pr.commits.append(commit.sha)
        self.world.set_head(repo, pr, commit.sha)
        return commit.sha

    # -- conversation -------------------------------------------------------

    def _issue(self, repo: Repo, call: Call) -> int:
        number = int(call.params["issue_number"])
        if number not in repo.pulls:
            raise GitHubError(404, "Not Found")
        return number

    def issues_list_comments(self, call: Call) -> Reply:
        repo = self.repo(call)
        number = self._issue(repo, call)
        comments = sorted(
            (c for c in repo.comments.values() if c.number == number), key=lambda c: c.id
        )
        since = parse_time(call.arg("since"))
        if since is not None:
            comments = [c for c in comments if c.updated_at >= since]
        page, headers = self.listed(call, comments)
        return Reply(200, [self.shapes.comment(repo, c) for c in page], headers)

    def issues_create_comment(self, call: Call) -> Reply:
        repo = self.repo(call)
        number = self._issue(repo, call)
        now = utcnow()
        comment = Comment(self.world.next_id(), number, self.actor, call.field("body"), now, now)
        repo.comments[comment.id] = comment
        self.world.touch(repo.pulls[number])
        body = self.shapes.comment(repo, comment)
        return Reply(201, body, {"Location": body["url"]})

    def issues_update_comment(self, call: Call) -> Reply:
        repo = self.repo(call)
        comment = repo.comments.get(int(call.params["comment_id"]))
        if comment is None:
            raise GitHubError(404, "Not Found")
        comment.body = call.field("body")
        comment.updated_at = utcnow()
        return Reply(200, self.shapes.comment(repo, comment))

    def reactions_create_for_issue_comment(self, call: Call) -> Reply:
        repo = self.repo(call)
        comment = repo.comments.get(int(call.params["comment_id"]))
        if comment is None:
            raise GitHubError(404, "Not Found")
        content = call.field("content")
        if content not in REACTIONS:
            raise GitHubError(
                422, "Validation Failed", documentation_url="https://docs.github.com/rest/reactions"
            )
        actor = self.actor
        for existing in comment.reactions:
            if existing.user == actor and existing.content == content:
                return Reply(200, self.shapes.reaction(existing))
        reaction = Reaction(self.world.next_id(), actor, content, utcnow())
        comment.reactions.append(reaction)
        return Reply(201, self.shapes.reaction(reaction))

    def issues_list_labels_on_issue(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = repo.pulls[self._issue(repo, call)]
        page, headers = self.listed(call, pr.labels)
        return Reply(200, [self.shapes.label(repo, repo.labels[name]) for name in page], headers)

    def issues_add_labels(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = repo.pulls[self._issue(repo, call)]
        raw = call.body if isinstance(call.body, list) else call.field("labels", [])
        names = [entry["name"] if isinstance(entry, dict) else entry for entry in raw]
        for name in names:
            ensure_label(self.world, repo, name)
            if name not in pr.labels:
                pr.labels.append(name)
                self.world.touch(pr)
        return Reply(200, [self.shapes.label(repo, repo.labels[n]) for n in pr.labels])

    def issues_remove_label(self, call: Call) -> Reply:
        repo = self.repo(call)
        pr = repo.pulls[self._issue(repo, call)]
        name = call.params["name"]
        if name not in pr.labels:
            raise GitHubError(404, "Label does not exist")
        pr.labels.remove(name)
        self.world.touch(pr)
        return Reply(200, [self.shapes.label(repo, repo.labels[n]) for n in pr.labels])

    def repos_get_collaborator_permission_level(self, call: Call) -> Reply:
        repo = self.repo(call)
        login = call.params["username"]
        account = self.world.known_account(login)
        if account is None:
            raise GitHubError(404, "Not Found")
        return Reply(200, self.shapes.collaborator_permission(repo, account.login))

    # -- deployments and dispatches -----------------------------------------

    def repos_list_deployments(self, call: Call) -> Reply:
        repo = self.repo(call)
        found = sorted(repo.deployments.values(), key=lambda d: -d.id)
        for name in ("sha", "ref", "task", "environment"):
            wanted = call.arg(name)
            if wanted is not None and wanted != "none":
                found = [d for d in found if getattr(d, name) == wanted]
        page, headers = self.listed(call, found)
        return Reply(200, [self.shapes.deployment(repo, d) for d in page], headers)

    def repos_create_deployment(self, call: Call) -> Reply:
        repo = self.repo(call)
        ref = call.field("ref")
        sha = self.world.resolve(repo, ref)
        if sha is None:
            raise GitHubError(
                422,
                f"No ref found for: {ref}",
                documentation_url="https://docs.github.com/rest/deployments/deployments#create-a-deployment",
            )
        auto_merge = call.field("auto_merge", True)
        default_sha = repo.branches.get(repo.default_branch)
        if (
            auto_merge
            and ref in repo.branches
            and ref != repo.default_branch
            and default_sha is not None
            and default_sha not in self.world.ancestors(repo, sha)
        ):
            merged = self.world.add_commit(
                repo,
                [sha, default_sha],
                message=f"Merge {repo.default_branch} into {ref}",
                author=self.actor,
                committer=self.actor,
            )
            repo.branches[ref] = merged.sha
            return Reply(
                202, {"message": f"Auto-merged {repo.default_branch} into {ref} on deployment."}
            )
        required = call.field("required_contexts")
        results = self.world.latest_check_results(repo, sha)
        contexts = list(results) if required is None else list(required)
        failing = [c for c in contexts if results.get(c) not in ("success", "neutral", "skipped")]
        if failing:
            raise GitHubError(
                409,
                f"Conflict: Commit status checks failed for {ref}.",
                errors=[
                    {
                        "contexts": [
                            {"context": c, "state": results.get(c) or "missing"} for c in failing
                        ],
                        "resource": "Deployment",
                        "field": "required_contexts",
                        "code": "invalid",
                    }
                ],
            )
        environment = call.field("environment", "production")
        payload = call.field("payload", {})
        if isinstance(payload, str):
            payload = json.loads(payload) if payload else {}
        deployment = Deployment(
            id=self.world.next_id(),
            repo=repo.full_name,
            sha=sha,
            ref=ref,
            task=call.field("task", "deploy"),
            environment=environment,
            payload=payload,
            description=call.field("description", ""),
            creator=self.actor,
            auto_merge=bool(auto_merge),
            required_contexts=None if required is None else list(required),
            transient_environment=bool(call.field("transient_environment", False)),
            production_environment=bool(
                call.field("production_environment", environment == "production")
            ),
            created_at=utcnow(),
        )
        repo.deployments[deployment.id] = deployment
        return Reply(201, self.shapes.deployment(repo, deployment))

    def repos_create_deployment_status(self, call: Call) -> Reply:
        repo = self.repo(call)
        deployment = repo.deployments.get(int(call.params["deployment_id"]))
        if deployment is None:
            raise GitHubError(404, "Not Found")
        state = call.field("state")
        environment = call.field("environment") or deployment.environment
        status = DeploymentStatus(
            id=self.world.next_id(),
            deployment_id=deployment.id,
            state=state,
            description=call.field("description", ""),
            environment=environment,
            log_url=call.field("log_url") or call.field("target_url"),
            environment_url=call.field("environment_url"),
            creator=self.actor,
            created_at=utcnow(),
        )
        deployment.statuses.append(status)
        if state == "success" and call.field("auto_inactive", True):
            for other in repo.deployments.values():
                if (
                    other.id != deployment.id
                    and other.environment == environment
                    and not other.transient_environment
                    and other.statuses
                    and other.statuses[-1].state == "success"
                ):
                    other.statuses.append(
                        DeploymentStatus(
                            self.world.next_id(),
                            other.id,
                            "inactive",
                            "",
                            environment,
                            None,
                            None,
                            self.actor,
                            utcnow(),
                        )
                    )
        body = self.shapes.deployment_status(repo, status)
        return Reply(201, body, {"Location": body["url"]})

    def actions_create_workflow_dispatch(self, call: Call) -> Reply:
        repo = self.repo(call)
        ref = call.field("ref")
        is_ref = ref in repo.branches or ref in repo.tags
        for prefix, refs in (("refs/heads/", repo.branches), ("refs/tags/", repo.tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in refs:
                is_ref = True
        if not is_ref:
            # A SHA is not a ref: workflow_dispatch wants a branch or a tag.
            raise GitHubError(422, f"No ref found for: {ref}")
        self.world.dispatches.append(
            Dispatch(
                kind="workflow",
                repo=repo.full_name,
                sender=self.actor,
                at=utcnow(),
                workflow_id=call.params["workflow_id"],
                ref=ref,
                inputs=dict(call.field("inputs") or {}),
            )
        )
        run_id = self.world.next_id()
        now = utcnow()
        repo.workflow_runs[run_id] = WorkflowRun(
            id=run_id,
            repo=repo.full_name,
            workflow_id=call.params["workflow_id"],
            ref=ref,
            head_sha=self.world.resolve(repo, ref) or "",
            actor=self.actor,
            created_at=now,
            updated_at=now,
        )
        if call.field("return_run_details"):
            shaped = self.shapes.example("actions/create-workflow-dispatch", 200)
            shaped.update(
                workflow_run_id=run_id,
                run_url=f"{self.shapes.repo_api(repo)}/actions/runs/{run_id}",
                html_url=f"https://github.com/{repo.full_name}/actions/runs/{run_id}",
            )
            return Reply(200, shaped)
        return Reply(204)

    def actions_get_workflow_run(self, call: Call) -> Reply:
        repo = self.repo(call)
        run = repo.workflow_runs.get(int(call.params["run_id"]))
        if run is None:
            raise GitHubError(404, "Not Found")
        return Reply(200, self.shapes.workflow_run(repo, run))

    def repos_list_deployment_statuses(self, call: Call) -> Reply:
        repo = self.repo(call)
        deployment = repo.deployments.get(int(call.params["deployment_id"]))
        if deployment is None:
            raise GitHubError(404, "Not Found")
        newest_first = sorted(deployment.statuses, key=lambda s: -s.id)
        page, headers = self.listed(call, newest_first)
        return Reply(200, [self.shapes.deployment_status(repo, s) for s in page], headers)

    def repos_create_dispatch_event(self, call: Call) -> Reply:
        repo = self.repo(call)
        self.world.dispatches.append(
            Dispatch(
                kind="repository",
                repo=repo.full_name,
                sender=self.actor,
                at=utcnow(),
                event_type=call.field("event_type"),
                client_payload=dict(call.field("client_payload") or {}),
            )
        )
        return Reply(204)


def _cursor_id(cursor: str) -> int:
    digits = cursor.removeprefix("v1_")
    return int(digits) if digits.isdigit() else -1


def parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def ensure_label(world: World, repo: Repo, name: str) -> Label:
    if name not in repo.labels:
        repo.labels[name] = Label(world.next_id(), name)
    return repo.labels[name]


def merged_tree(world: World, repo: Repo, ours: str, theirs: str) -> dict[str, bytes]:
    """The tree of a clean merge of `theirs` into `ours`: `ours` plus every change
    `theirs` made since their merge base (the fake knows no conflicts)."""
    merge_base = world.merge_base(repo, theirs, ours) or theirs
    tree = dict(repo.commits[ours].tree)
    for change in tree_diff(repo.commits[merge_base].tree, repo.commits[theirs].tree):
        if change.status == "removed":
            tree.pop(change.filename, None)
        else:
            tree[change.filename] = repo.commits[theirs].tree[change.filename]
    return tree


def tree_diff(before: dict[str, bytes], after: dict[str, bytes]) -> list[ChangedFile]:
    """The files that differ between two trees, as GitHub lists them (by path)."""
    out = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            out.append(ChangedFile(path, "added", new.count(b"\n") or 1, 0, sha=blob_sha(new)))
        elif new is None:
            out.append(ChangedFile(path, "removed", 0, old.count(b"\n") or 1, sha=blob_sha(old)))
        else:
            out.append(
                ChangedFile(
                    path,
                    "modified",
                    new.count(b"\n") or 1,
                    old.count(b"\n") or 1,
                    sha=blob_sha(new),
                )
            )
    return out


# Which credentials each operation takes. Everything else is repository-scoped
# and takes an installation token covering the repository.
APP_JWT_OPERATIONS = frozenset(
    {
        "apps/get-authenticated",
        "apps/create-installation-access-token",
        "apps/get-repo-installation",
        "apps/list-webhook-deliveries",
        "apps/get-webhook-delivery",
        "apps/redeliver-webhook-delivery",
    }
)
UNAUTHENTICATED_OPERATIONS = frozenset({"apps/create-from-manifest"})
ORG_OPERATIONS = frozenset(
    {"orgs/check-membership-for-user", "teams/get-membership-for-user-in-org"}
)


def handler_for(handlers: Handlers, operation_id: str) -> Callable[[Call], Reply]:
    return getattr(handlers, operation_id.replace("/", "_").replace("-", "_"))
