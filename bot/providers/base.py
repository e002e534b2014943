"""What the worker may ask of a forge, whichever forge it is, in the core's words.

One evaluation of one PR opens a `ForgeEvaluation` (`Forge.evaluation(key,
access)`; `access` is opaque to the pipeline: GitHub's installation id). It
is the combination of five small protocols, each what one step needs:

1. `Reading` — `pull()` (the PR's head, base branch and state; one read),
   `policy_sources()` (the policy text that governs the PR, from the head of
   its base branch, with the forge's fallbacks resolved: `remote:` pointers
   followed one level deep), `default_branch()`, `file_at()`, and
   `snapshot(needs)` (the frozen `Snapshot` the core evaluates, reading only
   what the policy needs: `bot.core.policy.needs`);
2. `Publishing` — `publish(decision)` and `publish_commit(...)`: the status
   (and check run), unless the same verdict is already posted;
3. `Merging` — when the gate lets the PR be merged, the merge primitives
   (`merge_state`, `allowed_merge_methods`, `merge`, `update_branch`,
   `delete_branch`, `open_pulls_into`), driven by `bot.pipeline.merge`,
   which owns the intents, the lock and the feedback;
4. `Conversing` — for comment commands (`bot.pipeline.commands`) and the
   steps' feedback: `confirmed_comment` (the comment as the API shows it,
   before it grants anything), `bot_login` (the bot may be @mentioned),
   `commenter` (role and teams, for authorisation), `react` (a `Reaction`:
   ran / refused / invalid / limited, shown as the forge's own emoji) and
   `comment`;
5. `Deploying` — after a merge: the `deploy_methods` the forge takes and
   `deploy(call)` for one `DeployCall` of those (`deployments_of` to look a
   lost deployment up), driven by `bot.pipeline.deploy`, which owns the
   deploy intents and refuses a method the forge does not take.

Each evaluation counts its HTTP requests (`tally`) and stores the count when
it closes. Nothing here names a client library: the GitHub and GitLab
adapters implement these protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, Protocol

from bot.core.authorize import Commenter
from bot.core.gate import Decision
from bot.core.policy.needs import SnapshotNeeds
from bot.core.snapshot import Directory, Snapshot
from bot.keys import ForgeAccess, PullKey
from bot.providers.counting import RequestTally
from bot.store.commands import CommandComment

PolicyOrigin = Literal["repository", "owner", "remote", "operator"]


@dataclass(frozen=True)
class PullHead:
    """The PR as the first read of an evaluation finds it."""

    number: int
    base_ref: str
    head_ref: str
    head_sha: str
    state: str
    """`open` or `closed`."""
    merged: bool
    updated_at: str
    """The forge's own timestamp, verbatim: compared, never parsed."""
    merge_sha: str | None = None
    """The merge commit's SHA once merged."""
    default_branch: str | None = None
    """The repository's default branch, when the PR read tells it (GitHub's does)."""


@dataclass(frozen=True)
class PolicyText:
    """A policy file's text and where it came from."""

    origin: PolicyOrigin
    location: str
    """Where it was read, for people: `acme/api:.github/gatebot.yml@main`."""
    filename: str
    """The name its problems cite (a path, or the operator's file name)."""
    text: str
    commit: str | None = None
    """The commit a repository's own file was read at (its base branch's head), when the
    forge told it."""


class FileTooLarge(Exception):
    """A file the bot reads (policy, CODEOWNERS) is too large to be read through the API.

    Raised from the size the forge reports, before any content is decoded.
    """

    def __init__(self, path: str, size: int) -> None:
        super().__init__(f"{path} is {size:,} bytes, too large to read")
        self.path = path
        self.size = size


@dataclass(frozen=True)
class PolicySources:
    """The policy that governs a PR, or why there is none."""

    policy: PolicyText | None
    """The text to load; None when no file exists anywhere (the bot stays silent
    unless the operator's required policy applies)."""
    pointer: PolicyText | None = None
    """The file holding the `remote:` line that led to `policy`, if any."""
    error: str | None = None
    """A sentence saying why the policy cannot be read (a missing remote, a remote
    pointing at another remote); the gate reports it as an error."""
    error_file: str | None = None
    """The file the error is about."""


@dataclass(frozen=True)
class PublishOutcome:
    """What `publish` wrote to the forge."""

    context: str
    """The status context and check run name, `gatebot: <base>`."""
    status_posted: bool
    check_run_posted: bool
    check_run_id: int | None
    unchanged: bool
    """Nothing was written: the same verdict was already posted for this head."""
    overwrote: tuple[str, ...] = ()
    """Accounts whose status under the bot's context was overwritten."""
    silent: bool = False
    """No policy applies to the repository: nothing is posted at all."""


@dataclass(frozen=True)
class MergeState:
    """The PR as a fresh read finds it right before (or after) a merge call."""

    number: int
    state: str
    """`open` or `closed`."""
    merged: bool
    merge_sha: str | None
    """The merge commit's SHA once merged."""
    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str
    mergeable: bool | None
    """None while the forge is still computing it."""
    mergeable_state: str
    """`clean`, `behind`, `blocked`, `dirty`, `unknown`..."""
    from_fork: bool
    title: str
    body: str
    author: str


MergeAnswerKind = Literal["merged", "head_moved", "refused", "unknown"]


@dataclass(frozen=True)
class MergeAnswer:
    """How the forge answered one merge call.

    `unknown` (a 5xx, a timeout, a dropped connection) means the merge may
    or may not have happened: the caller re-reads the PR before anything else.
    """

    kind: MergeAnswerKind
    merge_sha: str | None = None
    message: str = ""
    status: int | None = None


DeployAnswerKind = Literal["created", "refused", "unsent", "unknown"]


@dataclass(frozen=True)
class DeployAnswer:
    """How a deploy target answered one call.

    `unsent` means the target certainly did not act (a rate limit, a
    connection never opened): a later run may send it. `unknown` (a 5xx, a
    timeout, a dropped connection) means the deployment may or may not exist:
    it is never sent again blindly.
    """

    kind: DeployAnswerKind
    link: str | None = None
    """Where people can follow it (a deployment's page, a workflow's runs)."""
    message: str = ""
    """Why it failed, free of URLs and secrets."""
    reference: str | None = None
    """The target's own id of what it started (a deployment id, a run id, a queue
    item), kept with the intent so the deployment can be followed to its end."""


DeployStage = Literal["running", "succeeded", "failed"]
"""Where a started deployment stands: still going, or ended one way or the other."""


@dataclass(frozen=True)
class DeployProgress:
    """What a target (or the forge) says of a deployment it started, when asked or when
    it reports back: its stage, where to follow it, and why it failed (free of URLs and
    secrets)."""

    stage: DeployStage
    link: str | None = None
    message: str = ""


Reaction = Literal["ran", "refused", "invalid", "limited"]
"""How the bot answers a command comment at a glance, in the command step's words: the
command ran, was refused, was not understood, or was seen but rate-limited. Each forge
shows it as its own emoji (`+1`, `-1`, `confused`, `eyes` on GitHub)."""

@dataclass(frozen=True)
class ForgeDeployment:
    """A deployment record of `sha` to `environment`, merging nothing."""

    method: ClassVar[str] = "github_deployment"
    forge: ClassVar[str] = "GitHub"
    sha: str
    environment: str
    description: str | None
    payload: dict[str, str]


@dataclass(frozen=True)
class WorkflowRun:
    """A workflow run on the branch or tag `ref`; never repeated blindly."""

    method: ClassVar[str] = "workflow_dispatch"
    forge: ClassVar[str] = "GitHub"
    workflow: str
    ref: str
    inputs: dict[str, str]
    idempotency_key: str


@dataclass(frozen=True)
class RepositoryEvent:
    """A repository dispatch event; never repeated blindly."""

    method: ClassVar[str] = "repository_dispatch"
    forge: ClassVar[str] = "GitHub"
    event_type: str
    client_payload: dict[str, str]
    idempotency_key: str


@dataclass(frozen=True)
class PipelineRun:
    """A CI pipeline on the branch or tag `ref`; never repeated blindly."""

    method: ClassVar[str] = "gitlab_pipeline"
    forge: ClassVar[str] = "GitLab"
    ref: str
    variables: dict[str, str]


DeployCall = ForgeDeployment | WorkflowRun | RepositoryEvent | PipelineRun
"""One call a policy's `deploy` entry makes; `method` is the entry's `via` name."""


class Reading(Protocol):
    """The PR's parts, each read at most once per evaluation."""

    key: PullKey
    tally: RequestTally

    def pull(self) -> PullHead: ...

    def policy_sources(self, ref: str | None = None) -> PolicySources:
        """The policy governing PRs into `ref` (default: this PR's base branch)."""
        ...

    def default_branch(self) -> str:
        """The repository's default branch, whose policy declares the deploys."""
        ...

    def file_at(self, path: str, ref: str) -> str | None:
        """The text of `path` at `ref` (e.g. the PR's own policy file at its head)."""
        ...

    def snapshot(self, needs: SnapshotNeeds) -> Snapshot: ...

    def people_directory(
        self, people: Sequence[str], teams: Sequence[str], organizations: Sequence[str]
    ) -> Directory:
        """Directory facts (roles, teams, organisations) of `people`, beyond those a
        snapshot names (`gatebot simulate --as-approved-by`)."""
        ...


class Publishing(Protocol):
    """The verdict, written only when it changed."""

    def publish(self, decision: Decision, *, details_url: str | None) -> PublishOutcome: ...

    def publish_commit(
        self, decision: Decision, base_ref: str, *, details_url: str | None
    ) -> PublishOutcome:
        """Post a decision on a commit that is not (or no longer) the PR's head, under
        `base_ref`'s context, "post only on change" included."""
        ...


class Merging(Protocol):
    """The merge primitives `bot.pipeline.merge` drives."""

    def merge_state(self) -> MergeState:
        """A fresh read of the PR (never the evaluation's first read)."""
        ...

    def allowed_merge_methods(self) -> frozenset[str]:
        """The merge methods the repository allows (cached by the forge)."""
        ...

    def commit_messages(self) -> tuple[str, ...]:
        """The PR's commit messages, oldest first."""
        ...

    def merge(
        self, sha: str, method: str, title: str | None, message: str | None
    ) -> MergeAnswer:
        """One merge call for exactly `sha`; never retried after an answer that may
        hide a merge."""
        ...

    def update_branch(self, expected_head_sha: str) -> str | None:
        """Bring the base into the head branch; None when accepted, else why not."""
        ...

    def delete_branch(self, ref: str) -> bool:
        """Delete the head branch `ref`; False if it was already gone."""
        ...

    def open_pulls_into(self, branch: str) -> tuple[int, ...]:
        """Open PRs of the repository whose base is `branch`."""
        ...


class Conversing(Protocol):
    """The bot's side of a PR's conversation: comment commands and their answers."""

    @property
    def bot_login(self) -> str:
        """The bot's own login (`<app-slug>[bot]` on GitHub): commands may @mention it."""
        ...

    def confirmed_comment(self, comment: CommandComment) -> CommandComment | None:
        """The comment as the forge's API shows it now, when that is the comment the
        delivery described; None when it does not exist, is not a person's comment or
        differs (a forged or edited delivery): then it grants nothing."""
        ...

    def commenter(self, login: str, teams: Sequence[str]) -> Commenter:
        """The commenter's repository role and which of `teams` they belong to."""
        ...

    def react(self, comment_id: int, reaction: Reaction) -> None:
        """Show `reaction` on a comment of the PR (once: a second one is no error)."""
        ...

    def comment(self, body: str) -> int:
        """Write a comment on the PR; its id."""
        ...

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Rewrite the bot's own comment `comment_id` on the PR (a deployment's, as it
        moves from started to its end)."""
        ...


class Deploying(Protocol):
    """The deploy calls this forge takes; `bot.pipeline.deploy` owns the intents."""

    forge_name: str
    """The forge as people name it (`GitLab`)."""
    repository_noun: str
    """What the forge calls a repository (`project`)."""
    deploy_methods: frozenset[str]
    """The `DeployCall` methods this forge takes; the deploy step refuses the others
    without sending anything."""

    def deploy(self, call: DeployCall) -> DeployAnswer:
        """Make `call` (one of `deploy_methods`), once."""
        ...

    def deployments_of(self, sha: str, environment: str) -> tuple[str, ...]:
        """Links of the forge deployments already made of `sha` to `environment`
        (asked after a `github_deployment` whose answer was lost)."""
        ...

    def deploy_progress(self, method: str, reference: str) -> DeployProgress:
        """Where the deployment `reference` (the id the forge gave when `method` created
        it) stands, read from the forge: an event about it is only a hint."""
        ...


class ForgeEvaluation(Reading, Publishing, Merging, Conversing, Deploying, Protocol):
    """One evaluation of one PR: reads, then at most one publication, and what the
    merge, deploy and command steps do with it."""


class Forge(Protocol):
    """A configured forge (one GitHub App, one GitLab token)."""

    provider: str
    clock: Callable[[], datetime]

    def evaluation(
        self, key: PullKey, access: ForgeAccess
    ) -> AbstractContextManager[ForgeEvaluation]: ...
