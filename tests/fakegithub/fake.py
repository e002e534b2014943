"""`FakeGitHub`: the handle tests hold — lifecycle, arranging state, reading
what the bot did, injecting faults and validating the traffic.

See the package docstring for a tour. Every method takes the lock of the
world the HTTP handlers share, so a test may arrange state while a bot in
another thread or process is talking to the server.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from support.fakes.faults import Fault, FaultBook, Matcher
from support.fakes.forge import FakeForge
from support.fakes.recording import RequestLog

from . import webhooks
from .app_pages import ENTERPRISE_API
from .auth import generated_private_key_pem, mint_token, public_key_pem
from .builders import Shapes
from .handlers import Handlers, ensure_label, merged_tree, tree_diff
from .hook_deliveries import HookDelivery, HookLog
from .operations import OPERATIONS_FILE, load_operations
from .rate_limits import primary_rate_limit_fault, secondary_rate_limit_fault
from .schemas import validation_report
from .server import HttpFrontend
from .state import (
    MERGE_METHODS,
    ROLES,
    AccessToken,
    ChangedFile,
    CheckRun,
    Collaborator,
    Comment,
    Deployment,
    DeploymentStatus,
    Dispatch,
    Installation,
    MergeGroup,
    MergeRecord,
    PullRequest,
    Reaction,
    Repo,
    Review,
    Status,
    Team,
    WorkflowRun,
    World,
    as_changed_files,
    utcnow,
)

DEFAULT_INSTALLATION_PERMISSIONS = {
    "checks": "write",
    "statuses": "write",
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "deployments": "write",
    "actions": "write",
    "members": "read",
    "metadata": "read",
}


class FakeGitHub(FakeForge):
    """A stateful GitHub on 127.0.0.1, driven over HTTP by the code under test."""

    def __init__(
        self,
        *,
        app_id: int = 4242,
        app_slug: str = "gatebot",
        app_owner: str = "gatebot-dev",
        private_key_pem: str | None = None,
        webhook_secret: str | None = None,
        operations_path: Path = OPERATIONS_FILE,
        enterprise: bool = False,
    ) -> None:
        """`enterprise`: the API is served under `/api/v3` of `url`, as GitHub Enterprise
        Server serves it (`api_url`), and every URL in its answers says so."""
        self.app_id = app_id
        self.app_slug = app_slug
        self.private_key_pem = private_key_pem or generated_private_key_pem()
        self.public_key_pem = public_key_pem(self.private_key_pem)
        self.webhook_secret = webhook_secret or "whsec-" + secrets.token_hex(12)
        self.operations = load_operations(operations_path)
        self.world = World(app_id, app_slug, app_owner)
        self.log = RequestLog()
        self.rate_limit = 5000
        """The primary rate limit the `x-ratelimit-*` headers count every request
        against (GitHub's for an App installation; a benchmark of an hour's load in
        minutes raises it). Reaching it is a fault a test arranges (`primary_rate_limit`)."""
        self.faults = FaultBook()
        self._frontend = HttpFrontend(self)
        self.url = self._frontend.url
        """The web address; the API's is `api_url`."""
        self.api_url = self.url + (ENTERPRISE_API if enterprise else "")
        self.shapes = Shapes(self.world, self.operations, self.api_url)
        self.hook_log = HookLog(self.world.lock, self.world.next_id)
        self.manifests: list[dict[str, Any]] = []
        """App manifests posted to the new-App pages (app_pages.py), with their `owner`."""
        self.handlers = Handlers(
            self.world, self.shapes, self.private_key_pem, self.webhook_secret, self.hook_log
        )
        self._started = False

    @property
    def bot_login(self) -> str:
        """The login the App acts as ("gatebot[bot]"): author of its comments and statuses."""
        return self.world.bot_login

    # -- installations and tokens -------------------------------------------

    def add_installation(
        self,
        account: str,
        *,
        installation_id: int | None = None,
        repos: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        account_type: str = "Organization",
    ) -> int:
        """Install the App on `account`, for all its repositories or only `repos` (names)."""
        with self.world.lock:
            if account_type == "Organization":
                self.world.org(account)
            else:
                self.world.account(account, kind=account_type)
            installation_id = installation_id or self.world.next_id()
            selected = None
            if repos is not None:
                selected = {(r if "/" in r else f"{account}/{r}").lower() for r in repos}
            self.world.installations[installation_id] = Installation(
                id=installation_id,
                account=self.world.account(account).login,
                repositories=selected,
                permissions=dict(permissions or DEFAULT_INSTALLATION_PERMISSIONS),
            )
            return installation_id

    def installation_id(self, repo: str) -> int:
        with self.world.lock:
            found = self.world.installation_for_repo(repo)
            if found is None:
                raise KeyError(f"the App is not installed on {repo}")
            return found.id

    def suspend_installation(self, installation_id: int, suspended: bool = True) -> None:
        with self.world.lock:
            self.world.installations[installation_id].suspended = suspended

    def mint_token(self, repo: str, *, lifetime: dt.timedelta = dt.timedelta(hours=1)) -> str:
        """An installation token for `repo`'s installation, minted directly (not counted as a
        request); for tests that talk to the fake without going through the JWT flow."""
        with self.world.lock:
            installation = self.world.installations[self.installation_id(repo)]
            token = mint_token(
                self.world,
                installation.id,
                None,
                dict(installation.permissions),
                lifetime,
                counted=False,
            )
            return token.token

    def expire_tokens(self) -> None:
        """Every installation token minted so far expires now (the next call answers 401)."""
        with self.world.lock:
            for token in self.world.tokens.values():
                token.expires_at = utcnow() - dt.timedelta(seconds=1)

    @property
    def tokens(self) -> list[AccessToken]:
        with self.world.lock:
            return list(self.world.tokens.values())

    @property
    def token_mints(self) -> int:
        """Installation tokens minted over HTTP (`apps/create-installation-access-token`)."""
        with self.world.lock:
            return self.world.token_mints

    def add_manifest_code(self, code: str, **config: Any) -> None:
        """Make `POST /app-manifests/{code}/conversions` answer with this App (once)."""
        with self.world.lock:
            self.world.manifest_codes[code] = dict(config)

    # -- repositories and git -----------------------------------------------

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str | bytes] | None = None,
        private: bool = True,
        archived: bool = False,
        merge_methods: Iterable[str] = MERGE_METHODS,
        install: bool = True,
        delete_branch_on_merge: bool = False,
        owner_type: str = "Organization",
    ) -> Repo:
        """A repository with one commit on `default_branch` holding `files`.

        With `install` (the default) the owner's installation covers it; an
        installation is created for the owner when there is none. An owner
        not seen before is an organisation unless `owner_type="User"`.
        """
        owner, name = full_name.split("/", 1)
        with self.world.lock:
            if full_name.lower() in self.world.repos:
                raise ValueError(f"{full_name} already exists")
            if self.world.known_account(owner) is None:
                if owner_type == "Organization":
                    self.world.org(owner)
                else:
                    self.world.account(owner, kind=owner_type)
            owner_account = self.world.account(owner)
            repo = Repo(
                id=self.world.next_id(),
                owner=owner_account.login,
                name=name,
                default_branch=default_branch,
                private=private,
                archived=archived,
                merge_methods=set(merge_methods),
                created_at=utcnow(),
                delete_branch_on_merge=delete_branch_on_merge,
            )
            self.world.repos[repo.key] = repo
            initial = self.world.add_commit(
                repo,
                [],
                message="Initial commit",
                author=owner_account.login,
                contents=dict(files or {}),
            )
            repo.branches[default_branch] = initial.sha
            if install:
                installation = next(
                    (
                        i
                        for i in self.world.installations.values()
                        if i.account.lower() == owner.lower()
                    ),
                    None,
                )
                if installation is None:
                    self.add_installation(
                        owner, repos=[name], account_type=self.world.account(owner).type
                    )
                elif installation.repositories is not None:
                    installation.repositories.add(repo.key)
            return repo

    def repo(self, full_name: str) -> Repo:
        with self.world.lock:
            return self.world.repo(full_name)

    def set_repo(self, full_name: str, **settings: Any) -> None:
        """Change repository settings: archived, private, default_branch, merge_methods..."""
        with self.world.lock:
            repo = self.world.repo(full_name)
            for key, value in settings.items():
                if not hasattr(repo, key):
                    raise AttributeError(f"repositories have no setting {key!r}")
                setattr(repo, key, set(value) if key == "merge_methods" else value)

    def add_branch(self, repo: str, name: str, from_ref: str | None = None) -> str:
        with self.world.lock:
            found = self.world.repo(repo)
            sha = self.world.resolve(found, from_ref)
            if sha is None:
                raise KeyError(f"{repo} has no ref {from_ref}")
            found.branches[name] = sha
            return sha

    def add_tag(self, repo: str, name: str, from_ref: str) -> str:
        """A lightweight tag `name` at the commit `from_ref` names; returns its SHA.

        A tag may share its name with a branch, as on GitHub: a bare name then
        finds the tag first (see `World.resolve`).
        """
        with self.world.lock:
            found = self.world.repo(repo)
            sha = self.world.resolve(found, from_ref)
            if sha is None:
                raise KeyError(f"{repo} has no ref {from_ref}")
            found.tags[name] = sha
            return sha

    def commit(
        self,
        repo: str,
        branch: str,
        contents: Mapping[str, str | bytes | None] | None = None,
        *,
        message: str = "Update",
        author: str | None = None,
        sha: str | None = None,
    ) -> str:
        """A new commit on `branch` (created from the default branch if missing); its SHA."""
        with self.world.lock:
            found = self.world.repo(repo)
            parent = found.branches.get(branch) or found.branches[found.default_branch]
            commit = self.world.add_commit(
                found,
                [parent],
                sha=sha,
                message=message,
                author=author or found.owner,
                contents=contents,
            )
            self.world.move_branch(found, branch, commit.sha)
            return commit.sha

    def set_file(self, repo: str, ref: str, path: str, text: str | bytes | None) -> None:
        """Put `text` at `path` in the tree of the commit `ref` names (None removes it).

        This edits that commit in place: branches and pull requests already
        pointing elsewhere keep their own version.
        """
        with self.world.lock:
            found = self.world.repo(repo)
            sha = self.world.resolve(found, ref)
            if sha is None:
                raise KeyError(f"{repo} has no ref {ref}")
            tree = found.commits[sha].tree
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text.encode() if isinstance(text, str) else text

    def file(self, repo: str, ref: str, path: str) -> str | None:
        with self.world.lock:
            found = self.world.repo(repo)
            sha = self.world.resolve(found, ref)
            data = found.commits[sha].tree.get(path) if sha else None
            return data.decode() if data is not None else None

    def branch_sha(self, repo: str, branch: str) -> str | None:
        with self.world.lock:
            return self.world.repo(repo).branches.get(branch)

    def protect_branch(
        self,
        repo: str,
        branch: str,
        *,
        contexts: Sequence[str] = (),
        strict: bool = False,
        required_approving_review_count: int | None = None,
        enforce_admins: bool = False,
    ) -> None:
        """Branch protection the merge honours (required contexts, approving reviews)."""
        settings: dict[str, Any] = {
            "required_status_checks": {"contexts": list(contexts), "strict": strict},
            "enforce_admins": enforce_admins,
        }
        if required_approving_review_count is not None:
            settings["required_pull_request_reviews"] = {
                "required_approving_review_count": required_approving_review_count
            }
        with self.world.lock:
            self.world.repo(repo).protections[branch] = settings

    def unprotect_branch(self, repo: str, branch: str) -> None:
        with self.world.lock:
            self.world.repo(repo).protections.pop(branch, None)

    # -- pull requests ------------------------------------------------------

    def open_pr(
        self,
        repo: str,
        number: int | None = None,
        *,
        author: str = "alice",
        title: str | None = None,
        body: str | None = "",
        base: str | None = None,
        head: str | None = None,
        files: Iterable[str | Mapping[str, Any] | ChangedFile] | None = None,
        commits: Sequence[str | Mapping[str, Any]] | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        draft: bool = False,
        labels: Iterable[str] = (),
        head_sha: str | None = None,
        existing_head: bool = False,
    ) -> PullRequest:
        """Open pull request `number` from branch `head` into `base`.

        `commits` lists the PR's commits oldest first: SHAs, or dicts with
        `sha`, `author`, `committer`, `message` (default: one commit by
        `author`). `head_sha` names the last one. `contents` changes files in
        the head's tree; `files` is the PR's file list (filenames, dicts with
        `filename`, `status`, `additions`, `deletions`, `previous_filename`,
        `patch`, or ChangedFile), derived from `contents` when omitted.
        With `existing_head`, the branch `head` is proposed as it is (no new
        commit): another PR with the same head SHA, into another base or the same.
        """
        with self.world.lock:
            found = self.world.repo(repo)
            number = number or (max(found.pulls, default=0) + 1)
            if number in found.pulls:
                raise ValueError(f"{repo} already has pull request #{number}")
            base = base or found.default_branch
            head = head or f"feature-{number}"
            self.world.account(author)
            specs = [] if existing_head else list(commits or [{}])
            parent = found.branches[head] if existing_head else found.branches[base]
            shas = [parent] if existing_head else []
            for index, spec in enumerate(specs):
                spec = {"sha": spec} if isinstance(spec, str) else dict(spec)
                last = index == len(specs) - 1
                commit = self.world.add_commit(
                    found,
                    [parent],
                    sha=(head_sha if last and head_sha else spec.get("sha")),
                    message=spec.get("message", f"Change {index + 1} of #{number}"),
                    author=spec.get("author", author),
                    committer=spec.get("committer", spec.get("author", author)),
                    contents=contents if last else None,
                )
                shas.append(commit.sha)
                parent = commit.sha
            now = utcnow()
            changed = (
                as_changed_files(files)
                if files is not None
                else tree_diff(found.commits[found.branches[base]].tree, found.commits[parent].tree)
            )
            pr = PullRequest(
                id=self.world.next_id(),
                number=number,
                title=title or f"Pull request #{number}",
                body=body,
                user=self.world.account(author).login,
                base_ref=base,
                head_ref=head,
                head_sha=parent,
                draft=draft,
                created_at=now,
                updated_at=now,
                files=changed,
                commits=shas,
                head_history=[parent],
            )
            found.branches[head] = parent
            found.pulls[number] = pr
            for name in labels:
                ensure_label(self.world, found, name)
                pr.labels.append(name)
            return pr

    def pr(self, repo: str, number: int) -> PullRequest:
        with self.world.lock:
            return self.world.pull(self.world.repo(repo), number)

    def push(
        self,
        repo: str,
        number: int,
        new_sha: str | None = None,
        *,
        pusher: str | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        files: Iterable[str | Mapping[str, Any] | ChangedFile] | None = None,
        message: str | None = None,
        author: str | None = None,
        committer: str | None = None,
        force: bool = False,
    ) -> str:
        """Push one commit to the PR's head branch; returns its SHA.

        `pusher` defaults to the PR author and is the commit's author unless
        `author` is given. `force` replaces the PR's commits (parent: the base
        branch). Mergeability goes back to "being computed".
        """
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            pusher = pusher or pr.user
            parent = found.branches[pr.base_ref] if force else pr.head_sha
            commit = self.world.add_commit(
                found,
                [parent],
                sha=new_sha,
                message=message or f"Update #{number}",
                author=author or pusher,
                committer=committer or author or pusher,
                contents=contents,
            )
            pr.commits = [commit.sha] if force else [*pr.commits, commit.sha]
            self.world.set_head(found, pr, commit.sha)
            pr.last_pusher = pusher
            if files is not None:
                pr.files = as_changed_files(files)
            elif contents:
                base_sha = found.branches[pr.base_ref]
                merge_base = self.world.merge_base(found, base_sha, commit.sha) or base_sha
                pr.files = tree_diff(found.commits[merge_base].tree, commit.tree)
            return commit.sha

    def queue(
        self,
        repo: str,
        numbers: Sequence[int],
        *,
        method: str = "squash",
        stray: Mapping[str, str | bytes | None] | None = None,
        stray_message: str = "Tidy up",
    ) -> MergeGroup:
        """The merge queue builds a group of PRs `numbers` (in queue order) on their base.

        Each PR gets one commit of the queue's own, stacked on the one before:
        a squash of its changes titled `<title> (#n)` (`method="squash"`) or a
        merge of its head `Merge pull request #n from ...` (`"merge"`); GitHub
        lists that commit among the PR's associated pulls. `stray` adds one
        more commit on top that belongs to no PR (message `stray_message`).
        The group's branch is `gh-readonly-queue/<base>/pr-<last>-<sha>`.
        """
        with self.world.lock:
            found = self.world.repo(repo)
            base = self.world.pull(found, numbers[0]).base_ref
            base_sha = found.branches[base]
            parent = base_sha
            for number in numbers:
                pr = self.world.pull(found, number)
                start = self.world.merge_base(found, base_sha, pr.head_sha) or base_sha
                tree = dict(found.commits[parent].tree)
                before, after = found.commits[start].tree, found.commits[pr.head_sha].tree
                for path in set(before) | set(after):
                    if before.get(path) != after.get(path):
                        if path in after:
                            tree[path] = after[path]
                        else:
                            tree.pop(path, None)
                if method == "squash":
                    parents, message = [parent], f"{pr.title} (#{number})"
                else:
                    parents = [parent, pr.head_sha]
                    message = (
                        f"Merge pull request #{number} from {found.owner}/{pr.head_ref}\n\n"
                        f"{pr.title}"
                    )
                commit = self.world.add_commit(
                    found, parents, message=message, author=pr.user,
                    committer="web-flow", tree=tree,
                )
                found.queue_commits[commit.sha] = number
                parent = commit.sha
            if stray is not None:
                parent = self.world.add_commit(
                    found, [parent], message=stray_message, author=found.owner, contents=stray
                ).sha
            head_ref = f"gh-readonly-queue/{base}/pr-{numbers[-1]}-{parent}"
            found.branches[head_ref] = parent
            group = MergeGroup(parent, head_ref, base, base_sha)
            found.merge_groups[parent] = group
            return group

    def force_push_to(self, repo: str, number: int, sha: str, *, pusher: str | None = None) -> None:
        """Force-push the PR's head branch back to an existing commit `sha` (A → B → A).

        The PR's commits become those of `sha` not on the base branch, its files
        the diff from their merge base, as GitHub recomputes them.
        """
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            base_sha = found.branches[pr.base_ref]
            ahead = self.world.ancestors(found, sha) - self.world.ancestors(found, base_sha)
            pr.commits = [c.sha for c in self.world.ordered_commits(found, ahead)]
            self.world.set_head(found, pr, sha)
            pr.last_pusher = pusher or pr.user
            merge_base = self.world.merge_base(found, base_sha, sha) or base_sha
            pr.files = tree_diff(found.commits[merge_base].tree, found.commits[sha].tree)

    def update_branch(self, repo: str, number: int, *, by: str | None = None) -> str | None:
        """Someone pressed "Update branch": GitHub merges the base tip into the head
        (author `by`, committer `web-flow`); the new head, None when already up to date."""
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            by = by or pr.user
            sha = self.handlers.update_branch(found, pr, self.world.account(by).login)
            if sha is not None:
                pr.last_pusher = by
                self._refresh_files(found, pr)
            return sha

    def push_merge(
        self,
        repo: str,
        number: int,
        *,
        pusher: str | None = None,
        author: str | None = None,
        committer: str | None = None,
        contents: Mapping[str, str | bytes | None] | None = None,
        drop_base_changes: bool = False,
    ) -> str:
        """Someone merged the base tip into the PR locally and pushed: a merge commit
        (parents: the head, the base tip) with any `author` / `committer` names, whose
        tree is the clean merge plus `contents` — or, with `drop_base_changes`, the
        head's own tree (`git merge -s ours`)."""
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            pusher = pusher or pr.user
            base_sha = found.branches[pr.base_ref]
            tree = (
                dict(found.commits[pr.head_sha].tree)
                if drop_base_changes
                else merged_tree(self.world, found, pr.head_sha, base_sha)
            )
            for path, text in (contents or {}).items():
                if text is None:
                    tree.pop(path, None)
                else:
                    tree[path] = text.encode() if isinstance(text, str) else text
            commit = self.world.add_commit(
                found,
                [pr.head_sha, base_sha],
                message=f"Merge branch '{pr.base_ref}' into {pr.head_ref}",
                author=author or pusher,
                committer=committer or author or pusher,
                tree=tree,
            )
            pr.commits.append(commit.sha)
            self.world.set_head(found, pr, commit.sha)
            pr.last_pusher = pusher
            self._refresh_files(found, pr)
            return commit.sha

    def _refresh_files(self, found: Repo, pr: PullRequest) -> None:
        base_sha = found.branches[pr.base_ref]
        merge_base = self.world.merge_base(found, base_sha, pr.head_sha) or base_sha
        pr.files = tree_diff(found.commits[merge_base].tree, found.commits[pr.head_sha].tree)

    def set_mergeable(
        self, repo: str, number: int, mergeable: bool = True, state: str | None = None
    ) -> None:
        """What GitHub will compute: `mergeable=False` is a conflict ("dirty"), `state` forces
        `mergeable_state` ("blocked", "unstable", "behind"...)."""
        with self.world.lock:
            pr = self.world.pull(self.world.repo(repo), number)
            pr.conflicting = not mergeable
            pr.mergeable_state_override = state

    def settle_mergeable(self, repo: str, number: int) -> None:
        """Skip the null first read: GitHub has finished computing mergeability."""
        with self.world.lock:
            self.world.pull(self.world.repo(repo), number).mergeable_pending = False

    def edit_pr(self, repo: str, number: int, **changes: Any) -> None:
        """Change title, body, draft, base_ref or state ("open"/"closed") as a user would."""
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            for key, value in changes.items():
                if key not in ("title", "body", "draft", "base_ref", "state", "locked"):
                    raise AttributeError(f"cannot edit {key!r} of a pull request")
                setattr(pr, key, value)
            if changes.get("state") == "closed":
                pr.closed_at = utcnow()
            if "base_ref" in changes or "draft" in changes:
                pr.mergeable_pending = True
            pr.updated_at = utcnow()

    def merge_pr(
        self, repo: str, number: int, *, method: str = "merge", by: str | None = None
    ) -> str:
        """Someone merged the PR on GitHub (not through the API the bot uses)."""
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            sha = self.handlers.perform_merge(found, pr, method, None, None)
            if by:
                pr.merged_by = self.world.account(by).login
            return sha

    # -- reviews, comments, labels ------------------------------------------

    def add_review(
        self,
        repo: str,
        number: int,
        user: str,
        state: str = "APPROVED",
        *,
        body: str = "",
        commit_id: str | None = None,
        submitted_at: dt.datetime | None = None,
    ) -> Review:
        """A submitted review (APPROVED, CHANGES_REQUESTED, COMMENTED), on the head by default."""
        with self.world.lock:
            pr = self.world.pull(self.world.repo(repo), number)
            review = Review(
                id=self.world.next_id(),
                number=number,
                user=self.world.account(user).login,
                state=state,
                body=body,
                commit_id=commit_id or pr.head_sha,
                submitted_at=submitted_at or utcnow(),
            )
            pr.reviews.append(review)
            self.world.touch(pr)
            return review

    def edit_review(self, repo: str, number: int, review_id: int, body: str) -> Review:
        """Someone edited a review's summary (its author, or anyone GitHub lets). GitHub's
        API keeps no trace of it; only the `pull_request_review.edited` webhook tells."""
        with self.world.lock:
            pr = self.world.pull(self.world.repo(repo), number)
            review = next(r for r in pr.reviews if r.id == review_id)
            review.body = body
            return review

    def dismiss_review(self, repo: str, number: int, review_id: int, message: str = "") -> None:
        with self.world.lock:
            pr = self.world.pull(self.world.repo(repo), number)
            review = next(r for r in pr.reviews if r.id == review_id)
            review.state = "DISMISSED"
            review.dismissal_message = message
            self.world.touch(pr)

    def reviews(self, repo: str, number: int) -> list[Review]:
        with self.world.lock:
            return list(self.world.pull(self.world.repo(repo), number).reviews_sorted)

    def add_comment(self, repo: str, number: int, user: str, body: str) -> Comment:
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            now = utcnow()
            comment = Comment(
                self.world.next_id(), number, self.world.account(user).login, body, now, now
            )
            found.comments[comment.id] = comment
            self.world.touch(pr)
            return comment

    def edit_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        with self.world.lock:
            comment = self.world.repo(repo).comments[comment_id]
            comment.body = body
            comment.updated_at = utcnow()
            return comment

    def delete_comment(self, repo: str, comment_id: int) -> None:
        with self.world.lock:
            del self.world.repo(repo).comments[comment_id]

    def comments(self, repo: str, number: int) -> list[Comment]:
        """The PR's conversation comments, oldest first."""
        with self.world.lock:
            found = self.world.repo(repo)
            return sorted(
                (c for c in found.comments.values() if c.number == number), key=lambda c: c.id
            )

    def add_reaction(self, repo: str, comment_id: int, user: str, content: str) -> Reaction:
        with self.world.lock:
            comment = self.world.repo(repo).comments[comment_id]
            reaction = Reaction(
                self.world.next_id(), self.world.account(user).login, content, utcnow()
            )
            comment.reactions.append(reaction)
            return reaction

    def reactions(self, repo: str, comment_id: int) -> list[Reaction]:
        with self.world.lock:
            return list(self.world.repo(repo).comments[comment_id].reactions)

    def add_label(self, repo: str, number: int, *names: str) -> None:
        with self.world.lock:
            found = self.world.repo(repo)
            pr = self.world.pull(found, number)
            for name in names:
                ensure_label(self.world, found, name)
                if name not in pr.labels:
                    pr.labels.append(name)
                    self.world.touch(pr)

    def remove_label(self, repo: str, number: int, name: str) -> None:
        with self.world.lock:
            pr = self.world.pull(self.world.repo(repo), number)
            pr.labels.remove(name)
            self.world.touch(pr)

    def labels(self, repo: str, number: int) -> list[str]:
        with self.world.lock:
            return list(self.world.pull(self.world.repo(repo), number).labels)

    # -- statuses and checks ------------------------------------------------

    def set_status(
        self,
        repo: str,
        sha: str,
        context: str,
        state: str = "success",
        *,
        creator: str = "ci-bot",
        description: str | None = None,
        target_url: str | None = None,
    ) -> Status:
        """A commit status posted by someone else (`creator`)."""
        with self.world.lock:
            found = self.world.repo(repo)
            now = utcnow()
            status = Status(
                self.world.next_id(),
                sha,
                context,
                state,
                description,
                target_url,
                self.world.account(creator).login,
                now,
                now,
            )
            found.statuses.append(status)
            return status

    def statuses(self, repo: str, sha: str) -> list[Status]:
        """Every status on `sha`, oldest first."""
        with self.world.lock:
            return [s for s in self.world.repo(repo).statuses if s.sha == sha]

    def set_check_run(
        self,
        repo: str,
        sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        app_slug: str = "ci",
        app_id: int | None = None,
        output: Mapping[str, Any] | None = None,
        details_url: str | None = None,
    ) -> CheckRun:
        """A new check run by another App (`app_slug`); the latest per name is what counts."""
        with self.world.lock:
            found = self.world.repo(repo)
            owner = self.world.account(f"{app_slug}-owner", kind="Organization").login
            app_id = app_id if app_id is not None else 10_000 + sum(map(ord, app_slug))
            now = utcnow()
            run = CheckRun(
                id=self.world.next_id(),
                head_sha=sha,
                name=name,
                status=status,
                conclusion=conclusion if status == "completed" else None,
                app_id=app_id,
                app_slug=app_slug,
                app_owner=owner,
                external_id=None,
                details_url=details_url,
                output=dict(output or {}),
                started_at=now,
                completed_at=now if status == "completed" else None,
                check_suite_id=self.handlers.suite_id(found, sha, app_id),
            )
            found.check_runs[run.id] = run
            return run

    def check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        """Every check run on `sha` (all Apps, the bot's included), oldest first."""
        with self.world.lock:
            runs = self.world.repo(repo).check_runs.values()
            return sorted((r for r in runs if r.head_sha == sha), key=lambda r: r.id)

    # -- people -------------------------------------------------------------

    def add_user(self, login: str) -> None:
        """Make `login` exist (for lookups that 404 on unknown users)."""
        with self.world.lock:
            self.world.account(login)

    def set_role(
        self, repo: str, login: str, role_name: str | None, *, base: str | None = None
    ) -> None:
        """Give `login` a repository role: a built-in one (read, triage, write, maintain,
        admin) or a custom role named `role_name` inheriting `base`. None removes it."""
        with self.world.lock:
            found = self.world.repo(repo)
            account = self.world.account(login)
            if role_name is None:
                found.collaborators.pop(account.login.lower(), None)
                return
            base_role = base or role_name
            if base_role not in ROLES:
                raise ValueError(f"custom role {role_name!r} needs base= one of {ROLES}")
            found.collaborators[account.login.lower()] = Collaborator(role_name, base_role)

    def add_org_member(self, org: str, login: str) -> None:
        with self.world.lock:
            self.world.org(org).members.add(self.world.account(login).login)

    def remove_org_member(self, org: str, login: str) -> None:
        with self.world.lock:
            members = self.world.org(org).members
            for member in list(members):
                if member.lower() == login.lower():
                    members.discard(member)
            for team in self.world.org(org).teams.values():
                team.members = {k: v for k, v in team.members.items() if k.lower() != login.lower()}

    def add_team(
        self,
        org: str,
        slug: str,
        members: Iterable[str] = (),
        *,
        maintainers: Iterable[str] = (),
        pending: Iterable[str] = (),
        name: str | None = None,
    ) -> Team:
        """A team of `org`; its members and maintainers also become org members."""
        with self.world.lock:
            found = self.world.org(org)
            team = Team(self.world.next_id(), found.login, slug.lower(), name or slug)
            found.teams[team.slug] = team
            for login in members:
                self.add_team_member(org, slug, login)
            for login in maintainers:
                self.add_team_member(org, slug, login, role="maintainer")
            for login in pending:
                team.pending[self.world.account(login).login] = "member"
            return team

    def add_team_member(self, org: str, slug: str, login: str, role: str = "member") -> None:
        with self.world.lock:
            found = self.world.org(org)
            account = self.world.account(login)
            found.teams[slug.lower()].members[account.login] = role
            found.members.add(account.login)

    def remove_team_member(self, org: str, slug: str, login: str) -> None:
        with self.world.lock:
            team = self.world.org(org).teams[slug.lower()]
            team.members = {k: v for k, v in team.members.items() if k.lower() != login.lower()}

    # -- what the bot did ---------------------------------------------------

    @property
    def merges(self) -> list[MergeRecord]:
        """Merges performed through `pulls/merge`, in order."""
        with self.world.lock:
            return list(self.world.merges)

    @property
    def deployments(self) -> list[Deployment]:
        with self.world.lock:
            found = [d for r in self.world.repos.values() for d in r.deployments.values()]
            return sorted(found, key=lambda d: d.id)

    def set_deployment_status(
        self, repo: str, deployment_id: int, state: str, *, log_url: str | None = None,
        description: str = "",
    ) -> DeploymentStatus:
        """A deployment status written by whoever runs the deployment (not the bot)."""
        with self.world.lock:
            found = self.world.repo(repo)
            deployment = found.deployments[deployment_id]
            status = DeploymentStatus(
                self.world.next_id(), deployment.id, state, description,
                deployment.environment, log_url, None, "deployer", utcnow(),
            )
            deployment.statuses.append(status)
            return status

    @property
    def workflow_runs(self) -> list[WorkflowRun]:
        """Runs started by workflow dispatches, in order."""
        with self.world.lock:
            found = [r for repo in self.world.repos.values() for r in repo.workflow_runs.values()]
            return sorted(found, key=lambda r: r.id)

    def finish_run(self, repo: str, run_id: int, conclusion: str | None) -> None:
        """Move a dispatched run on: `conclusion` None leaves it `in_progress`."""
        with self.world.lock:
            run = self.world.repo(repo).workflow_runs[run_id]
            run.status = "in_progress" if conclusion is None else "completed"
            run.conclusion = conclusion
            run.updated_at = utcnow()

    @property
    def dispatches(self) -> list[Dispatch]:
        with self.world.lock:
            return list(self.world.dispatches)

    @property
    def branch_updates(self) -> list[Any]:
        with self.world.lock:
            return list(self.world.branch_updates)

    @property
    def deleted_refs(self) -> list[tuple[str, str]]:
        with self.world.lock:
            return list(self.world.deleted_refs)

    # -- faults (and the request log: `FakeForge`) ---------------------------

    def secondary_rate_limit(
        self,
        operation: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        retry_after: int | None = 1,
        status: int = 403,
        times: int = 1,
        after_action: bool = False,
    ) -> Fault:
        """GitHub's secondary rate limit: 403 (or 429) with `Retry-After` and x-ratelimit-* headers."""
        fault = secondary_rate_limit_fault(
            Matcher(operation, path, method), retry_after, status, times, after_action
        )
        return self.faults.add_fault(fault)

    def primary_rate_limit(
        self,
        operation: str | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
        reset_in: int = 60,
        times: int = 1,
    ) -> Fault:
        """403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` `reset_in` seconds ahead."""
        return self.faults.add_fault(
            primary_rate_limit_fault(Matcher(operation, path, method), reset_in, times)
        )

    # -- rate limit ---------------------------------------------------------

    def counted(self, since: int = 0) -> int:
        """Requests since the `mark` `since` that GitHub counts against the rate limit:
        all but the 304s of conditional GETs."""
        logged, not_modified = self.log.answered_since(since)
        return logged - not_modified

    # -- validation ---------------------------------------------------------

    def validation_problems(self) -> list[str]:
        """Unknown operations, invalid requests and invalid responses logged so far."""
        return validation_report(self.log.snapshot())

    def assert_all_valid(self) -> None:
        """Fail when any request so far hit an unknown operation, sent a body its
        operation's schema rejects, or got a response its schema rejects."""
        problems = self.validation_problems()
        if problems:
            raise AssertionError(
                f"{len(problems)} problem(s) in the traffic with the fake GitHub:\n"
                + "\n".join(problems)
            )

    # -- webhooks -----------------------------------------------------------

    def webhook(
        self,
        event: str,
        action: str | None = None,
        repo: str | None = None,
        number: int | None = None,
        *,
        sender: str | None = None,
        **details: Any,
    ) -> tuple[str, dict[str, Any]]:
        """(event, payload) for a webhook consistent with the current state; see webhooks.py."""
        with self.world.lock:
            return event, webhooks.build(
                self, event, action, repo, number, sender=sender, **details
            )

    def webhook_request(
        self,
        event: str,
        payload: Mapping[str, Any],
        *,
        secret: str | None = None,
        delivery: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers GitHub would POST for `payload`, signed with `secret`
        (default: this fake's webhook secret)."""
        return webhooks.request(event, payload, secret or self.webhook_secret, delivery)

    # -- the App webhook's delivery log (hook_deliveries.py) --------------------

    def set_webhook_url(self, url: str | None) -> None:
        """Where `send_webhook` and redeliveries POST (the App's webhook URL)."""
        with self.world.lock:
            self.hook_log.url = url

    def send_webhook(
        self,
        event: str,
        payload: Mapping[str, Any],
        *,
        secret: str | None = None,
        url: str | None = None,
        guid: str | None = None,
    ) -> tuple[HookDelivery, Any]:
        """Deliver `payload` to the webhook URL (or `url`) as GitHub does, and log the
        attempt: (the delivery, the receiver's `requests.Response` or None if not reached).
        `guid` sends it under an event id already used (GitHub sending the event twice)."""
        return self.hook_log.send(
            event, payload, secret or self.webhook_secret, url=url, guid=guid
        )

    def deliveries_fail(self, status_code: int | None = 502) -> None:
        """From now on deliveries fail without reaching the receiver: 502 "failed to
        connect" (the bot is down), or the 5xx given (the bot answering it); None ends it."""
        with self.world.lock:
            self.hook_log.failure = status_code

    def seed_deliveries(
        self,
        count: int,
        *,
        start: dt.datetime,
        step: dt.timedelta = dt.timedelta(seconds=1),
        status_code: Any = lambda i: 202,
    ) -> list[HookDelivery]:
        """Fill the delivery log with `count` entries (nothing is sent); see `HookLog.seed`."""
        return self.hook_log.seed(count, start=start, step=step, status_code=status_code)

    def hook_deliveries(self) -> list[HookDelivery]:
        """The delivery log, oldest first."""
        with self.world.lock:
            return list(self.hook_log.deliveries)

    @property
    def redeliveries_asked(self) -> list[int]:
        """The delivery ids `POST /app/hook/deliveries/{id}/attempts` was called for."""
        with self.world.lock:
            return list(self.hook_log.redeliveries_asked)

    def wait_redeliveries(self, timeout: float = 20.0) -> None:
        """Wait until every redelivery asked so far has been attempted."""
        self.hook_log.wait_sent(timeout)
