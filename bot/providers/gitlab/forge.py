"""The GitLab forge: one `GitLabEvaluation` per evaluation of one merge request.

A key names the project by its full path (`group/sub/project`) and the
merge request by its iid; GitLab has no App installations, so the
installation id is always None. One personal, project or group access
token (`GITLAB_TOKEN`) acts for the bot; its user's username
(`GET /user`, read once per forge) is the bot's login — its notes and
approvals never count, and its statuses are its own.

An evaluation reads as little as it can:

- the policy file, its fallbacks and CODEOWNERS come from the store's file
  cache until the target branch is pushed to (or the TTL passes) — a push
  seen as the merge request's diff moving to another target commit, not
  only as a push hook, which may be lost;
- the merge request and its approvals are read each time; its files and
  commits are kept in the store (`bot.providers.stored_parts`) until its
  head, its `updated_at` or its diff's target commit moves (an unchanged
  re-evaluation costs the merge request, its approvals and its statuses: 3
  requests). Approvals are never kept: GitLab drops one without touching
  the MR's `updated_at` and without a webhook (a reviewer's "request
  changes" removes their approval with no system note), so a stored list
  could keep a withdrawn approval counting; notes are read only when a
  comment can count, or when a commit of the merge request has no pusher the
  push hooks recorded (GitLab's "added N commits" system notes name the
  pusher; kept with the commits), commit statuses only when the policy asks
  about checks;
- directory facts come from the store's directory cache;
- push times, holds, overrides and tampering marks come from the store
  (`bot.providers.recorded`), as on GitHub: the snapshot is assembled as on
  every forge (`bot.providers.assembly`) from this evaluation's reads.

Every request is counted in the evaluation's tally, stored with the list of
requests when the evaluation ends (`bot.store.requests`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.authorize import Commenter
from bot.core.gate import Decision
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import ChangedFile, CheckResult, Commit
from bot.forges import GITLAB
from bot.keys import ForgeAccess, PullKey
from bot.providers import parallel, recorded, stored_parts
from bot.providers.assembly import ItemT, PullFacts
from bot.providers.base import (
    DeployAnswer,
    DeployCall,
    DeployProgress,
    MergeState,
    PipelineRun,
    PolicySources,
    PublishOutcome,
    PullHead,
    Reaction,
)
from bot.providers.counting import RequestTally
from bot.providers.evaluation import EvaluationBase
from bot.providers.gitlab import deploy
from bot.providers.gitlab import snapshot as reads
from bot.providers.gitlab.client import ClientConfig, GitLabClient, GitLabError, token_of
from bot.providers.gitlab.directory import DirectoryReader, UserIds
from bot.providers.gitlab.merge import GitLabMerging, MergeMethods, merge_state
from bot.providers.gitlab.policy_source import StoredFiles, find_codeowners, find_policy
from bot.providers.gitlab.publish import Publisher
from bot.providers.policy_chain import at_commit
from bot.providers.publishing import CONTEXT_PREFIX
from bot.retry import RetryPolicies
from bot.settings import Settings
from bot.store import Store, directory_cache, utcnow
from bot.store.commands import CommandComment

log = logging.getLogger(__name__)

PROVIDER = GITLAB.provider
OWN_STATUSES = f"{CONTEXT_PREFIX}:"
"""Status names the bot writes (`gatebot: <target>`): never counted as checks."""

EMOJI: dict[Reaction, str] = {
    "ran": "thumbsup",
    "refused": "thumbsdown",
    "invalid": "confused",
    "limited": "eyes",
}
"""The command step's reactions as GitLab's award emoji names."""


class NotThisProject(Exception):
    """The key names a merge request under a path GitLab does not spell that way.

    GitLab's API finds a project by its path case-insensitively, and through
    the redirect a renamed or transferred project leaves behind, so
    `ACME/App` or a project's old path reach the same merge request as
    `acme/app`. Everything the bot records (head history, holds, overrides,
    tampering marks, commands, verdicts) is keyed by the path: judged under a
    second spelling, a merge request would be judged without any of it. A
    delivery only says where to look; the project's own path, as GitLab says
    it now (`references.full`), is the one the bot acts under.
    """

    def __init__(self, key: PullKey, canonical: str | None) -> None:
        super().__init__(
            f"{key}: {key.repo} is not this merge request's project "
            f"(GitLab says {canonical or 'nothing'}): nothing is done under that path"
        )


class MergeRequestParts(BaseModel):
    """The parts of a merge request kept between evaluations (`bot.providers.stored_parts`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_sha: str
    """The target commit the diff was taken against: a new diff version moves it."""
    files: tuple[ChangedFile, ...]
    files_truncated: bool
    commits: tuple[Commit, ...]
    noted_pushers: tuple[str, ...] = ()
    """Who pushed these commits as GitLab's system notes say (`reads.pushers_of`): read
    only when a commit has no pusher the push hooks recorded."""


def _label(label: Any) -> str:
    return str(label.get("name")) if isinstance(label, Mapping) else str(label)


class GitLabForge:
    """The configured GitLab token; opens evaluations. Safe to share between threads."""

    provider = PROVIDER

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        retries: RetryPolicies | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        token_of(settings)  # a missing token is a configuration error, said at once
        self.settings = settings
        self.store = store
        self.config = ClientConfig.from_settings(settings)
        self.retries = retries or RetryPolicies.build(max_wait=settings.retry_max_wait_seconds)
        self.clock = clock
        self.merge_methods = MergeMethods(settings.forge_cache_seconds, clock)
        self.user_ids = UserIds()
        self._lock = threading.Lock()
        self._bot_username: str | None = None

    def __repr__(self) -> str:
        return f"GitLabForge({self.config.url})"

    def client(self, tally: RequestTally) -> GitLabClient:
        """A client counting its requests in `tally`."""
        return GitLabClient(self.config, token_of(self.settings), tally)

    def bot_username(self, tally: RequestTally | None = None) -> str:
        """The token user's username (`GET /user`, once per forge)."""
        with self._lock:
            if self._bot_username is not None:
                return self._bot_username
        client = self.client(tally if tally is not None else RequestTally())
        user = self.retries.read.call(lambda: client.json("get", "/user"), what="GET user")
        username = str(user["username"])
        with self._lock:
            self._bot_username = username
        return username

    @contextmanager
    def evaluation(self, key: PullKey, access: ForgeAccess) -> Iterator[GitLabEvaluation]:
        """An evaluation of merge request `key.number` of project `key.repo` (the token
        acts for the bot everywhere: `access` names nothing on GitLab)."""
        evaluation = GitLabEvaluation(self, key)
        try:
            yield evaluation
        finally:
            evaluation.record_requests()


class GitLabEvaluation(EvaluationBase):
    """One evaluation of one merge request (not shared between threads)."""

    provider = PROVIDER
    forge_name = GITLAB.name
    repository_noun = "project"
    deploy_methods = frozenset({PipelineRun.method})
    files_type = StoredFiles
    logger = log

    def __init__(self, forge: GitLabForge, key: PullKey) -> None:
        super().__init__(forge, key)
        self.forge: GitLabForge = forge
        self._client: GitLabClient | None = None
        self._mr: Mapping[str, Any] | None = None
        self._fresh: MergeState | None = None
        self._default_branch: str | None = None
        self._statuses: list[dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"GitLabEvaluation({self.key})"

    # -- clients -------------------------------------------------------------

    @property
    def client(self) -> GitLabClient:
        if self._client is None:
            self._client = self.forge.client(self.tally)
        return self._client

    @property
    def bot_login(self) -> str:
        return self.forge.bot_username(self.tally)

    def _directory(self) -> DirectoryReader:
        return DirectoryReader(
            self.client,
            self.forge.store,
            self.forge.retries.read,
            self.forge.user_ids,
            ttl_seconds=self.forge.settings.directory_cache_seconds,
            clock=self.forge.clock,
        )

    # -- reads ---------------------------------------------------------------

    def pull(self) -> PullHead:
        """The merge request's head and target (read once per evaluation).

        Raises `NotThisProject` when GitLab keeps the merge request under
        another path than the key's (see `NotThisProject`)."""
        if self._head is None:
            mr = reads.read_merge_request(
                self.client, self.key.repo, self.key.number, self.forge.retries.read
            )
            canonical = reads.project_path_of(mr)
            if canonical != self.key.repo:
                raise NotThisProject(self.key, canonical)
            self._mr = mr
            self._head = reads.pull_head(mr)
        return self._head

    def _merge_request(self) -> Mapping[str, Any]:
        self.pull()
        assert self._mr is not None
        return self._mr

    def policy_sources(self, ref: str | None = None) -> PolicySources:
        """The policy of the target branch's head (or of branch `ref`), with the spec's
        fallbacks."""
        branch = ref or self.pull().base_ref
        files = self._target_files()
        sources = find_policy(
            files, self.key.repo, branch,
            self.forge.settings.default_policy,
            self.forge.settings.remote_policy_allowlist,
        )
        # Only the target branch's commit is known (from the merge request's diff).
        commit = files.kept_head(self.key.repo, branch) if branch == self.pull().base_ref else None
        return at_commit(sources, commit)

    def _target_files(self) -> StoredFiles:
        """The file cache, told the target's commit the merge request's diff names
        (GitLab moves it when the target is pushed to): files kept for another commit
        are read again, whether or not the push hook arrived."""
        files = self._files()
        files.follow(self.key.repo, self.pull().base_ref, reads.base_sha_of(self._merge_request()))
        return files

    def default_branch(self) -> str:
        """The project's default branch: one read of the project (the merge request
        does not name it)."""
        if self._default_branch is None:
            self._default_branch = str(self._merging.project_settings()["default_branch"])
        return self._default_branch

    def pull_facts(self, needs: SnapshotNeeds, now: datetime) -> PullFacts:
        """The merge request, its files and commits (kept in the store while it stays as
        it was), its approvals, its notes and statuses when `needs` asks for them."""
        mr = self._merge_request()
        head = self.pull()
        client, repo, read = self.client, self.key.repo, self.forge.retries.read
        notes = reads.MergeRequestNotes(client, repo, head.number, read)

        def read_checks() -> tuple[CheckResult, ...]:
            if not needs.checks:
                return ()
            self._statuses = reads.read_statuses(client, repo, head.head_sha, read)
            return reads.check_results(self._statuses, OWN_STATUSES, now)

        # All known from the merge request read: sent together, one round trip.
        parts, reviews, comments, checks = parallel.gather(
            lambda: self._parts(mr, notes),
            # Read every time, never stored: see the module's note on approvals.
            lambda: reads.read_reviews(client, repo, mr, read),
            lambda: reads.comments_of(notes()) if needs.comments else (),
            read_checks,
        )
        count, capped = reads.changes_count(mr)
        return PullFacts(
            title=str(mr.get("title") or ""),
            body=str(mr.get("description") or ""),
            author=reads.actor(mr.get("author")),
            draft=bool(mr.get("draft") or mr.get("work_in_progress")),
            base_sha=reads.base_sha_of(mr),
            labels=tuple(_label(label) for label in mr.get("labels") or ()),
            files=parts.files,
            files_truncated=parts.files_truncated,
            files_count=None if capped else count,
            commits=parts.commits,
            reviews=reviews,
            comments=comments,
            checks=checks,
            pushers=parts.noted_pushers,
        )

    def codeowners(self, base_ref: str) -> str | None:
        return find_codeowners(self._target_files(), self.key.repo, base_ref)

    def with_bots(self, items: tuple[ItemT, ...]) -> tuple[ItemT, ...]:
        """Approvals or notes, their authors marked bots as GitLab's user API says: a
        service account's username follows no pattern, and bots never count."""
        reader = self._directory()
        return tuple(
            item.model_copy(update={"author": item.author.model_copy(update={"is_bot": True})})
            if not item.author.is_bot and item.author.login != reads.GHOST
            and reader.is_bot(item.author.login)
            else item
            for item in items
        )

    def _parts(
        self, mr: Mapping[str, Any], notes: reads.MergeRequestNotes
    ) -> MergeRequestParts:
        """Files, commits and their pushers GitLab's notes name: stored for the head and
        `updated_at` the merge request read shows, read again only when one of them
        moved, or the target's commit did."""
        head = self.pull()
        client, repo, read = self.client, self.key.repo, self.forge.retries.read

        def fresh() -> MergeRequestParts:
            (files, files_truncated), raw_commits = parallel.gather(
                lambda: reads.read_files(client, repo, mr, read),
                lambda: reads.read_raw_commits(client, repo, head.number, read),
            )
            commits = reads.commits_of(raw_commits)
            shas = {c.sha for c in commits} | {head.head_sha}
            # A push whose hooks were lost left no pusher: GitLab's own notes name them.
            noted = (
                reads.pushers_of(notes(), shas)
                if recorded.unpushed(self.forge.store, self.key, shas)
                else ()
            )
            return MergeRequestParts(
                base_sha=reads.base_sha_of(mr),
                files=files,
                files_truncated=files_truncated,
                commits=commits,
                noted_pushers=noted,
            )

        ttl, clock = self.forge.settings.forge_cache_seconds, self.forge.clock
        found = stored_parts.load(self.forge.store, self.key, head, MergeRequestParts,
                                  ttl_seconds=ttl, now=clock())
        if found is not None and found.base_sha == reads.base_sha_of(mr):
            return found
        parts = fresh()
        stored_parts.save(self.forge.store, self.key, head, parts, clock())
        return parts

    # -- writes --------------------------------------------------------------

    def _publish(
        self, decision: Decision, base_ref: str, details_url: str | None, *, on_head: bool
    ) -> PublishOutcome:
        """The commit status, naming the source branch and reusing the statuses this
        evaluation read when the decision is on the merge request's head."""
        client, repo, read = self.client, self.key.repo, self.forge.retries.read
        publisher = Publisher(
            client, self.forge.store, self.key, self.forge.retries, self.bot_login
        )
        return publisher.publish(
            decision,
            base_ref,
            self.pull().head_ref if on_head else None,
            details_url,
            self.forge.clock(),
            self._statuses if on_head else None,
            lambda: reads.read_statuses(client, repo, decision.head_sha, read),
        )

    # -- merging ---------------------------------------------------------------

    @property
    def _merging(self) -> GitLabMerging:
        return GitLabMerging(self.client, self.key.repo, self.key.number, self.forge.retries)

    def merge_state(self) -> MergeState:
        """The merge request read afresh (mergeability, head and target as GitLab sees them)."""
        self._fresh = merge_state(self._merging.read())
        return self._fresh

    def allowed_merge_methods(self) -> frozenset[str]:
        return self.forge.merge_methods.get(self.key.repo, self._merging.project_settings)

    def update_branch(self, expected_head_sha: str) -> str | None:
        """Rebase the source branch onto the target (GitLab's rebase takes no expected
        head: the last fresh read of this evaluation must show `expected_head_sha`)."""
        seen = self._fresh.head_sha if self._fresh is not None else self.pull().head_sha
        if seen != expected_head_sha:
            return f"the head moved to {seen[:12]}"
        return self._merging.update_branch()

    # -- comment commands --------------------------------------------------------

    def confirmed_comment(self, comment: CommandComment) -> CommandComment | None:
        """The note re-read from GitLab (`GET .../notes/:id`): a hook's secret is known
        to the project's maintainers, so a delivery only says where to look. The note
        must exist on this merge request, be a person's public note, and have the
        author, text and time the delivery gave; then the API's values are used."""
        path = f"{reads.mr_path(self.key.repo, self.key.number)}/notes/{comment.comment_id}"
        try:
            note = self.forge.retries.read.call(
                lambda: self.client.json("get", path), what="GET merge request note"
            )
        except GitLabError as exc:
            if exc.status != 404:
                raise
            note = None
        found = reads.confirmed_note(note, comment.author, comment.body, comment.created_at)
        if isinstance(found, str):
            log.info("%s: note %d grants nothing: %s", self.key, comment.comment_id, found)
            return None
        author, body, created_at = found
        return replace(comment, author=author, body=body, created_at=created_at)

    def commenter(self, login: str, teams: Sequence[str]) -> Commenter:
        """What authorisation needs of `login`: role name and membership of the group
        paths `teams`, through the directory cache (one read per person and group at most)."""
        reader = self._directory()
        permission = reader.permissions(self.key.repo, [login]).get(login.lower(), "none")
        member_of = frozenset(
            team for team in teams if reader.group_members(directory_cache.TEAM, team, [login])
        )
        is_bot = (
            reads.actor({"username": login}).is_bot
            or login.lower() == self.bot_login.lower()
            or reader.is_bot(login)
        )
        return Commenter(
            login=login,
            permission=None if permission == "none" else permission,
            teams=member_of,
            is_bot=is_bot,
        )

    def react(self, comment_id: int, reaction: Reaction) -> None:
        """Award an emoji on a note of the merge request; one already given is fine."""
        name = EMOJI[reaction]
        path = f"{reads.mr_path(self.key.repo, self.key.number)}/notes/{comment_id}/award_emoji"

        def post() -> None:
            self.client.request("post", path, body={"name": name})

        try:
            self.forge.retries.idempotent_write.call(post, what="POST award emoji")
        except GitLabError as exc:
            # GitLab answers a repeated award with 404 "... has already been taken".
            if "already" not in exc.text.lower():
                raise

    # -- deploying ---------------------------------------------------------------

    def deployments_of(self, sha: str, environment: str) -> tuple[str, ...]:
        """GitHub deployments: a GitLab project has none the bot made."""
        return ()

    def deploy(self, call: DeployCall) -> DeployAnswer:
        """Run the project's pipeline on the branch or tag `call.ref`; never repeated
        blindly."""
        if not isinstance(call, PipelineRun):
            raise ValueError(f"GitLab takes no `{call.method}` deploys")
        return deploy.create_pipeline(
            self.client,
            self.key.repo,
            call.ref,
            call.variables,
            self.forge.retries,
            self.forge.clock().timestamp(),
        )

    def deploy_progress(self, method: str, reference: str) -> DeployProgress:
        """A pipeline's stage, read from the API."""
        if method != PipelineRun.method:
            raise ValueError(f"GitLab cannot tell how a `{method}` deploy went")
        return deploy.pipeline_progress(self.client, self.key.repo, reference, self.forge.retries)
