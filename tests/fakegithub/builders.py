"""JSON bodies for the fake's answers, built from GitHub's documented examples.

Every builder deep-copies the example of the operation whose shape it
produces, points its strings at the right repository, number and host, then
overlays the fake's state. API URLs use the fake's own address (PyGithub
follows `url`, `issue_url`, `statuses_url`... and refuses foreign hosts);
`html_url`s stay on https://github.com, which PyGithub never requests.

Fixes to GitHub's own examples are made here, where the state is overlaid,
and each says why (see also the fixtures README): the `pulls/get` teams lack
`type`, the `repos/get` example lacks the required `language`, the
`get-content` file example has corrupt base64 (content is always encoded
here), and the branch-protection example misses `required_status_checks.checks`.
"""

from __future__ import annotations

import base64
import copy
import urllib.parse
from typing import Any

from .operations import OperationIndex
from .state import (
    FOLDED_PERMISSION,
    REACTIONS,
    ChangedFile,
    CheckRun,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Installation,
    Label,
    PullRequest,
    Reaction,
    Repo,
    Review,
    Status,
    Team,
    WorkflowRun,
    World,
    blob_sha,
    iso,
    permission_flags,
)

GITHUB_API = "https://api.github.com"
GITHUB_WEB = "https://github.com"
INLINE_LIMIT = 1024 * 1024
"""The contents API sends a file's text inline only up to this size."""


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def retarget(value: Any, replacements: list[tuple[str, str]]) -> Any:
    """`value` with every substring replacement applied to every string in it."""
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [retarget(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: retarget(v, replacements) for k, v in value.items()}
    return value


def overlay(
    template: dict[str, Any], values: dict[str, Any], *, only_present: bool = False
) -> dict[str, Any]:
    for key, value in values.items():
        if only_present and key not in template:
            continue
        template[key] = value
    return template


def wrap_base64(data: bytes) -> str:
    # GitHub wraps the base64 of a file's content at 60 characters.
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


class Shapes:
    """Builds response bodies for one fake (its world, its operations, its address)."""

    def __init__(self, world: World, operations: OperationIndex, base_url: str) -> None:
        self.world = world
        self.ops = operations
        self.base = base_url.rstrip("/")

    # -- helpers ------------------------------------------------------------

    def example(self, operation_id: str, status: int, name: str | None = None) -> Any:
        return self.ops[operation_id].example(status, name)

    def to_fake(self, value: Any) -> Any:
        """Point any leftover api.github.com URL at the fake."""
        return retarget(value, [(GITHUB_API, self.base)])

    def repo_api(self, repo: Repo) -> str:
        return f"{self.base}/repos/{repo.full_name}"

    def repo_web(self, repo: Repo) -> str:
        return f"{GITHUB_WEB}/{repo.full_name}"

    def error(self, message: str, status: int, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
        body.update(extra)
        return body

    # -- accounts -----------------------------------------------------------

    def user(self, login: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
        account = self.world.account(login)
        shaped = copy.deepcopy(template) if template else self.example("pulls/get", 200)["user"]
        api = f"{self.base}/users/{urllib.parse.quote(account.login)}"
        web = (
            f"{GITHUB_WEB}/apps/{self.world.app_slug}"
            if account.login == self.world.bot_login
            else f"{GITHUB_WEB}/{account.login}"
        )
        return overlay(
            shaped,
            {
                "login": account.login,
                "id": account.id,
                "node_id": node_id(account.type, account.id),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4",
                "gravatar_id": "",
                "url": api,
                "html_url": web,
                "followers_url": f"{api}/followers",
                "following_url": f"{api}/following{{/other_user}}",
                "gists_url": f"{api}/gists{{/gist_id}}",
                "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
                "subscriptions_url": f"{api}/subscriptions",
                "organizations_url": f"{api}/orgs",
                "repos_url": f"{api}/repos",
                "events_url": f"{api}/events{{/privacy}}",
                "received_events_url": f"{api}/received_events",
                "type": account.type,
                "site_admin": account.site_admin,
            },
        )

    def app(
        self, app_id: int | None = None, slug: str | None = None, owner: str | None = None
    ) -> dict[str, Any]:
        app_id = app_id if app_id is not None else self.world.app_id
        slug = slug or self.world.app_slug
        owner = owner or self.world.app_owner
        shaped = self.example("apps/get-authenticated", 200)
        return self.to_fake(
            overlay(
                shaped,
                {
                    "id": app_id,
                    "slug": slug,
                    "client_id": f"Iv1.{app_id:016x}",
                    "node_id": node_id("Integration", app_id),
                    "owner": self.user(owner),
                    "name": slug.replace("-", " ").title(),
                    "html_url": f"{GITHUB_WEB}/apps/{slug}",
                    "permissions": {
                        "checks": "write",
                        "statuses": "write",
                        "contents": "write",
                        "pull_requests": "write",
                        "issues": "write",
                        "deployments": "write",
                        "actions": "write",
                        "members": "read",
                        "metadata": "read",
                    },
                    "events": [
                        "pull_request",
                        "pull_request_review",
                        "issue_comment",
                        "check_run",
                        "status",
                    ],
                },
            )
        )

    # -- repositories -------------------------------------------------------

    def repository(self, repo: Repo, template: dict[str, Any] | None = None) -> dict[str, Any]:
        shaped = copy.deepcopy(template) if template is not None else self.example("repos/get", 200)
        old_full = shaped.get("full_name", "octocat/Hello-World")
        shaped = retarget(
            shaped,
            [(f"{GITHUB_API}/repos/{old_full}", self.repo_api(repo)), (old_full, repo.full_name)],
        )
        shaped = self.to_fake(shaped)
        # A repository that is not a fork or generated from a template has none of these.
        for key in ("parent", "source", "template_repository"):
            shaped.pop(key, None)
        owner = self.world.account(repo.owner)
        installation = self.world.installation_for_repo(repo.full_name)
        can_write = installation is not None and installation.permissions.get("contents") == "write"
        values = {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner, shaped.get("owner")),
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "html_url": self.repo_web(repo),
            "url": self.repo_api(repo),
            "fork": False,
            "default_branch": repo.default_branch,
            "archived": repo.archived,
            "disabled": False,
            "language": None,  # required by the schema, absent from GitHub's example
            "license": None,
            "allow_merge_commit": "merge" in repo.merge_methods,
            "allow_squash_merge": "squash" in repo.merge_methods,
            "allow_rebase_merge": "rebase" in repo.merge_methods,
            "delete_branch_on_merge": repo.delete_branch_on_merge,
            "created_at": iso(repo.created_at),
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": can_write,
                "triage": can_write,
                "pull": True,
            },
        }
        if owner.type == "Organization" and "organization" in shaped:
            values["organization"] = self.user(repo.owner, shaped.get("organization"))
        else:
            shaped.pop("organization", None)
        only_present = template is not None
        overlay(shaped, values, only_present=only_present)
        if "language" not in shaped:
            shaped["language"] = None
        return shaped

    # -- labels, teams ------------------------------------------------------

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        shaped = self.example("issues/list-labels-on-issue", 200)[0]
        return overlay(
            shaped,
            {
                "id": label.id,
                "node_id": node_id("Label", label.id),
                "url": f"{self.repo_api(repo)}/labels/{urllib.parse.quote(label.name)}",
                "name": label.name,
                "description": label.description,
                "color": label.color,
                "default": label.default,
            },
        )

    def team(self, team: Team) -> dict[str, Any]:
        shaped = self.example("pulls/get", 200)["requested_teams"][0]
        org = self.world.account(team.org)
        api = f"{self.base}/organizations/{org.id}/team/{team.id}"
        return overlay(
            shaped,
            {
                "id": team.id,
                "node_id": node_id("Team", team.id),
                "url": api,
                "html_url": f"{GITHUB_WEB}/orgs/{team.org}/teams/{team.slug}",
                "name": team.name,
                "slug": team.slug,
                "description": team.description,
                "privacy": team.privacy,
                "notification_setting": "notifications_enabled",
                "permission": "pull",
                "members_url": f"{api}/members{{/member}}",
                "repositories_url": f"{api}/repos",
                "parent": None,
                # Required by the schema; GitHub's pulls/get example lacks it.
                "type": "organization",
            },
        )

    def team_membership(self, team: Team, login: str, role: str, state: str) -> dict[str, Any]:
        shaped = self.example("teams/get-membership-for-user-in-org", 200)
        return overlay(
            shaped,
            {
                "url": f"{self.base}/teams/{team.id}/memberships/{login}",
                "role": role,
                "state": state,
            },
        )

    def collaborator_permission(self, repo: Repo, login: str) -> dict[str, Any]:
        role_name = self.world.role_name(repo, login)
        base_role = self.world.base_role(repo, login)
        user = self.user(login)
        user["permissions"] = permission_flags(base_role)
        user["role_name"] = role_name
        return {"permission": FOLDED_PERMISSION[base_role], "role_name": role_name, "user": user}

    # -- pull requests ------------------------------------------------------

    def _pull_values(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        api = f"{self.repo_api(repo)}/pulls/{pr.number}"
        issue = f"{self.repo_api(repo)}/issues/{pr.number}"
        web = f"{self.repo_web(repo)}/pull/{pr.number}"
        owner_user = self.user(repo.owner)
        repo_object = self.repository(repo, self.example("pulls/get", 200)["head"]["repo"])
        base_sha = repo.branches.get(pr.base_ref) or pr.head_history[0]
        teams = []
        org = self.world.orgs.get(repo.owner.lower())
        for slug in pr.requested_teams:
            if org is not None and slug in org.teams:
                teams.append(self.team(org.teams[slug]))
        return {
            "url": api,
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": web,
            "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch",
            "issue_url": issue,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_api(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.repo_api(repo)}/statuses/{pr.head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": pr.locked,
            "title": pr.title,
            "user": self.user(pr.user),
            "body": pr.body,
            "labels": [self.label(repo, repo.labels[name]) for name in pr.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.user(login) for login in pr.requested_reviewers],
            "requested_teams": teams,
            "head": {
                "label": f"{repo.owner}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": owner_user,
                "repo": repo_object,
            },
            "base": {
                "label": f"{repo.owner}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": base_sha,
                "user": owner_user,
                "repo": repo_object,
            },
            "_links": {
                "self": {"href": api},
                "html": {"href": web},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.repo_api(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": f"{self.repo_api(repo)}/statuses/{pr.head_sha}"},
            },
            "author_association": self.world.author_association(repo, pr.user),
            "auto_merge": None,
            "draft": pr.draft,
        }

    def pull(self, repo: Repo, pr: PullRequest, *, settle: bool = True) -> dict[str, Any]:
        """The full pull request of `pulls/get`.

        Reading it settles `mergeable` (null on the first read after a change);
        with `settle=False` (webhook payloads) it stays null and unsettled.
        """
        shaped = self.example("pulls/get", 200)
        values = self._pull_values(repo, pr)
        if settle:
            mergeable, mergeable_state = self.world.read_mergeable(repo, pr)
        else:
            mergeable, mergeable_state = None, "unknown"
        additions = sum(f.additions for f in pr.files)
        deletions = sum(f.deletions for f in pr.files)
        values.update(
            {
                "merged": pr.merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": mergeable_state,
                "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
                "comments": sum(1 for c in repo.comments.values() if c.number == pr.number),
                "review_comments": 0,
                "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": len(pr.commits),
                "additions": additions,
                "deletions": deletions,
                "changed_files": len(pr.files),
            }
        )
        return self.to_fake(overlay(shaped, values))

    def pull_simple(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        """A pull request as list endpoints show it (no mergeability, no counts)."""
        shaped = self.example("pulls/list", 200)[0]
        return self.to_fake(overlay(shaped, self._pull_values(repo, pr), only_present=True))

    def pull_ref(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        """The minimal pull request reference of check runs and check suites."""
        base_sha = repo.branches.get(pr.base_ref) or pr.head_sha
        repo_ref = {"id": repo.id, "url": self.repo_api(repo), "name": repo.name}
        return {
            "url": f"{self.repo_api(repo)}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": repo_ref},
            "base": {"ref": pr.base_ref, "sha": base_sha, "repo": repo_ref},
        }

    def changed_file(self, repo: Repo, entry: ChangedFile, ref_sha: str) -> dict[str, Any]:
        shaped = self.example("pulls/list-files", 200)[0]
        quoted = urllib.parse.quote(entry.filename)
        values: dict[str, Any] = {
            "sha": entry.sha or blob_sha(f"removed:{entry.filename}".encode()),
            "filename": entry.filename,
            "status": entry.status,
            "additions": entry.additions,
            "deletions": entry.deletions,
            "changes": entry.changes,
            "blob_url": f"{self.repo_web(repo)}/blob/{ref_sha}/{quoted}",
            "raw_url": f"{self.repo_web(repo)}/raw/{ref_sha}/{quoted}",
            "contents_url": f"{self.repo_api(repo)}/contents/{quoted}?ref={ref_sha}",
        }
        overlay(shaped, values)
        if entry.patch is None:
            shaped.pop("patch", None)
        else:
            shaped["patch"] = entry.patch
        if entry.previous_filename:
            shaped["previous_filename"] = entry.previous_filename
        return shaped

    # -- commits ------------------------------------------------------------

    def commit(self, repo: Repo, commit: Commit, *, with_files: bool = False) -> dict[str, Any]:
        shaped = (
            self.example("repos/get-commit", 200)
            if with_files
            else self.example("pulls/list-commits", 200)[0]
        )
        api = f"{self.repo_api(repo)}/commits/{commit.sha}"

        def signature(login: str | None) -> dict[str, Any]:
            name = commit.author_name or login or "Unknown"
            email = (
                commit.author_email
                or f"{(login or 'unknown').replace('[bot]', '')}@users.noreply.github.com"
            )
            return {"name": name, "email": email, "date": iso(commit.date)}

        inner = shaped["commit"]
        overlay(
            inner,
            {
                "url": f"{self.repo_api(repo)}/git/commits/{commit.sha}",
                "author": signature(commit.author),
                "committer": signature(commit.committer or commit.author),
                "message": commit.message,
                "tree": {
                    "sha": blob_sha(repr(sorted(commit.tree)).encode()),
                    "url": f"{self.repo_api(repo)}/git/trees/{commit.sha}",
                },
                "comment_count": 0,
            },
        )
        values: dict[str, Any] = {
            "url": api,
            "sha": commit.sha,
            "node_id": node_id("Commit", int(commit.sha[:8], 16)),
            "html_url": f"{self.repo_web(repo)}/commit/{commit.sha}",
            "comments_url": f"{api}/comments",
            "commit": inner,
            "author": self.user(commit.author) if commit.author else None,
            "committer": self.user(commit.committer) if commit.committer else None,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{self.repo_api(repo)}/commits/{parent}",
                    "html_url": f"{self.repo_web(repo)}/commit/{parent}",
                }
                for parent in commit.parents
            ],
        }
        if with_files:
            additions = sum(f.additions for f in commit.files)
            deletions = sum(f.deletions for f in commit.files)
            values["stats"] = {
                "additions": additions,
                "deletions": deletions,
                "total": additions + deletions,
            }
            values["files"] = [self.changed_file(repo, f, commit.sha) for f in commit.files]
        return self.to_fake(overlay(shaped, values))

    def branch(self, repo: Repo, name: str) -> dict[str, Any]:
        shaped = self.example("repos/get-branch", 200)
        sha = repo.branches[name]
        commit = self.commit(repo, repo.commits[sha])
        protection = repo.protections.get(name)
        contexts = list((protection or {}).get("required_status_checks", {}).get("contexts", []))
        api = f"{self.repo_api(repo)}/branches/{urllib.parse.quote(name)}"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "name": name,
                    "commit": commit,
                    "_links": {"self": api, "html": f"{self.repo_web(repo)}/tree/{name}"},
                    "protected": protection is not None,
                    "protection": {
                        "enabled": protection is not None,
                        "required_status_checks": {
                            "enforcement_level": "non_admins" if contexts else "off",
                            "contexts": contexts,
                            "checks": [{"context": c, "app_id": None} for c in contexts],
                        },
                    },
                    "protection_url": f"{api}/protection",
                },
            )
        )

    def branch_protection(self, repo: Repo, branch: str) -> dict[str, Any]:
        settings = repo.protections[branch]
        api = f"{self.repo_api(repo)}/branches/{urllib.parse.quote(branch)}/protection"
        out: dict[str, Any] = {"url": api}
        checks = settings.get("required_status_checks")
        if checks is not None:
            contexts = list(checks.get("contexts", []))
            out["required_status_checks"] = {
                "url": f"{api}/required_status_checks",
                "strict": bool(checks.get("strict", False)),
                "contexts": contexts,
                # Required by the schema; GitHub's example lacks it.
                "checks": [{"context": c, "app_id": None} for c in contexts],
                "contexts_url": f"{api}/required_status_checks/contexts",
                "enforcement_level": "non_admins",
            }
        out["enforce_admins"] = {
            "url": f"{api}/enforce_admins",
            "enabled": bool(settings.get("enforce_admins", False)),
        }
        reviews = settings.get("required_pull_request_reviews")
        if reviews is not None:
            out["required_pull_request_reviews"] = {
                "url": f"{api}/required_pull_request_reviews",
                "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews", False)),
                "require_code_owner_reviews": bool(
                    reviews.get("require_code_owner_reviews", False)
                ),
                "required_approving_review_count": int(
                    reviews.get("required_approving_review_count", 0)
                ),
                "require_last_push_approval": bool(
                    reviews.get("require_last_push_approval", False)
                ),
            }
        for flag in ("required_linear_history", "allow_force_pushes", "allow_deletions"):
            out[flag] = {"enabled": bool(settings.get(flag, False))}
        return out

    def content(self, repo: Repo, path: str, ref: str, data: bytes) -> dict[str, Any]:
        shaped = self.example("repos/get-content", 200, "response-if-content-is-a-file")
        sha = blob_sha(data)
        quoted = urllib.parse.quote(path)
        api = f"{self.repo_api(repo)}/contents/{quoted}?ref={urllib.parse.quote(ref, safe='')}"
        web = f"{self.repo_web(repo)}/blob/{ref}/{quoted}"
        return overlay(
            shaped,
            {
                "type": "file",
                # Over 1 MB GitHub sends no content inline: `encoding: none`, "".
                "encoding": "base64" if len(data) <= INLINE_LIMIT else "none",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                # GitHub's example has corrupt base64: always encode the real bytes.
                "content": wrap_base64(data) if len(data) <= INLINE_LIMIT else "",
                "sha": sha,
                "url": api,
                "git_url": f"{self.repo_api(repo)}/git/blobs/{sha}",
                "html_url": web,
                "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{quoted}",
                "_links": {
                    "self": api,
                    "git": f"{self.repo_api(repo)}/git/blobs/{sha}",
                    "html": web,
                },
            },
        )

    def directory(
        self, repo: Repo, path: str, ref: str, tree: dict[str, bytes]
    ) -> list[dict[str, Any]]:
        prefix = f"{path.rstrip('/')}/" if path.strip("/") else ""
        entries: dict[str, tuple[str, bytes | None]] = {}
        for file_path, data in tree.items():
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix) :]
            head, _, tail = rest.partition("/")
            if tail:
                entries.setdefault(head, ("dir", None))
            else:
                entries[head] = ("file", data)
        template = self.example("repos/get-content", 200, "response-if-content-is-a-directory")[0]
        out = []
        for name, (kind, data) in sorted(entries.items()):
            entry_path = f"{prefix}{name}"
            quoted = urllib.parse.quote(entry_path)
            sha = blob_sha(data) if data is not None else blob_sha(f"tree:{entry_path}".encode())
            api = f"{self.repo_api(repo)}/contents/{quoted}?ref={urllib.parse.quote(ref, safe='')}"
            web = f"{self.repo_web(repo)}/{'blob' if kind == 'file' else 'tree'}/{ref}/{quoted}"
            git = f"{self.repo_api(repo)}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
            download = (
                f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{quoted}"
                if kind == "file"
                else None
            )
            out.append(
                overlay(
                    copy.deepcopy(template),
                    {
                        "type": kind,
                        "size": len(data) if data is not None else 0,
                        "name": name,
                        "path": entry_path,
                        "sha": sha,
                        "url": api,
                        "git_url": git,
                        "html_url": web,
                        "download_url": download,
                        "_links": {"self": api, "git": git, "html": web},
                    },
                )
            )
        return out

    def compare(
        self,
        repo: Repo,
        base: str,
        head: str,
        status: str,
        ahead: list[Commit],
        behind_by: int,
        base_commit: Commit,
        merge_base: Commit,
        page: list[Commit],
        files: list[ChangedFile],
        head_sha: str,
    ) -> dict[str, Any]:
        shaped = self.example("repos/compare-commits", 200)
        spec = f"{base}...{head}"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "url": f"{self.repo_api(repo)}/compare/{spec}",
                    "html_url": f"{self.repo_web(repo)}/compare/{spec}",
                    "permalink_url": f"{self.repo_web(repo)}/compare/{repo.owner}:{base_commit.sha}...{repo.owner}:{head_sha}",
                    "diff_url": f"{self.repo_web(repo)}/compare/{spec}.diff",
                    "patch_url": f"{self.repo_web(repo)}/compare/{spec}.patch",
                    "base_commit": self.commit(repo, base_commit),
                    "merge_base_commit": self.commit(repo, merge_base),
                    "status": status,
                    "ahead_by": len(ahead),
                    "behind_by": behind_by,
                    "total_commits": len(ahead),
                    "commits": [self.commit(repo, c) for c in page],
                    "files": [self.changed_file(repo, f, head_sha) for f in files],
                },
            )
        )

    # -- conversation -------------------------------------------------------

    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {content: 0 for content in REACTIONS}
        for reaction in reactions:
            counts[reaction.content] += 1
        return {"url": url, "total_count": len(reactions), **counts}

    def comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        shaped = self.example("issues/create-comment", 201)
        api = f"{self.repo_api(repo)}/issues/comments/{comment.id}"
        kind = "pull" if comment.number in repo.pulls else "issues"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "id": comment.id,
                    "node_id": node_id("IssueComment", comment.id),
                    "url": api,
                    "html_url": f"{self.repo_web(repo)}/{kind}/{comment.number}#issuecomment-{comment.id}",
                    "body": comment.body,
                    "user": self.user(comment.user),
                    "created_at": iso(comment.created_at),
                    "updated_at": iso(comment.updated_at),
                    "issue_url": f"{self.repo_api(repo)}/issues/{comment.number}",
                    "author_association": self.world.author_association(repo, comment.user),
                    "performed_via_github_app": None,
                    "reactions": self.reaction_rollup(f"{api}/reactions", comment.reactions),
                },
            )
        )

    def reaction(self, reaction: Reaction) -> dict[str, Any]:
        shaped = self.example("reactions/create-for-issue-comment", 201)
        return overlay(
            shaped,
            {
                "id": reaction.id,
                "node_id": node_id("Reaction", reaction.id),
                "user": self.user(reaction.user),
                "content": reaction.content,
                "created_at": iso(reaction.created_at),
            },
        )

    def review(self, repo: Repo, review: Review) -> dict[str, Any]:
        shaped = self.example("pulls/list-reviews", 200)[0]
        web = f"{self.repo_web(repo)}/pull/{review.number}#pullrequestreview-{review.id}"
        pull_api = f"{self.repo_api(repo)}/pulls/{review.number}"
        values: dict[str, Any] = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": web,
            "pull_request_url": pull_api,
            "_links": {"html": {"href": web}, "pull_request": {"href": pull_api}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
            "author_association": self.world.author_association(repo, review.user),
        }
        if review.submitted_at is None:
            shaped.pop("submitted_at", None)
            del values["submitted_at"]
        return overlay(shaped, values)

    # -- statuses and checks ------------------------------------------------

    def status(self, repo: Repo, status: Status, *, with_creator: bool = True) -> dict[str, Any]:
        shaped = self.example("repos/create-commit-status", 201)
        values: dict[str, Any] = {
            "url": f"{self.repo_api(repo)}/statuses/{status.sha}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.world.account(status.creator).id}?v=4",
            "id": status.id,
            "node_id": node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.updated_at),
            "creator": self.user(status.creator),
        }
        if not with_creator:
            del values["creator"]
            shaped.pop("creator", None)
        return overlay(shaped, values)

    def combined_status(
        self, repo: Repo, sha: str, statuses: list[Status], total: int
    ) -> dict[str, Any]:
        shaped = self.example("repos/get-combined-status-for-ref", 200)
        template_repo = shaped["repository"]
        return self.to_fake(
            overlay(
                shaped,
                {
                    "state": self.world.combined_state(repo, sha),
                    "statuses": [self.status(repo, s, with_creator=False) for s in statuses],
                    "sha": sha,
                    "total_count": total,
                    "repository": self.repository(repo, template_repo),
                    "commit_url": f"{self.repo_api(repo)}/commits/{sha}",
                    "url": f"{self.repo_api(repo)}/commits/{sha}/status",
                },
            )
        )

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        shaped = self.example("checks/create", 201)
        api = f"{self.repo_api(repo)}/check-runs/{run.id}"
        output = {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.output.get("annotations", []) or []),
            "annotations_url": f"{api}/annotations",
        }
        pulls = [
            self.pull_ref(repo, pr)
            for pr in repo.pulls.values()
            if pr.state == "open" and pr.head_sha == run.head_sha
        ]
        return self.to_fake(
            overlay(
                shaped,
                {
                    "id": run.id,
                    "head_sha": run.head_sha,
                    "node_id": node_id("CheckRun", run.id),
                    "external_id": run.external_id or "",
                    "url": api,
                    "html_url": f"{self.repo_web(repo)}/runs/{run.id}",
                    "details_url": run.details_url,
                    "status": run.status,
                    "conclusion": run.conclusion,
                    "started_at": iso(run.started_at),
                    "completed_at": iso(run.completed_at),
                    "output": output,
                    "name": run.name,
                    "check_suite": {"id": run.check_suite_id},
                    "app": self.app(run.app_id, run.app_slug, run.app_owner),
                    "pull_requests": pulls,
                },
            )
        )

    # -- deployments --------------------------------------------------------

    def deployment(self, repo: Repo, deployment: Deployment) -> dict[str, Any]:
        shaped = self.example("repos/create-deployment", 201)
        api = f"{self.repo_api(repo)}/deployments/{deployment.id}"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "url": api,
                    "id": deployment.id,
                    "node_id": node_id("Deployment", deployment.id),
                    "sha": deployment.sha,
                    "ref": deployment.ref,
                    "task": deployment.task,
                    "payload": deployment.payload,
                    "original_environment": deployment.environment,
                    "environment": deployment.environment,
                    "description": deployment.description,
                    "creator": self.user(deployment.creator),
                    "created_at": iso(deployment.created_at),
                    "updated_at": iso(deployment.created_at),
                    "statuses_url": f"{api}/statuses",
                    "repository_url": self.repo_api(repo),
                    "transient_environment": deployment.transient_environment,
                    "production_environment": deployment.production_environment,
                },
            )
        )

    def deployment_status(self, repo: Repo, status: DeploymentStatus) -> dict[str, Any]:
        shaped = self.example("repos/create-deployment-status", 201)
        deployment_api = f"{self.repo_api(repo)}/deployments/{status.deployment_id}"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "url": f"{deployment_api}/statuses/{status.id}",
                    "id": status.id,
                    "node_id": node_id("DeploymentStatus", status.id),
                    "state": status.state,
                    "creator": self.user(status.creator),
                    "description": status.description,
                    "environment": status.environment,
                    "target_url": status.log_url or "",
                    "created_at": iso(status.created_at),
                    "updated_at": iso(status.created_at),
                    "deployment_url": deployment_api,
                    "repository_url": self.repo_api(repo),
                    "environment_url": status.environment_url or "",
                    "log_url": status.log_url or "",
                },
            )
        )

    def workflow_run(self, repo: Repo, run: WorkflowRun) -> dict[str, Any]:
        shaped = self.example("actions/get-workflow-run", 200)
        api = f"{self.repo_api(repo)}/actions/runs/{run.id}"
        return self.to_fake(
            overlay(
                shaped,
                {
                    "id": run.id,
                    "node_id": node_id("WorkflowRun", run.id),
                    "head_branch": run.ref,
                    "head_sha": run.head_sha,
                    "event": "workflow_dispatch",
                    "status": run.status,
                    "conclusion": run.conclusion,
                    "url": api,
                    "html_url": f"{self.repo_web(repo)}/actions/runs/{run.id}",
                    "created_at": iso(run.created_at),
                    "updated_at": iso(run.updated_at or run.created_at),
                    "run_started_at": iso(run.created_at),
                    "actor": self.user(run.actor),
                    "triggering_actor": self.user(run.actor),
                    "pull_requests": [],
                    "jobs_url": f"{api}/jobs",
                    "logs_url": f"{api}/logs",
                    "artifacts_url": f"{api}/artifacts",
                    "cancel_url": f"{api}/cancel",
                    "rerun_url": f"{api}/rerun",
                    "repository": self.repository(repo),
                    "head_repository": self.repository(repo),
                },
            )
        )

    # -- the App ------------------------------------------------------------

    def installation(self, installation: Installation) -> dict[str, Any]:
        shaped = self.example("apps/get-repo-installation", 200)
        account = self.world.account(installation.account)
        return self.to_fake(
            overlay(
                shaped,
                {
                    "id": installation.id,
                    "account": self.user(account.login, shaped.get("account")),
                    "repository_selection": installation.repository_selection,
                    "access_tokens_url": f"{self.base}/app/installations/{installation.id}/access_tokens",
                    "repositories_url": f"{self.base}/installation/repositories",
                    "html_url": f"{GITHUB_WEB}/organizations/{account.login}/settings/installations/{installation.id}",
                    "app_id": self.world.app_id,
                    "client_id": f"Iv1.{self.world.app_id:016x}",
                    "target_id": account.id,
                    "target_type": account.type,
                    "permissions": dict(installation.permissions),
                    "events": [
                        "pull_request",
                        "pull_request_review",
                        "issue_comment",
                        "check_run",
                        "status",
                    ],
                    "single_file_name": None,
                    "has_multiple_single_files": False,
                    "single_file_paths": [],
                    "app_slug": self.world.app_slug,
                    "suspended_at": None,
                    "suspended_by": None,
                },
            )
        )

    def access_token(
        self,
        token: str,
        expires_at: str,
        permissions: dict[str, str],
        repos: list[Repo] | None,
        selection: str,
    ) -> dict[str, Any]:
        shaped = self.example("apps/create-installation-access-token", 201)
        template_repo = shaped["repositories"][0]
        values: dict[str, Any] = {
            "token": token,
            "expires_at": expires_at,
            "permissions": permissions,
            "repository_selection": selection,
        }
        if repos is None:
            shaped.pop("repositories", None)
        else:
            values["repositories"] = [self.repository(r, template_repo) for r in repos]
        return self.to_fake(overlay(shaped, values))
