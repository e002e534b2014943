"""The forge contract suite's view of each fake forge (`tests/providers/test_forge_contract.py`).

The suite states what every adapter must do through the worker-facing
protocol (`bot.providers.base`); it runs once per forge. What differs
between the forges — how a test builds a repository and a PR on the fake,
what the fake recorded, the policy file's path, the route names of a read —
is said here, once per forge, in the same words: `GitHubSide` and
`GitLabSide`. Assertions are made on what the fake forge saw (requests,
statuses, merges, notes, deployments), never on an adapter's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from fakegitlab import DEVELOPER

from bot.keys import PullKey
from bot.store.commands import CommandComment

REPO = "acme/api"
NUMBER = 7
APPROVER = "mia"
AUTHOR = "alice"


@dataclass(frozen=True)
class Seen:
    """A status the fake holds: its context, state and who wrote it."""

    context: str
    state: str
    author: str


class ForgeSide(Protocol):
    """One fake forge and the adapter rig built on it."""

    name: ClassVar[str]
    policy_path: ClassVar[str]
    comment_reads: ClassVar[frozenset[str]]
    """Names (`route_of`) of the requests that read a PR's comments."""
    status_reads: ClassVar[frozenset[str]]
    """Names of the requests that read a head's statuses and checks."""
    authentication: ClassVar[frozenset[str]]
    """Names of the requests that only authenticate the bot (they write nothing)."""
    pull_query: ClassVar[frozenset[str]]
    """Names of the requests that read the PR with its comments and checks whatever the
    needs ask (GitHub's one GraphQL query): reads, though sent as a POST."""
    native_deploy: ClassVar[str]
    """The deploy entry (policy YAML) of a method this forge supports."""
    foreign_deploy: ClassVar[str]
    """The deploy entry of a method only another forge supports."""

    rig: Any

    def repository(self, policy: str, *, files: dict[str, str] | None = None) -> None: ...
    def open_pull(self, *, contents: dict[str, str] | None = None) -> str: ...
    def approve(self) -> None: ...
    def push(self) -> str: ...
    def add_comment(self, author: str, body: str) -> CommandComment: ...
    def statuses(self, sha: str) -> list[Seen]: ...
    def merged_shas(self) -> list[str | None]: ...
    def bot_comments(self) -> list[str]: ...
    def reactions(self, comment_id: int) -> list[str]: ...
    def deploys_made(self) -> int: ...
    def route_of(self, request: Any) -> str: ...
    def base_sha(self) -> str: ...


def command_comment(
    key: PullKey, comment_id: int, author: str, body: str, created_at: datetime,
    installation_id: int | None,
) -> CommandComment:
    """A comment as the store would hand it to the command step."""
    return CommandComment(
        key=key, comment_id=comment_id, author=author, body=body, created_at=created_at,
        received_at=datetime.now(UTC), installation_id=installation_id, state="received",
        outcomes=None, cheap=0, acted_at=None, reply_id=None,
    )


@dataclass
class GitHubSide:
    name: ClassVar[str] = "github"
    policy_path: ClassVar[str] = ".github/gatebot.yml"
    comment_reads: ClassVar[frozenset[str]] = frozenset({"GET issues/list-comments"})
    status_reads: ClassVar[frozenset[str]] = frozenset(
        {"GET checks/list-for-ref", "GET repos/list-commit-statuses-for-ref"}
    )
    authentication: ClassVar[frozenset[str]] = frozenset(
        {"POST apps/create-installation-access-token"}
    )
    pull_query: ClassVar[frozenset[str]] = frozenset({"POST graphql"})
    native_deploy: ClassVar[str] = (
        "  - name: production\n    branches: [main]\n    environment: prod\n"
        "    via:\n      github_deployment: {}\n"
    )
    foreign_deploy: ClassVar[str] = (
        "  - name: pipeline\n    branches: [main]\n    via:\n      gitlab_pipeline: {}\n"
    )

    rig: Any

    def repository(self, policy: str, *, files: dict[str, str] | None = None) -> None:
        self.rig.fake.add_repo(REPO, files={self.policy_path: policy, **(files or {})})
        self.rig.fake.set_role(REPO, APPROVER, "write")

    def open_pull(self, *, contents: dict[str, str] | None = None) -> str:
        pr = self.rig.fake.open_pr(
            REPO, NUMBER, author=AUTHOR, head="feature", contents=contents or {"a.py": "1\n"}
        )
        return str(pr.head_sha)

    def approve(self) -> None:
        self.rig.fake.add_review(REPO, NUMBER, APPROVER, "APPROVED")

    def push(self) -> str:
        return str(self.rig.fake.push(REPO, NUMBER))

    def add_comment(self, author: str, body: str) -> CommandComment:
        found = self.rig.fake.add_comment(REPO, NUMBER, author, body)
        return command_comment(
            self.rig.key(NUMBER), found.id, author, body, found.created_at,
            self.rig.installation(),
        )

    def statuses(self, sha: str) -> list[Seen]:
        return [Seen(s.context, s.state, s.creator) for s in self.rig.fake.statuses(REPO, sha)]

    def merged_shas(self) -> list[str | None]:
        return [m.requested_sha for m in self.rig.fake.merges]

    def bot_comments(self) -> list[str]:
        return [
            c.body for c in self.rig.fake.comments(REPO, NUMBER)
            if c.user == self.rig.fake.bot_login
        ]

    def reactions(self, comment_id: int) -> list[str]:
        return [r.content for r in self.rig.fake.reactions(REPO, comment_id)]

    def deploys_made(self) -> int:
        return len(self.rig.fake.deployments) + len(self.rig.fake.dispatches)

    def route_of(self, request: Any) -> str:
        return f"{request.method} {request.operation_id}"

    def base_sha(self) -> str:
        return str(self.rig.fake.branch_sha(REPO, "main"))


@dataclass
class GitLabSide:
    name: ClassVar[str] = "gitlab"
    policy_path: ClassVar[str] = ".gitlab/gatebot.yml"
    comment_reads: ClassVar[frozenset[str]] = frozenset(
        {"GET /projects/:id/merge_requests/:iid/notes"}
    )
    status_reads: ClassVar[frozenset[str]] = frozenset(
        {"GET /projects/:id/repository/commits/:sha/statuses"}
    )
    authentication: ClassVar[frozenset[str]] = frozenset()
    pull_query: ClassVar[frozenset[str]] = frozenset()
    native_deploy: ClassVar[str] = (
        "  - name: pipeline\n    branches: [main]\n    via:\n      gitlab_pipeline: {}\n"
    )
    foreign_deploy: ClassVar[str] = (
        "  - name: production\n    branches: [main]\n    environment: prod\n"
        "    via:\n      github_deployment: {}\n"
    )

    rig: Any

    def repository(self, policy: str, *, files: dict[str, str] | None = None) -> None:
        self.rig.fake.add_project(REPO, files={self.policy_path: policy, **(files or {})})
        self.rig.fake.set_access(REPO, APPROVER, DEVELOPER)

    def open_pull(self, *, contents: dict[str, str] | None = None) -> str:
        mr = self.rig.fake.open_mr(
            REPO, NUMBER, author=AUTHOR, source="feature", contents=contents or {"a.py": "1\n"}
        )
        return str(mr.head_sha)

    def approve(self) -> None:
        self.rig.fake.approve(REPO, NUMBER, APPROVER)

    def push(self) -> str:
        return str(self.rig.fake.push(REPO, NUMBER))

    def add_comment(self, author: str, body: str) -> CommandComment:
        note = self.rig.fake.add_note(REPO, NUMBER, author, body)
        return command_comment(self.rig.key(NUMBER), note.id, author, body, note.created, None)

    def statuses(self, sha: str) -> list[Seen]:
        return [Seen(s.name, s.status, s.author) for s in self.rig.fake.statuses(REPO, sha)]

    def merged_shas(self) -> list[str | None]:
        return [m.requested_sha for m in self.rig.fake.merges]

    def bot_comments(self) -> list[str]:
        return [
            n.body for n in self.rig.fake.notes(REPO, NUMBER)
            if n.author == self.rig.fake.bot_username and not n.system
        ]

    def reactions(self, comment_id: int) -> list[str]:
        return [a.name for a in self.rig.fake.award_emoji(REPO, NUMBER, comment_id)]

    def deploys_made(self) -> int:
        return len(self.rig.fake.pipelines_created)

    def route_of(self, request: Any) -> str:
        return str(request.route)

    def base_sha(self) -> str:
        return str(self.rig.fake.branch_sha(REPO, "main"))
