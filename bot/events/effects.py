"""What a delivery causes, as values.

Handlers return these (inside a `Routed`); `apply.py` carries them out on
the delivery's own transaction. Being plain values, they let the tests
state what an event does without a database, and keep every handler free
of I/O. Marks name PRs directly (`MarkPulls`) or by what the store knows
of them (a head SHA, a base branch, a repository, an owner); `apply`
resolves those with one query each and marks everything in one statement.

The values name no forge: `apply` writes them under the delivery's
provider, so GitHub's handlers (`bot/events/github`) and GitLab's
(`bot/events/gitlab`, where a "PR" is a merge request and its number the
MR's `iid`) share them. The installation, merge-group, App-slug and owner
effects are GitHub's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MarkPulls:
    """These PRs of `repo` need an evaluation."""

    repo: str
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class MarkHead:
    """The PRs of `repo` whose head is `sha` need an evaluation.

    `numbers` are the PRs the payload itself names (a check run's
    `pull_requests`); the store adds the open PRs it knows with that head,
    which covers forks, whose check runs list none.
    """

    repo: str
    sha: str
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class MarkBase:
    """The open PRs of `repo` into `base_ref` need an evaluation."""

    repo: str
    base_ref: str


@dataclass(frozen=True)
class MarkRepo:
    """Every open PR of `repo` needs an evaluation."""

    repo: str


@dataclass(frozen=True)
class MarkOwner:
    """Every open PR in `owner`'s repositories needs an evaluation.

    With `without_own_policy`, PRs whose base branch is known to hold a
    policy file of its own are left out (the owner's fallback changed).
    """

    owner: str
    without_own_policy: bool = False


@dataclass(frozen=True)
class RememberPull:
    """Keep what the event says of the PR (base, head, open or closed)."""

    repo: str
    number: int
    base_ref: str
    head_sha: str
    closed: bool
    updated_at: datetime | None

    @classmethod
    def of(
        cls,
        repo: str | None,
        number: int | None,
        base_ref: str | None,
        head_sha: str | None,
        *,
        closed: bool,
        updated_at: datetime | None,
    ) -> RememberPull | None:
        """What a payload says of a PR, or None when it lacks one of the essentials."""
        if repo is None or number is None or base_ref is None or head_sha is None:
            return None
        return cls(repo, number, base_ref, head_sha, closed, updated_at)


@dataclass(frozen=True)
class RecordHead:
    """The event announces the PR's head or base (a push, an opening, a retarget):
    into the PR's head history (`store/pull_heads.py`) at the delivery's time,
    unless it repeats the last recorded one or is older than what the store holds.
    `pushed`: the event is a push, which is news even when it names the recorded head
    (A → B → A whose push of B was never heard of)."""

    pull: RememberPull
    pushed: bool = False

    @classmethod
    def of(cls, pull: RememberPull | None, *, pushed: bool = False) -> RecordHead | None:
        return None if pull is None or pull.closed else cls(pull, pushed)


@dataclass(frozen=True)
class RecordTamper:
    """`editor` edited `author`'s comment (or, with `subject` "review", the body of
    review `comment_id`) on PR `number`; the PR's head is looked up."""

    repo: str
    number: int
    comment_id: int
    author: str
    editor: str
    subject: str = "comment"


@dataclass(frozen=True)
class ReceiveComment:
    """A new comment on PR `number` that may hold commands: into the PR's inbox
    (`store/commands.py`), where the pipeline reads, runs and answers it. The PR
    is marked when the comment is new to the inbox."""

    repo: str
    number: int
    comment_id: int
    author: str
    body: str
    created_at: datetime  # the comment's own time


@dataclass(frozen=True)
class ForgetVerdict:
    """Someone else wrote under the bot's context: forget what was posted, so it is
    posted again, and mark the PR that verdict was for."""

    repo: str
    sha: str
    context: str
    writer: str


@dataclass(frozen=True)
class FollowDeploy:
    """The forge says a deployment the bot may have started moved (a deployment
    status, a completed workflow run, a pipeline): if the store follows the one
    `reference` names for `method`, it is asked about at once — the event is a hint,
    the follower re-reads the deployment from the forge before recording anything."""

    repo: str
    method: str
    reference: str


@dataclass(frozen=True)
class DropPullParts:
    """The PR changed in a way its `updated_at` may not show: re-read its parts."""

    repo: str
    number: int


@dataclass(frozen=True)
class DropBranchFiles:
    """The policy files and CODEOWNERS cached for a branch are out of date."""

    repo: str
    ref: str
    default_branch: str | None


@dataclass(frozen=True)
class DropCollaborator:
    repo: str
    login: str


@dataclass(frozen=True)
class DropTeamMember:
    org: str
    team: str
    login: str


@dataclass(frozen=True)
class DropTeam:
    org: str
    team: str


@dataclass(frozen=True)
class DropOrgMember:
    org: str
    login: str


@dataclass(frozen=True)
class DropPerson:
    """Forget every directory fact cached about `login` (a GitLab group membership
    changed: its reach through subgroups and projects is not in the event)."""

    login: str


@dataclass(frozen=True)
class RecordInstallation:
    """An `installation` event: what it says of the installation now."""

    installation_id: int
    account: str | None
    app_id: int | None
    repository_selection: str | None
    repositories: tuple[str, ...] | None  # None: the event did not list them
    suspended: bool
    deleted: bool


@dataclass(frozen=True)
class ChangeInstallationRepos:
    """An `installation_repositories` event: repositories added to or removed from it."""

    installation_id: int
    account: str | None
    app_id: int | None
    repository_selection: str | None
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class DropWork:
    """Forget the dirty marks of an installation (all of it when `installation_id`
    is given) or of some repositories: no token can act on them any more."""

    installation_id: int | None
    repos: tuple[str, ...] = ()


@dataclass(frozen=True)
class RememberAppSlug:
    """An event carrying the configured App's id told its slug."""

    app_id: int
    slug: str


@dataclass(frozen=True)
class RequestMergeGroup:
    """A merge-queue group wants the bot's verdict on its head commit."""

    repo: str
    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str | None
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class EndMergeGroup:
    """GitHub dropped a merge-queue group; it needs no verdict any more."""

    repo: str
    head_sha: str


Effect = (
    MarkPulls
    | MarkHead
    | MarkBase
    | MarkRepo
    | MarkOwner
    | RememberPull
    | RecordHead
    | RecordTamper
    | ReceiveComment
    | ForgetVerdict
    | FollowDeploy
    | DropPullParts
    | DropBranchFiles
    | DropCollaborator
    | DropTeamMember
    | DropTeam
    | DropOrgMember
    | DropPerson
    | RecordInstallation
    | ChangeInstallationRepos
    | DropWork
    | RememberAppSlug
    | RequestMergeGroup
    | EndMergeGroup
)
