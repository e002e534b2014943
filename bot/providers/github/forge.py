"""The GitHub forge: one `GitHubEvaluation` per evaluation of one PR.

An evaluation reads as little as it can:

- the installation token and the App's login come from `GitHubApp`'s caches;
- the PR with its labels, files, commits, reviews, comments and the checks
  and statuses of its head come from one GraphQL query (`graphql_reads`),
  read afresh every evaluation — whatever grants approval is read from
  GitHub, never kept — with a REST read only for what the query cannot
  tell: a renamed file's old path, a bot's commits, the commits of a PR
  longer than 250, and checks when the head moved between GitHub's reads;
- the policy file, its fallbacks and CODEOWNERS come from the store's file
  cache until the base branch is pushed to (`invalidation.on_push`) — a
  push seen by one conditional read of the branch's head per evaluation
  (`StoredFiles.follow_branch`), not only as a push delivery, which may be
  lost. When the store knows the PR's base branch from its deliveries, that
  read goes out beside the query, not after it; a PR found retargeted
  has its real base branch followed afterwards;
- directory facts come from the store's directory cache;
- whether a merge commit is an update merge is judged once per merge SHA
  (`update_merges`) and kept in the store.

Every request is counted in the evaluation's tally, stored with the list of
requests when the evaluation ends (`bot.store.requests`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from github import BadCredentialsException, Github
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.core.authorize import Commenter
from bot.core.gate import Decision
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import CheckResult, Comment
from bot.forges import GITHUB
from bot.keys import ForgeAccess, WorkKey
from bot.providers import parallel
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
from bot.providers.github import graphql_reads
from bot.providers.github import snapshot as reads
from bot.providers.github.auth import AppCredentials, GitHubApp
from bot.providers.github.client import ClientConfig, installation_client
from bot.providers.github.deploy import GitHubDeploying
from bot.providers.github.directory import DirectoryReader
from bot.providers.github.graphql_reads import PullRead
from bot.providers.github.merge import GitHubMerging, MergeMethods, merge_state
from bot.providers.github.merge_queue import GroupContents, group_contents
from bot.providers.github.policy_source import StoredFiles, find_codeowners, find_policy
from bot.providers.github.publish import Publisher, ShownStatus, shown_statuses
from bot.providers.github.update_merges import UpdateMerges
from bot.providers.policy_chain import at_commit
from bot.retry import RetryPolicies
from bot.settings import ConfigurationError, Settings
from bot.store import Store, pulls, utcnow

log = logging.getLogger(__name__)

PROVIDER = GITHUB.provider

REACTIONS: dict[Reaction, str] = {
    "ran": "+1",
    "refused": "-1",
    "invalid": "confused",
    "limited": "eyes",
}
"""The command step's reactions as GitHub's reaction contents."""


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
        self._query_client: Github | None = None
        self._token_value: str | None = None
        self._read: PullRead | None = None
        self._statuses: Sequence[ShownStatus] | None = None
        self._bot_login: str | None = None
        self._followed: dict[str, BaseException | None] = {}
        """Base branches followed this evaluation, with the error their read ended in."""

    # -- clients -------------------------------------------------------------

    @property
    def _token(self) -> str:
        """The installation token, asked for once per evaluation (both clients use it)."""
        if self._token_value is None:
            self._token_value = self.forge.app.token(self.installation_id, self.tally).value
        return self._token_value

    @property
    def client(self) -> Github:
        if self._client is None:
            self._client = installation_client(self.forge.config, self._token, self.tally)
        return self._client

    @property
    def query_client(self) -> Github:
        """A client for GraphQL queries only. PyGithub paces every POST as a write
        (`GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES`, a second by default), and a query is a
        POST: on the writing client the verdict's status would wait a second behind
        the query that read the PR. GitHub asks that pause of writes (mutations), not
        of queries, so this client keeps only the pause between requests."""
        if self._query_client is None:
            reading = dataclasses.replace(self.forge.config, seconds_between_writes=0.0)
            self._query_client = installation_client(reading, self._token, self.tally)
        return self._query_client

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
        """The PR's head and base, read with everything else of it in one query (once per
        evaluation)."""
        return self._pull_read().head

    def _pull_read(self) -> PullRead:
        if self._read is None:
            # Both clients before the reads below go out together (the branch read uses
            # the writing one).
            _ = self.client
            client = self.query_client
            known_base = self._known_base()

            def query() -> PullRead:
                return graphql_reads.read_pull(
                    client.requester, self.key.repo, self.key.number,
                    self.forge.retries.read, self.forge.clock(),
                )

            if known_base is None:
                read = query()
            else:
                # Where the base branch is, asked beside the query rather than after it.
                read, self._followed[known_base] = parallel.gather(
                    query, lambda: self._follow_kept(known_base)
                )
            self._read = read
            self._head = read.head
            self._statuses = read.statuses
        return self._read

    def _known_base(self) -> str | None:
        """The PR's base branch as its last delivery named it (None: not heard of)."""
        with self.forge.store.begin() as conn:
            known = pulls.get(conn, PROVIDER, self.key.repo, self.key.number)
        return known.base_ref if known is not None else None

    def other_pull(self, number: int) -> PullHead:
        """Another PR of the same repository, as one read finds it (a merge group's members)."""
        return _pull_head(reads.read_pull(self.repo, number, self.forge.retries.read))

    def merge_group_contents(self, base_ref: str, base_sha: str, head_sha: str) -> GroupContents:
        """The PRs a merge group's commits belong to (see `merge_queue`)."""
        return group_contents(
            self.client.requester, self.key.repo, base_ref, base_sha, head_sha,
            self.forge.retries.read,
        )

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
        if branch not in self._followed:
            self._followed[branch] = None
            self._follow(branch)
        failed = self._followed[branch]
        if failed is not None:
            raise failed
        return self._stored_files()

    def _stored_files(self) -> StoredFiles:
        files = self._files()
        assert isinstance(files, StoredFiles)
        return files

    def _follow_kept(self, branch: str) -> Exception | None:
        """`_follow(branch)`, its error kept rather than raised: the branch read
        beside the query may be one the PR has left (retargeted), and fails the
        evaluation only when its files are used (`_branch_files`)."""
        try:
            self._follow(branch)
        except Exception as exc:  # noqa: BLE001 -- raised where the files are used
            return exc
        return None

    def _follow(self, branch: str) -> None:
        self._stored_files().follow_branch(self.key.repo, branch)

    def default_branch(self) -> str:
        """From the PR read when it tells; else one read of the repository."""
        return self.pull().default_branch or self.repo.default_branch

    def pull_facts(self, needs: SnapshotNeeds, now: datetime) -> PullFacts:
        """The PR as the query read it, with REST reads where the query cannot tell
        (`graphql_reads`): a renamed file's old path, a bot's commits, the commits of a
        PR past 250, checks when the head moved. Comments and checks go to the
        snapshot when `needs` asks for them."""
        read = self._pull_read()
        head = read.head
        retry = self.forge.retries.read
        lazy = self.repo.get_pull(self.key.number)  # a path for the REST lists, no request
        files, files_truncated = read.files, read.files_truncated
        if read.files_need_rest:
            files, files_truncated = reads.read_files(lazy, retry, read.files_count)
        commits, commits_truncated = read.commits, read.commits_total > len(read.commits)
        if read.commits_unmapped or read.commits_total > reads.COMMITS_LIMIT:
            commits, commits_truncated = reads.read_commits(
                lazy, retry, self.client.requester,
                reads.CommitRange(self.key.repo, read.commits_total, read.base_sha, head.head_sha),
            )
        commits = self._update_merges().mark(commits, commits_truncated)
        checks: tuple[CheckResult, ...] = ()
        if needs.checks:
            checks = read.checks if read.checks is not None else self._rest_checks(now)
        return PullFacts(
            title=read.title,
            body=read.body,
            author=read.author,
            draft=read.draft,
            base_sha=read.base_sha,
            labels=read.labels,
            files=files,
            files_truncated=files_truncated,
            files_count=read.files_count,
            additions=read.additions,
            deletions=read.deletions,
            commits=commits,
            commits_truncated=commits_truncated,
            reviews=read.reviews,
            comments=self._comments(read) if needs.comments else (),
            checks=checks,
        )

    def _comments(self, read: PullRead) -> tuple[Comment, ...]:
        """Every comment: the query's first page, and the rest only now that the policy
        counts them."""
        if read.comments_after is None:
            return read.comments
        return read.comments + graphql_reads.more_comments(
            self.query_client.requester, self.key.repo, self.key.number,
            self.forge.retries.read, read.comments_after,
        )

    def _rest_checks(self, now: datetime) -> tuple[CheckResult, ...]:
        """The head's check runs and statuses through REST (the query's were another
        commit's, or did not fit its pages)."""
        head_sha, read = self.pull().head_sha, self.forge.retries.read
        runs = reads.read_check_runs(self.repo, head_sha, read, now)
        statuses = reads.read_statuses(self.repo, head_sha, read)
        self._statuses = shown_statuses(statuses)
        return runs + reads.status_results(statuses)

    def codeowners(self, base_ref: str) -> str | None:
        return find_codeowners(self._branch_files(base_ref), self.key.repo, base_ref)

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
            lambda: shown_statuses(reads.read_statuses(repo, decision.head_sha, read)),
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
        repo_page = (
            self._pull_read().repository_page
            or f"{GITHUB.web_root(self.forge.settings)}/{self.key.repo}"
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
