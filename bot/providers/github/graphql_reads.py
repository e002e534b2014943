"""A GitHub PR read in one GraphQL query: the PR with its labels, files, commits,
reviews, comments and the checks and statuses of its head commit.

One `POST /graphql` (GitHub Enterprise Server: `/api/graphql`, as PyGithub
builds it from the `/api/v3` address) replaces the six REST lists an
evaluation read before, under the `read` retry policy. The answer is turned
into the snapshot's models in the REST vocabulary the rest of the code uses
(`bot.providers.github.snapshot`): GraphQL's UPPERCASE enums are mapped, a
bot — which GraphQL names without the `[bot]` suffix REST gives it — gets the
suffix back and `is_bot`, and a deleted account (no author) is `ghost`.

Where GraphQL tells less than REST, `PullRead` says so and the evaluation
reads that part through REST (`bot.providers.github.forge`):

- `files_need_rest`: GraphQL's changed file has no previous path, and a
  rename's old path must still count for path rules (renaming a protected
  file out of its directory needs its owners) — so any renamed or copied
  file, or no file list at all, has the list read through REST;
- `commits_unmapped`: a commit author or committer that GraphQL maps to no
  user — a bot's commits have none there, REST names the bot;
- `checks is None`: the last commit listed is not the head (a push between
  the two reads of GitHub's data).

Connections with more than one page are followed, each page a query for
that connection alone: by the same path with `after` for labels, files (up
to GitHub's 3,000, `files_truncated` beyond), commits (a PR with more than
GitHub's 250 keeps the comparison read instead), reviews, comments and the
head's check suites; by the suite's node id for a suite's check runs.
Comments past the first page are read only when the policy counts comments
(`more_comments`): a long conversation costs nothing to a policy that never
reads it.
A commit's status contexts are one list (the latest per context), not a
connection.

The query asks for `mergeable` without using it: asking is what starts
GitHub's computation of it, so the merge step's REST read of the PR
(`merge_state`) finds it done rather than null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from github import UnknownObjectException
from github.Requester import Requester

from bot.core.snapshot import (
    Actor,
    ChangedFile,
    CheckResult,
    CheckState,
    Comment,
    Commit,
    FileStatus,
    Review,
    ReviewState,
)
from bot.providers.base import PullHead
from bot.providers.github.publish import ShownStatus
from bot.providers.github.snapshot import COMMITS_LIMIT, FILES_LIMIT, GHOST, run_state
from bot.retry import RetryPolicy

_FRAGMENTS = {
    "labels": """
fragment LabelPage on LabelConnection {
  pageInfo { hasNextPage endCursor }
  nodes { name }
}""",
    "files": """
fragment FilePage on PullRequestChangedFileConnection {
  pageInfo { hasNextPage endCursor }
  nodes { path additions deletions changeType }
}""",
    "commits": """
fragment CommitPage on PullRequestCommitConnection {
  totalCount
  pageInfo { hasNextPage endCursor }
  nodes {
    commit {
      oid
      parents(first: 100) { totalCount nodes { oid } }
      author { user { login } }
      committer { user { login } }
    }
  }
}""",
    "reviews": """
fragment ReviewPage on PullRequestReviewConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    databaseId
    author { __typename login }
    state
    body
    submittedAt
    commit { oid }
  }
}""",
    "comments": """
fragment CommentPage on IssueCommentConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    databaseId
    author { __typename login }
    body
    createdAt
    updatedAt
  }
}""",
}
"""One page of each connection of the PR that may need more than one."""

_RUN_PAGE = """
fragment RunPage on CheckRunConnection {
  pageInfo { hasNextPage endCursor }
  nodes { databaseId name status conclusion startedAt completedAt }
}"""
_SUITE_PAGE = """
fragment SuitePage on CheckSuiteConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    id
    app { slug }
    checkRuns(first: 100, filterBy: {checkType: ALL}) { ...RunPage }
  }
}"""

def _fragment_name(fragment: str) -> str:
    return fragment.split()[1]


PULL_QUERY = (
    """
query PullForGate($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      number
      title
      body
      isDraft
      mergeable
      state
      merged
      mergeCommit { oid }
      updatedAt
      author { __typename login }
      baseRefName
      baseRefOid
      headRefName
      headRefOid
      changedFiles
      additions
      deletions
      baseRepository { url defaultBranchRef { name } }
      labels(first: 100) { ...LabelPage }
      files(first: 100) { ...FilePage }
      commits(first: 100) { ...CommitPage }
      head: commits(last: 1) {
        nodes {
          commit {
            oid
            checkSuites(first: 100) { ...SuitePage }
            status {
              contexts {
                context state description targetUrl createdAt creator { __typename login }
              }
            }
          }
        }
      }
      reviews(first: 100) { ...ReviewPage }
      comments(first: 100) { ...CommentPage }
    }
  }
}
"""
    + "".join(_FRAGMENTS.values())
    + _SUITE_PAGE
    + _RUN_PAGE
)
"""The one query of an evaluation."""

SUITES_QUERY = (
    """
query NextSuites($owner: String!, $name: String!, $number: Int!, $after: String!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      head: commits(last: 1) {
        nodes { commit { oid checkSuites(first: 100, after: $after) { ...SuitePage } } }
      }
    }
  }
}
"""
    + _SUITE_PAGE
    + _RUN_PAGE
)
"""A further page of the head commit's check suites (by the PR's path)."""

RUNS_QUERY = (
    """
query NextRuns($id: ID!, $after: String!) {
  node(id: $id) {
    ... on CheckSuite {
      checkRuns(first: 100, after: $after, filterBy: {checkType: ALL}) { ...RunPage }
    }
  }
}
"""
    + _RUN_PAGE
)
"""A further page of one check suite's runs (by the suite's node id)."""

PAGE_QUERIES = {
    connection: (
        f"""
query NextPage($owner: String!, $name: String!, $number: Int!, $after: String!) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {connection}(first: 100, after: $after) {{ ...{_fragment_name(fragment)} }}
    }}
  }}
}}
"""
        + fragment
    )
    for connection, fragment in _FRAGMENTS.items()
}
"""A follow-up page of one connection of the PR (GitHub refuses unused fragments)."""

_FILE_STATUSES: dict[str, FileStatus] = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}
_REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"})
_STATUS_STATES = frozenset({"success", "failure", "error", "pending", "expected"})


@dataclass(frozen=True)
class PullRead:
    """What the query found, in the snapshot's models."""

    head: PullHead
    title: str
    body: str
    author: Actor
    draft: bool
    base_sha: str
    labels: tuple[str, ...]
    files: tuple[ChangedFile, ...]
    files_truncated: bool
    files_count: int
    files_need_rest: bool
    """A file was renamed or copied (its old path is only in REST's list), or GraphQL
    gave no file list."""
    additions: int
    deletions: int
    commits: tuple[Commit, ...]
    commits_total: int
    commits_unmapped: bool
    """A commit names an author or committer GraphQL maps to no user (a bot's), or has
    more parents than one page lists: REST's list tells them."""
    reviews: tuple[Review, ...]
    comments: tuple[Comment, ...]
    """The first page of comments; `comments_after` says where the rest starts."""
    comments_after: str | None
    """The cursor of the next page of comments (None: `comments` are all of them)."""
    checks: tuple[CheckResult, ...] | None
    """The head's check runs and statuses; None when the last commit listed was not the
    head, so they must be read through REST."""
    statuses: tuple[ShownStatus, ...] | None
    """Who wrote the latest status per context on the head (None: as `checks`)."""
    repository_page: str | None


def read_pull(
    requester: Requester, repo: str, number: int, retry: RetryPolicy, now: datetime
) -> PullRead:
    """PR `number` of `repo` with everything the gate reads: one query, plus one per
    further page of a connection."""
    owner, name = repo.split("/", 1)
    variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
    pull = _pull(requester, PULL_QUERY, variables, retry)

    def every(connection: str, limit: int | None = None) -> list[Any]:
        return _every_page(requester, variables, retry, connection, pull[connection], limit)

    files_listed = every("files", FILES_LIMIT) if pull.get("files") is not None else None
    commits_total = int(pull["commits"]["totalCount"])
    listed_commits = every("commits") if commits_total <= COMMITS_LIMIT else []
    commits = tuple(_commit(node["commit"]) for node in listed_commits)
    unmapped = any(_unmapped(node["commit"]) for node in listed_commits)
    files = tuple(_file(node) for node in files_listed or ())
    checks, statuses = _checks(requester, variables, retry, pull, now)
    base_repository = pull.get("baseRepository") or {}
    return PullRead(
        head=_head(pull),
        title=pull.get("title") or "",
        body=pull.get("body") or "",
        author=actor(pull.get("author")),
        draft=bool(pull.get("isDraft")),
        base_sha=str(pull["baseRefOid"]),
        labels=tuple(str(label["name"]) for label in every("labels")),
        files=files,
        files_truncated=int(pull["changedFiles"] or 0) > len(files),
        files_count=int(pull["changedFiles"] or 0),
        files_need_rest=files_listed is None
        or any(f.status in ("renamed", "copied") for f in files),
        additions=int(pull.get("additions") or 0),
        deletions=int(pull.get("deletions") or 0),
        commits=commits,
        commits_total=commits_total,
        commits_unmapped=unmapped,
        reviews=tuple(r for r in map(_review, every("reviews")) if r is not None),
        comments=tuple(_comment(node) for node in pull["comments"]["nodes"]),
        comments_after=_next_cursor(pull["comments"]),
        checks=checks,
        statuses=statuses,
        repository_page=base_repository.get("url") or None,
    )


def more_comments(
    requester: Requester, repo: str, number: int, retry: RetryPolicy, after: str
) -> tuple[Comment, ...]:
    """The PR's comments past the first page (`PullRead.comments_after`), every page."""
    owner, name = repo.split("/", 1)
    variables: dict[str, Any] = {"owner": owner, "name": name, "number": number}
    rest = _every_page(
        requester, variables, retry, "comments",
        {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": after}}, None,
    )
    return tuple(_comment(node) for node in rest)


def _next_cursor(page: Mapping[str, Any]) -> str | None:
    info = page["pageInfo"]
    return str(info["endCursor"]) if info["hasNextPage"] else None


def _data(
    requester: Requester, document: str, variables: Mapping[str, Any], retry: RetryPolicy
) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        _headers, data = requester.graphql_query(document, dict(variables))
        return data

    answer = retry.call(fetch, what="POST graphql")
    return answer.get("data") or {}


def _pull(
    requester: Requester, document: str, variables: Mapping[str, Any], retry: RetryPolicy
) -> dict[str, Any]:
    data = _data(requester, document, variables, retry)
    pull = (data.get("repository") or {}).get("pullRequest")
    if not isinstance(pull, dict):
        raise UnknownObjectException(404, data, {}, "no such pull request")
    return pull


def _every_page(
    requester: Requester,
    variables: Mapping[str, Any],
    retry: RetryPolicy,
    connection: str,
    first: Mapping[str, Any],
    limit: int | None,
) -> list[Any]:
    nodes = list(first["nodes"])
    page = first
    while page["pageInfo"]["hasNextPage"] and (limit is None or len(nodes) < limit):
        after = {**variables, "after": page["pageInfo"]["endCursor"]}
        page = _pull(requester, PAGE_QUERIES[connection], after, retry)[connection]
        nodes.extend(page["nodes"])
    return nodes[:limit] if limit is not None else nodes


def _iso(value: str) -> str:
    """GitHub's GraphQL time as REST's reads render it (`+00:00`, not `Z`)."""
    return datetime.fromisoformat(value).isoformat()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _head(pull: Mapping[str, Any]) -> PullHead:
    merged = bool(pull.get("merged"))
    merge_commit = pull.get("mergeCommit") or {}
    default_ref = ((pull.get("baseRepository") or {}).get("defaultBranchRef")) or {}
    return PullHead(
        number=int(pull["number"]),
        base_ref=str(pull["baseRefName"]),
        head_ref=str(pull["headRefName"]),
        head_sha=str(pull["headRefOid"]),
        state="open" if pull["state"] == "OPEN" else "closed",
        merged=merged,
        updated_at=_iso(pull["updatedAt"]),
        merge_sha=merge_commit.get("oid") if merged else None,
        default_branch=default_ref.get("name") or None,
    )


def login_of(who: Mapping[str, Any] | None) -> str | None:
    """An actor's login as REST names it: a bot's with its `[bot]` suffix."""
    if not who or not who.get("login"):
        return None
    login = str(who["login"])
    return f"{login}[bot]" if who.get("__typename") == "Bot" else login


def actor(who: Mapping[str, Any] | None) -> Actor:
    login = login_of(who)
    if login is None:
        return Actor(login=GHOST)
    bot = (who or {}).get("__typename") == "Bot" or login.lower().endswith("[bot]")
    return Actor(login=login, is_bot=bot)


def _file(node: Mapping[str, Any]) -> ChangedFile:
    return ChangedFile(
        path=str(node["path"]),
        status=_FILE_STATUSES.get(str(node.get("changeType")), "modified"),
        additions=max(int(node.get("additions") or 0), 0),
        deletions=max(int(node.get("deletions") or 0), 0),
    )


def _unmapped(commit: Mapping[str, Any]) -> bool:
    parents = commit["parents"]
    if parents["totalCount"] > len(parents["nodes"]):
        return True
    return any(
        commit.get(role) is not None and not ((commit[role].get("user") or {}).get("login"))
        for role in ("author", "committer")
    )


def _commit(commit: Mapping[str, Any]) -> Commit:
    def login(role: str) -> str | None:
        user = (commit.get(role) or {}).get("user") or {}
        value = user.get("login")
        return str(value) if value else None

    return Commit(
        sha=str(commit["oid"]),
        parents=tuple(str(p["oid"]) for p in commit["parents"]["nodes"]),
        author=login("author"),
        committer=login("committer"),
    )


def _review(node: Mapping[str, Any]) -> Review | None:
    """A submitted review (a reviewer's own unsubmitted draft is not one)."""
    state = str(node.get("state"))
    if state not in _REVIEW_STATES or not node.get("submittedAt"):
        return None
    return Review(
        id=int(node["databaseId"]),
        author=actor(node.get("author")),
        state=cast(ReviewState, state),
        commit_sha=(node.get("commit") or {}).get("oid") or None,
        submitted_at=_time(node["submittedAt"]),
        body=node.get("body") or "",
    )


def _comment(node: Mapping[str, Any]) -> Comment:
    """A conversation comment; one updated after it was written counts as edited."""
    created = _time(node["createdAt"])
    updated = _time(node["updatedAt"]) if node.get("updatedAt") else None
    edited = updated is not None and updated > created
    return Comment(
        id=int(node["databaseId"]),
        author=actor(node.get("author")),
        body=node.get("body") or "",
        created_at=created,
        edited=edited,
        edited_at=updated if edited else None,
    )


def _checks(
    requester: Requester,
    variables: Mapping[str, Any],
    retry: RetryPolicy,
    pull: Mapping[str, Any],
    now: datetime,
) -> tuple[tuple[CheckResult, ...] | None, tuple[ShownStatus, ...] | None]:
    """The head commit's check runs (oldest first) and statuses, every page of them; or
    (None, None) when the last commit listed is not the head."""
    head = _head_commit(pull["head"], pull["headRefOid"])
    if head is None:
        return None, None
    page = head["checkSuites"]
    suites = list(page["nodes"])
    while page["pageInfo"]["hasNextPage"]:
        after = {**variables, "after": page["pageInfo"]["endCursor"]}
        more = _head_commit(
            _pull(requester, SUITES_QUERY, after, retry)["head"], pull["headRefOid"]
        )
        if more is None:  # pushed to between the pages
            return None, None
        page = more["checkSuites"]
        suites.extend(page["nodes"])
    runs: list[tuple[Mapping[str, Any], str | None]] = []
    for suite in suites:
        app = (suite.get("app") or {}).get("slug")
        listed = suite["checkRuns"]
        runs.extend((run, app) for run in listed["nodes"])
        while listed["pageInfo"]["hasNextPage"]:
            after = {"id": suite["id"], "after": listed["pageInfo"]["endCursor"]}
            found = _data(requester, RUNS_QUERY, after, retry).get("node")
            if not isinstance(found, dict):
                raise UnknownObjectException(404, found, {}, "no such check suite")
            listed = found["checkRuns"]
            runs.extend((run, app) for run in listed["nodes"])
    runs.sort(key=lambda pair: int(pair[0]["databaseId"]))
    results = [_check_run(run, app, now) for run, app in runs]
    contexts = (head.get("status") or {}).get("contexts") or ()
    results.extend(_status(context) for context in contexts)
    shown = tuple(
        ShownStatus(
            context=str(c["context"]),
            creator=login_of(c.get("creator")),
            state=str(c.get("state") or "").lower(),
            description=c.get("description"),
            target_url=c.get("targetUrl"),
        )
        for c in contexts
    )
    return tuple(results), shown


def _head_commit(listed: Mapping[str, Any], head_sha: str) -> Mapping[str, Any] | None:
    """The last commit of `commits(last: 1)` when it is the PR's head (else None)."""
    nodes: Sequence[Mapping[str, Any]] = listed["nodes"]
    if not nodes or nodes[-1]["commit"]["oid"] != head_sha:
        return None
    commit: Mapping[str, Any] = nodes[-1]["commit"]
    return commit


def _check_run(run: Mapping[str, Any], app: str | None, now: datetime) -> CheckResult:
    completed = _time(run["completedAt"]) if run.get("completedAt") else None
    started = _time(run["startedAt"]) if run.get("startedAt") else None
    conclusion = run.get("conclusion")
    return CheckResult(
        name=str(run["name"]),
        kind="check_run",
        app=app,
        state=run_state(
            str(run.get("status") or "").lower(), conclusion.lower() if conclusion else None
        ),
        completed_at=completed,
        updated_at=completed or started or now,
    )


def _status(context: Mapping[str, Any]) -> CheckResult:
    state = str(context.get("state") or "").lower()
    return CheckResult(
        name=str(context["context"]),
        kind="status",
        app=login_of(context.get("creator")),
        state=cast(CheckState, state if state in _STATUS_STATES else "error"),
        completed_at=None,
        updated_at=_time(context["createdAt"]),
    )
