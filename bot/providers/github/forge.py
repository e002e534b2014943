"""The GitHub forge: one `GitHubEvaluation` per evaluation of one PR.

An evaluation reads as little as it can:

- the installation token and the App's login come from `GitHubApp`'s caches;
- the policy file, its fallbacks and CODEOWNERS come from the store's file
  cache until the base branch is pushed to (`invalidation.on_push`) — a
  push seen by one conditional read of the branch's head per evaluation
  (`StoredFiles.follow_branch`), not only as a push delivery, which may be
  lost;
- files, commits and reviews are reused from the store when the PR's head
  SHA and `updated_at` are what they were and GitHub's clock (`Date`) had
  already moved past that `updated_at` when they were read — so a change in
  the same second cannot hide behind an unchanged timestamp. Comments, and
  reviews when their bodies count as comments, are read again (an edit may
  not move `updated_at`), and so are check runs and statuses (they never do);
- directory facts come from the store's directory cache;
- whether a merge commit is an update merge is judged once per merge SHA
  (`update_merges`) and kept in the store.

Every request is counted in the evaluation's tally, stored with the list of
requests when the evaluation ends (`bot.store.requests`).
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from github import BadCredentialsException, Github
from github.CommitStatus import CommitStatus
from github.PullRequest import PullRequest
from github.Repository import Repository
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.core.authorize import Commenter
from bot.core.gate import Decision
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import ChangedFile, CheckResult, Commit, Review
from bot.forges import GITHUB
from bot.keys import ForgeAccess, WorkKey
from bot.providers.assembly import PullFacts
from bot.providers.base import (
    DeployAnswer,
    DeployCall,
    DeployProgress,
    ForgeDeployment,
    MergeState,
    PolicySources,
    PublishOutcome,
    PullHead,
    Reaction,
    RepositoryEvent,
    WorkflowRun,
)
from bot.providers.evaluation import EvaluationBase
from bot.providers.github import snapshot as reads
from bot.providers.github.auth import AppCredentials, GitHubApp
from bot.providers.github.client import ClientConfig, installation_client
from bot.providers.github.deploy import GitHubDeploying
from bot.providers.github.directory import DirectoryReader
from bot.providers.github.merge import GitHubMerging, MergeMethods, merge_state
from bot.providers.github.merge_queue import GroupContents, group_contents
from bot.providers.github.policy_source import StoredFiles, find_codeowners, find_policy
from bot.providers.github.publish import Publisher
from bot.providers.github.update_merges import UpdateMerges
from bot.providers.policy_chain import at_commit
from bot.retry import RetryPolicies
from bot.settings import ConfigurationError, Settings
from bot.store import Store, pull_parts, utcnow

log = logging.getLogger(__name__)

PROVIDER = GITHUB.provider

REACTIONS: dict[Reaction, str] = {
    "ran": "+1",
    "refused": "-1",
    "invalid": "confused",
    "limited": "eyes",
}
"""The command step's reactions as GitHub's reaction contents."""


class CachedParts(BaseModel):
    """The parts of a PR kept between evaluations (`bot.store.pull_parts`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[ChangedFile, ...]
    files_truncated: bool
    commits: tuple[Commit, ...]
    commits_truncated: bool
    reviews: tuple[Review, ...]
    read_at: datetime | None
    """GitHub's clock (`Date`) when the PR was read before these parts."""


def _github_date(headers: dict[str, str]) -> datetime | None:
    value = next((v for k, v in headers.items() if k.lower() == "date"), None)
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _pull_head(pr: PullRequest) -> PullHead:
    return PullHead(
        number=pr.number,
        base_ref=pr.base.ref,
        head_ref=pr.head.ref,
        head_sha=pr.head.sha,
        state=pr.state,
        merged=bool(pr.merged),
        updated_at=_aware(pr.updated_at).isoformat(),
        merge_sha=pr.merge_commit_sha if pr.merged else None,
        default_branch=_default_branch(pr),
    )


def _default_branch(pr: PullRequest) -> str | None:
    # From the PR's own JSON: asking `pr.base.repo` for a field it lacks would
    # cost a request.
    repo = pr.raw_data.get("base", {}).get("repo") or {}
    value = repo.get("default_branch")
    return value if isinstance(value, str) and value else None


class GitHubForge:
    """The configured GitHub App; opens evaluations. Safe to share between threads."""

    provider = PROVIDER

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        app: GitHubApp | None = None,
        retries: RetryPolicies | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.config = ClientConfig.from_settings(settings)
        self.retries = retries or RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
        self.clock = clock
        if app is None:
            if settings.github_app_id is None:
                raise ConfigurationError("GITHUB_APP_ID is missing.")
            credentials = AppCredentials(settings.github_app_id, settings.github_private_key_pem())
            app = GitHubApp(credentials, self.config, self.retries)
        self.app = app
        self.merge_methods = MergeMethods(settings.forge_cache_seconds, clock)

    @contextmanager
    def evaluation(self, key: WorkKey, access: ForgeAccess) -> Iterator[GitHubEvaluation]:
        """An evaluation of PR `key` through the App installation `access`."""
        installation_id = access
        if installation_id is None:
            raise ValueError(f"{key}: a GitHub evaluation needs the App installation's id")
        evaluation = GitHubEvaluation(self, key, installation_id)
        try:
            yield evaluation
        except BadCredentialsException:
            # A revoked token or a suspended installation: mint afresh next time.
            self.app.forget(installation_id)
            raise
        finally:
            evaluation.record_requests()


class GitHubEvaluation(EvaluationBase):
    """One evaluation of one PR (not shared between threads)."""

    provider = PROVIDER
    forge_name = GITHUB.name
    repository_noun = "repository"
    deploy_methods = frozenset(
        {ForgeDeployment.method, WorkflowRun.method, RepositoryEvent.method}
    )
    files_type = StoredFiles
    logger = log

    def __init__(self, forge: GitHubForge, key: WorkKey, installation_id: int) -> None:
        super().__init__(forge, key)
        self.forge: GitHubForge = forge
        self.installation_id = installation_id
        self._client: Github | None = None
        self._pull: PullRequest | None = None
        self._statuses: list[CommitStatus] | None = None
        self._bot_login: str | None = None
        self._followed: set[str] = set()

    # -- clients -------------------------------------------------------------

    @property
    def client(self) -> Github:
        if self._client is None:
            token = self.forge.app.token(self.installation_id, self.tally)
            self._client = installation_client(self.forge.config, token.value, self.tally)
        return self._client

    @property
    def repo(self) -> Repository:
        return self.client.get_repo(self.key.repo)

    @property
    def bot_login(self) -> str:
        if self._bot_login is None:
            self._bot_login = self.forge.app.bot_login(self.tally)
        return self._bot_login

    def _update_merges(self) -> UpdateMerges:
        return UpdateMerges(
            self.client, self.forge.store, PROVIDER, self.key.repo, self.forge.retries.read,
            self.forge.clock,
        )

    def _directory(self) -> DirectoryReader:
        return DirectoryReader(
            self.client,
            self.forge.store,
            self.forge.retries.read,
            ttl_seconds=self.forge.settings.directory_cache_seconds,
            clock=self.forge.clock,
        )

    # -- reads ---------------------------------------------------------------

    def pull(self) -> PullHead:
        """The PR's head and base (read once per evaluation)."""
        if self._head is None:
            pr = reads.read_pull(self.repo, self.key.number, self.forge.retries.read)
            self._pull = pr
            self._head = _pull_head(pr)
        return self._head

    def other_pull(self, number: int) -> PullHead:
        """Another PR of the same repository, as one read finds it (a merge group's members)."""
        return _pull_head(reads.read_pull(self.repo, number, self.forge.retries.read))

    def merge_group_contents(self, base_ref: str, base_sha: str, head_sha: str) -> GroupContents:
        """The PRs a merge group's commits belong to (see `merge_queue`)."""
        return group_contents(
            self.client.requester, self.key.repo, base_ref, base_sha, head_sha,
            self.forge.retries.read,
        )

    def _pull_object(self) -> PullRequest:
        self.pull()
        assert self._pull is not None
        return self._pull

    def policy_sources(self, ref: str | None = None) -> PolicySources:
        """The policy of the PR's base branch (or of branch `ref`), with the spec's
        fallbacks."""
        branch = ref or self.pull().base_ref
        files = self._branch_files(branch)
        sources = find_policy(
            files, self.key.repo, branch,
            self.forge.settings.default_policy,
            self.forge.settings.remote_policy_allowlist,
        )
        return at_commit(sources, files.kept_head(self.key.repo, branch))

    def _branch_files(self, branch: str) -> StoredFiles:
        """The file cache, told where `branch` is now (once per evaluation): files kept
        for another commit are read again, whether or not the push was delivered."""
        files = self._files()
        assert isinstance(files, StoredFiles)
        if branch not in self._followed:
            files.follow_branch(self.key.repo, branch)
            self._followed.add(branch)
        return files

    def default_branch(self) -> str:
        """From the PR read when it tells; else one read of the repository."""
        return self.pull().default_branch or self.repo.default_branch

    def pull_facts(self, needs: SnapshotNeeds, now: datetime) -> PullFacts:
        """The PR, its files, commits and reviews (kept in the store while the PR stays
        as it was), its comments and its checks when `needs` asks for them."""
        pr = self._pull_object()
        head = self.pull()
        read = self.forge.retries.read
        parts = self._parts(pr, needs)
        comments = reads.read_comments(pr, read) if needs.comments else ()
        checks: tuple[CheckResult, ...] = ()
        if needs.checks:
            runs = reads.read_check_runs(self.repo, head.head_sha, read, now)
            self._statuses = reads.read_statuses(self.repo, head.head_sha, read)
            checks = runs + reads.status_results(self._statuses)
        return PullFacts(
            title=pr.title or "",
            body=pr.body or "",
            author=reads.actor(pr.user),
            draft=bool(pr.draft),
            base_sha=pr.base.sha,
            labels=tuple(label.name for label in pr.labels),
            files=parts.files,
            files_truncated=parts.files_truncated,
            files_count=pr.changed_files,
            additions=pr.additions,
            deletions=pr.deletions,
            commits=parts.commits,
            commits_truncated=parts.commits_truncated,
            reviews=parts.reviews,
            comments=comments,
            checks=checks,
        )

    def codeowners(self, base_ref: str) -> str | None:
        return find_codeowners(self._branch_files(base_ref), self.key.repo, base_ref)

    def _parts(self, pr: PullRequest, needs: SnapshotNeeds) -> CachedParts:
        head = self.pull()
        read = self.forge.retries.read
        cached = self._cached_parts(head)
        if cached is not None:
            if needs.comments:
                # Review bodies count as comments there, and an edited body
                # need not move the PR's `updated_at`.
                cached = cached.model_copy(update={"reviews": reads.read_reviews(pr, read)})
            return cached
        files, files_truncated = reads.read_files(pr, read)
        commits, commits_truncated = reads.read_commits(pr, read, self.client.requester)
        commits = self._update_merges().mark(commits, commits_truncated)
        parts = CachedParts(
            files=files,
            files_truncated=files_truncated,
            commits=commits,
            commits_truncated=commits_truncated,
            reviews=reads.read_reviews(pr, read),
            read_at=_github_date(pr.raw_headers),
        )
        with self.forge.store.begin() as conn:
            pull_parts.put(
                conn,
                PROVIDER,
                self.key.repo,
                self.key.number,
                head.head_sha,
                head.updated_at,
                parts.model_dump_json(),
                self.forge.clock(),
            )
        return parts

    def _cached_parts(self, head: PullHead) -> CachedParts | None:
        with self.forge.store.begin() as conn:
            stored = pull_parts.get(conn, PROVIDER, self.key.repo, self.key.number)
        if (
            stored is None
            or stored.head_sha != head.head_sha
            or stored.updated_at != head.updated_at
        ):
            return None
        ttl = timedelta(seconds=self.forge.settings.forge_cache_seconds)
        if stored.fetched_at <= self.forge.clock() - ttl:
            return None
        try:
            parts = CachedParts.model_validate_json(stored.parts)
        except ValidationError:
            log.warning("%s: stored PR parts are unreadable; reading them again", self.key)
            return None
        # GitHub's timestamps have whole seconds: parts read in the very second
        # of `updated_at` may miss a change made later in that second.
        updated = datetime.fromisoformat(head.updated_at)
        if parts.read_at is None or parts.read_at.replace(microsecond=0) <= updated:
            return None
        return parts

    # -- writes --------------------------------------------------------------

    def _publish(
        self, decision: Decision, base_ref: str, details_url: str | None, *, on_head: bool
    ) -> PublishOutcome:
        """The status and check run, through the statuses this evaluation read of the
        PR's head when it is the decision's."""
        repo = self.repo
        read = self.forge.retries.read
        publisher = Publisher(repo, self.forge.store, self.key, self.forge.retries, self.bot_login)
        return publisher.publish(
            decision,
            base_ref,
            details_url,
            self.forge.clock(),
            self._statuses if on_head else None,
            lambda: reads.read_statuses(repo, decision.head_sha, read),
        )

    # -- merging ---------------------------------------------------------------

    @property
    def _merging(self) -> GitHubMerging:
        return GitHubMerging(self.client, self.key.repo, self.key.number, self.forge.retries)

    def merge_state(self) -> MergeState:
        """The PR read afresh (mergeability, head and base as GitHub sees them now)."""
        return merge_state(reads.read_pull(self.repo, self.key.number, self.forge.retries.read))

    def allowed_merge_methods(self) -> frozenset[str]:
        return self.forge.merge_methods.get(self.key.repo, self._merging.repository)

    def update_branch(self, expected_head_sha: str) -> str | None:
        return self._merging.update_branch(expected_head_sha)

    # -- comment commands --------------------------------------------------------

    def commenter(self, login: str, teams: Sequence[str]) -> Commenter:
        """What authorisation needs of `login`: role name and membership of `teams`,
        through the directory cache (one read per person and team at most)."""
        reader = self._directory()
        permission = reader.permissions(self.key.repo, [login]).get(login.lower(), "none")
        member_of = frozenset(t for t in teams if reader.team_members(t, [login]))
        return Commenter(
            login=login,
            permission=None if permission == "none" else permission,
            teams=member_of,
        )

    def react(self, comment_id: int, reaction: Reaction) -> None:
        """Put a reaction on a comment (answered 200 when it is there already)."""
        path = f"/repos/{self.key.repo}/issues/comments/{comment_id}/reactions"
        content = REACTIONS[reaction]

        def post() -> None:
            self.client.requester.requestJsonAndCheck("POST", path, input={"content": content})

        self.forge.retries.idempotent_write.call(post, what="POST reaction")

    # -- deploying ---------------------------------------------------------------

    @property
    def _deploying(self) -> GitHubDeploying:
        base = self._pull_object().base.repo
        page = getattr(base, "_html_url", None)
        repo_page = (
            str(page.value)
            if page is not None and page.value
            else f"{GITHUB.web_root(self.forge.settings)}/{self.key.repo}"
        )
        return GitHubDeploying(
            self.client, self.key.repo, self.forge.retries, repo_page,
            self.forge.clock().timestamp(),
        )

    def deployments_of(self, sha: str, environment: str) -> tuple[str, ...]:
        return self._deploying.deployments_of(sha, environment)

    def deploy(self, call: DeployCall) -> DeployAnswer:
        """A deployment, a workflow run or a repository dispatch, once."""
        deploying = self._deploying
        match call:
            case ForgeDeployment():
                return deploying.create_deployment(
                    call.sha, call.environment, call.description, call.payload
                )
            case WorkflowRun():
                return deploying.workflow_dispatch(
                    call.workflow, call.ref, call.inputs, call.idempotency_key
                )
            case RepositoryEvent():
                return deploying.repository_dispatch(
                    call.event_type, call.client_payload, call.idempotency_key
                )
        raise ValueError(f"GitHub takes no `{call.method}` deploys")

    def deploy_progress(self, method: str, reference: str) -> DeployProgress:
        """A deployment's or a workflow run's stage, read from the API."""
        if method == ForgeDeployment.method:
            return self._deploying.deployment_progress(reference)
        if method == WorkflowRun.method:
            return self._deploying.run_progress(reference)
        raise ValueError(f"GitHub cannot tell how a `{method}` deploy went")
