"""The fake GitHub's GraphQL endpoint: `POST /graphql` (`/api/graphql` on Enterprise).

Every query is parsed and validated against GitHub's published schema
(tests/fixtures/github/graphql/schema.graphql, built once per process), then
executed by graphql-core over the fake's world. The objects handed to
graphql-core are plain dicts; a field that takes arguments (a connection's
`first`/`after`, `pullRequest(number:)`) is a function of them, which
graphql-core's default resolver calls.

What is modelled is what gatebot reads: `repository`, `rateLimit`, a pull
request with its labels, files, commits, reviews and comments, and a
commit's parents, authors, check suites with their runs and its status
contexts. Connections page with `first`/`last` and `after`/`before`
(1..100, one of `first`/`last` required, as GitHub insists), with
`pageInfo` and `totalCount`. GitHub's GraphQL names a bot by its login
without the `[bot]` suffix REST adds; so does this one.

A query the schema refuses, or one GitHub would refuse for its limits, is
answered 200 with `errors` (as GitHub does) and is a validation problem of
the traffic (`problems`), so `FakeGitHub.assert_all_valid()` fails the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)

from .builders import GITHUB_WEB, node_id
from .state import CheckRun, Comment, Commit, Repo, Review, Status, World, iso, utcnow

if TYPE_CHECKING:
    from support.fakes.recording import RecordedRequest

    from .auth import Caller

OPERATION = "graphql"
"""The operation id the request log gives GraphQL requests."""
PATHS = ("/graphql", "/api/graphql")
"""github.com's GraphQL path, and GitHub Enterprise Server's (next to its `/api/v3`)."""
SCHEMA_FILE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "github" / "graphql" / "schema.graphql"
)
PAGE_LIMIT = 100
PR_FILES_CAP = 3000
PR_COMMITS_CAP = 250
DATA_ERRORS = frozenset({"NOT_FOUND", "FORBIDDEN"})
"""Error types that answer about the data, not about the query."""


@functools.cache
def schema() -> GraphQLSchema:
    # GitHub's published schema breaks two of graphql-core's own rules on types
    # gatebot never reads (two fields of `EnterpriseOwnerInfo` defined twice;
    # deprecated fields implementing interface fields that are not). GitHub serves
    # it as it is, so it is taken as valid: queries are still validated against it.
    built = build_schema(SCHEMA_FILE.read_text(), assume_valid_sdl=True)
    built._validation_errors = []  # noqa: SLF001 - graphql-core's cache of the schema check
    return built


class DataError(Exception):
    """An error GitHub reports with a `type` (NOT_FOUND...) next to partial data."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parsed(query: Any) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """The query's document, or the errors GitHub would answer for it."""
    if not isinstance(query, str) or not query.strip():
        return None, [{"message": "A query attribute must be specified and must be a string."}]
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, [error.formatted]
    errors = validate(schema(), document)
    if errors:
        return None, [error.formatted for error in errors]
    return document, []


def problems(record: RecordedRequest) -> list[str]:
    """What is wrong with a logged GraphQL request: the schema's refusals and limit errors."""
    try:
        body = json.loads(record.body) if record.body else None
    except ValueError as exc:
        return [f"request body is not JSON: {exc}"]
    if not isinstance(body, dict):
        return ["request body must be an object with `query`"]
    _document, errors = parsed(body.get("query"))
    found = [f"query: {e['message']}" for e in errors]
    # A fault's answer is the test's own words, not the fake's.
    if not found and record.status == 200 and record.injected is None:
        answer = record.response_json or {}
        found = [
            f"query: {e.get('message')}"
            for e in answer.get("errors") or ()
            if e.get("type") not in DATA_ERRORS
        ]
    return found


def answer(world: World, caller: Caller, body: Any) -> dict[str, Any]:
    """GitHub's answer to a GraphQL request body (always sent with status 200)."""
    if not isinstance(body, dict):
        return {"errors": [{"message": "Problems parsing JSON"}]}
    document, errors = parsed(body.get("query"))
    if document is None:
        return {"errors": errors}
    variables = body.get("variables") or {}
    result = execute(
        schema(),
        document,
        root_value=Root(world, caller).fields(),
        variable_values=variables if isinstance(variables, dict) else {},
        operation_name=body.get("operationName"),
    )
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [_formatted(error) for error in result.errors]
    return out


def _formatted(error: GraphQLError) -> dict[str, Any]:
    shaped = dict(error.formatted)
    if isinstance(error.original_error, DataError):
        shaped["type"] = error.original_error.kind
    return shaped


# -- connections -------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        return int(text.rsplit(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from exc


def connection(
    name: str, items: Sequence[Any], node: Callable[[Any], Any], total: int | None = None
) -> Callable[..., dict[str, Any]]:
    """A connection field over `items` (each shown by `node`), paged as GitHub pages."""

    def resolve(
        _info: Any,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        **_filters: Any,
    ) -> dict[str, Any]:
        if first is None and last is None:
            raise GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the `{name}` connection."
            )
        if first is not None and last is not None:
            raise GraphQLError(
                f"Passing both `first` and `last` to paginate the `{name}` connection is not supported."
            )
        for label, value in (("first", first), ("last", last)):
            if value is not None and not 1 <= value <= PAGE_LIMIT:
                raise GraphQLError(
                    f"Requesting {value} records on the `{name}` connection exceeds the "
                    f"`{label}` limit of {PAGE_LIMIT} records."
                    if value > PAGE_LIMIT
                    else f"`{label}` on the `{name}` connection cannot be less than 1."
                )
        start = _index(after) + 1 if after is not None else 0
        end = _index(before) if before is not None else len(items)
        start, end = max(0, start), min(len(items), end)
        if first is not None:
            chosen = range(start, min(end, start + first))
        else:
            assert last is not None
            chosen = range(max(start, end - last), end)
        nodes = [node(items[i]) for i in chosen]
        return {
            "nodes": nodes,
            "edges": [{"node": n, "cursor": _cursor(i)} for n, i in zip(nodes, chosen, strict=True)],
            "pageInfo": {
                "hasNextPage": chosen.stop < end if first is not None else end < len(items),
                "hasPreviousPage": chosen.start > start if last is not None else start > 0,
                "startCursor": _cursor(chosen[0]) if chosen else None,
                "endCursor": _cursor(chosen[-1]) if chosen else None,
            },
            "totalCount": len(items) if total is None else total,
        }

    return resolve


# -- the world as GraphQL objects ----------------------------------------------


class Root:
    """The world, shown through one caller's eyes."""

    def __init__(self, world: World, caller: Caller) -> None:
        self.world = world
        self.caller = caller

    def fields(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "node": self.node,
            "rateLimit": lambda _info, **_args: {
                "__typename": "RateLimit",
                "cost": 1,
                "limit": 5000,
                "remaining": 4999,
                "used": 1,
                "nodeCount": 0,
                "resetAt": iso(utcnow() + dt.timedelta(hours=1)),
            },
        }

    def node(self, _info: Any, id: str) -> dict[str, Any] | None:  # noqa: A002 - GraphQL's name
        """A node by its id: what is modelled is a check suite (its further runs)."""
        try:
            text = base64.b64decode(id.encode(), validate=True).decode()
        except ValueError:
            text = ""
        kind, _, rest = text.partition(":")[2].partition("CheckSuite")
        if kind or not rest.isdigit():
            raise DataError("NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'")
        suite_id = int(rest)
        for repo in self.world.repos.values():
            runs = sorted(
                (r for r in repo.check_runs.values() if r.check_suite_id == suite_id),
                key=lambda r: r.id,
            )
            if runs and self._visible(repo):
                return self.check_suite(suite_id, runs)
        raise DataError("NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'")

    def _visible(self, repo: Repo) -> bool:
        token = self.caller.token
        if token is None:
            return False
        installation = self.world.installations.get(token.installation_id)
        if installation is None or installation.account.lower() != repo.owner.lower():
            return not repo.private
        allowed = token.repositories
        if allowed is None and installation.repositories is not None:
            allowed = frozenset(installation.repositories)
        return allowed is None or repo.key in allowed or not repo.private

    def repository(self, _info: Any, owner: str, name: str, **_args: Any) -> dict[str, Any]:
        repo = self.world.repos.get(f"{owner}/{name}".lower())
        if repo is None or not self._visible(repo):
            raise DataError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return {
            "__typename": "Repository",
            "id": node_id("Repository", repo.id),
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "url": f"{GITHUB_WEB}/{repo.full_name}",
            "isPrivate": repo.private,
            "defaultBranchRef": {"__typename": "Ref", "name": repo.default_branch},
            "pullRequest": lambda _info, number: self.pull(repo, number),
        }

    def actor(self, login: str | None) -> dict[str, Any] | None:
        if login is None:
            return None
        account = self.world.account(login)
        kind = account.type if account.type in ("Bot", "Organization") else "User"
        shown = account.login.removesuffix("[bot]") if kind == "Bot" else account.login
        return {
            "__typename": kind,
            "id": node_id(kind, account.id),
            "login": shown,
            "databaseId": account.id,
            "url": f"https://github.com/{shown}",
        }

    def user(self, login: str | None) -> dict[str, Any] | None:
        """A `GitActor.user`: only an account of type User (a bot's commit has none)."""
        if login is None:
            return None
        shown = self.actor(login)
        return shown if shown is not None and shown["__typename"] == "User" else None

    def pull(self, repo: Repo, number: int) -> dict[str, Any]:
        pr = repo.pulls.get(int(number))
        if pr is None:
            raise DataError(
                "NOT_FOUND",
                f"Could not resolve to a PullRequest with the number of {number}.",
            )
        base_oid = repo.branches.get(pr.base_ref) or pr.head_history[0]
        files = pr.files[:PR_FILES_CAP]
        commits = [repo.commits[sha] for sha in pr.commits]
        reviews = [r for r in pr.reviews_sorted if r.state != "PENDING"]
        comments = sorted(
            (c for c in repo.comments.values() if c.number == pr.number), key=lambda c: c.id
        )
        state = "MERGED" if pr.merged else "CLOSED" if pr.state == "closed" else "OPEN"
        merge_commit = repo.commits.get(pr.merge_commit_sha or "")
        return {
            "__typename": "PullRequest",
            "id": node_id("PullRequest", pr.id),
            "databaseId": pr.id,
            "number": pr.number,
            "title": pr.title,
            "body": pr.body or "",
            "isDraft": pr.draft,
            # Asking starts GitHub's computation, as a REST read of the PR does.
            "mergeable": lambda _info: _mergeable(self.world.read_mergeable(repo, pr)[0]),
            "state": state,
            "merged": pr.merged,
            "mergeCommit": self.commit(repo, merge_commit) if merge_commit else None,
            "createdAt": iso(pr.created_at),
            "updatedAt": iso(pr.updated_at),
            "author": self.actor(pr.user),
            "baseRefName": pr.base_ref,
            "baseRefOid": base_oid,
            "headRefName": pr.head_ref,
            "headRefOid": pr.head_sha,
            "changedFiles": len(pr.files),
            "additions": sum(f.additions for f in pr.files),
            "deletions": sum(f.deletions for f in pr.files),
            "baseRepository": {
                "__typename": "Repository",
                "nameWithOwner": repo.full_name,
                "url": f"{GITHUB_WEB}/{repo.full_name}",
                "defaultBranchRef": {"__typename": "Ref", "name": repo.default_branch},
            },
            "labels": connection(
                "labels", pr.labels, lambda name: {"__typename": "Label", "name": name}
            ),
            "files": connection("files", files, _file, total=len(pr.files)),
            "commits": connection(
                "commits",
                commits[:PR_COMMITS_CAP],
                lambda c: {"__typename": "PullRequestCommit", "commit": self.commit(repo, c)},
                total=len(commits),
            ),
            "reviews": connection("reviews", reviews, lambda r: self.review(repo, r)),
            "comments": connection("comments", comments, self.comment),
        }

    def review(self, repo: Repo, review: Review) -> dict[str, Any]:
        commit = repo.commits.get(review.commit_id)
        return {
            "__typename": "PullRequestReview",
            "id": node_id("PullRequestReview", review.id),
            "databaseId": review.id,
            "author": self.actor(review.user),
            "state": review.state,
            "body": review.body,
            "submittedAt": iso(review.submitted_at),
            "commit": self.commit(repo, commit) if commit else None,
        }

    def comment(self, comment: Comment) -> dict[str, Any]:
        edited = comment.updated_at > comment.created_at
        return {
            "__typename": "IssueComment",
            "id": node_id("IssueComment", comment.id),
            "databaseId": comment.id,
            "author": self.actor(comment.user),
            "body": comment.body,
            "createdAt": iso(comment.created_at),
            "updatedAt": iso(comment.updated_at),
            "lastEditedAt": iso(comment.updated_at) if edited else None,
        }

    def commit(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        def signature(login: str | None) -> dict[str, Any]:
            return {
                "__typename": "GitActor",
                "name": commit.author_name or login or "Unknown",
                "email": commit.author_email or f"{login or 'unknown'}@users.noreply.github.com",
                "date": iso(commit.date),
                "user": self.user(login),
            }

        return {
            "__typename": "Commit",
            "id": node_id("Commit", int(commit.sha[:12], 16)),
            "oid": commit.sha,
            "message": commit.message,
            "parents": connection(
                "parents", commit.parents, lambda sha: {"__typename": "Commit", "oid": sha}
            ),
            "author": signature(commit.author),
            "committer": signature(commit.committer),
            "checkSuites": self.check_suites(repo, commit.sha),
            "status": self.status(repo, commit.sha),
        }

    def check_suites(self, repo: Repo, sha: str) -> Callable[..., dict[str, Any]]:
        suites: dict[int, list[CheckRun]] = {}
        for run in sorted(repo.check_runs.values(), key=lambda r: r.id):
            if run.head_sha == sha:
                suites.setdefault(run.check_suite_id, []).append(run)

        return connection(
            "checkSuites", list(suites.items()), lambda entry: self.check_suite(*entry)
        )

    def check_suite(self, suite_id: int, runs: list[CheckRun]) -> dict[str, Any]:
        return {
            "__typename": "CheckSuite",
            "id": node_id("CheckSuite", suite_id),
            "databaseId": suite_id,
            "app": {"__typename": "App", "slug": runs[0].app_slug, "name": runs[0].app_slug},
            "checkRuns": self.check_runs(runs),
        }

    def check_runs(self, runs: list[CheckRun]) -> Callable[..., dict[str, Any]]:
        def resolve(_info: Any, filterBy: dict[str, Any] | None = None, **paging: Any) -> Any:  # noqa: N803
            chosen = list(runs)
            wanted = filterBy or {}
            if wanted.get("checkName") is not None:
                chosen = [r for r in chosen if r.name == wanted["checkName"]]
            if wanted.get("checkType", "LATEST") == "LATEST":
                latest: dict[str, CheckRun] = {}
                for run in chosen:
                    latest[run.name] = run
                chosen = list(latest.values())
            return connection("checkRuns", chosen, _check_run)(_info, **paging)

        return resolve

    def status(self, repo: Repo, sha: str) -> dict[str, Any] | None:
        latest: dict[str, Status] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status
        if not latest:
            return None
        return {
            "__typename": "Status",
            "id": node_id("Status", int(sha[:12], 16)),
            "state": self.world.combined_state(repo, sha).upper(),
            "contexts": [
                self.status_context(s) for s in sorted(latest.values(), key=lambda s: s.id)
            ],
        }

    def status_context(self, status: Status) -> dict[str, Any]:
        return {
            "__typename": "StatusContext",
            "id": node_id("StatusContext", status.id),
            "context": status.context,
            "state": status.state.upper(),
            "description": status.description,
            "targetUrl": status.target_url,
            "createdAt": iso(status.updated_at),
            "creator": self.actor(status.creator),
        }


def _mergeable(value: bool | None) -> str:
    return "UNKNOWN" if value is None else "MERGEABLE" if value else "CONFLICTING"


_CHANGE_TYPES = {
    "added": "ADDED",
    "removed": "DELETED",
    "modified": "MODIFIED",
    "renamed": "RENAMED",
    "copied": "COPIED",
    "changed": "CHANGED",
}


def _file(entry: Any) -> dict[str, Any]:
    return {
        "__typename": "PullRequestChangedFile",
        "path": entry.filename,
        "additions": entry.additions,
        "deletions": entry.deletions,
        "changeType": _CHANGE_TYPES.get(entry.status, "MODIFIED"),
    }


def _check_run(run: CheckRun) -> dict[str, Any]:
    return {
        "__typename": "CheckRun",
        "id": node_id("CheckRun", run.id),
        "databaseId": run.id,
        "name": run.name,
        "status": run.status.upper(),
        "conclusion": run.conclusion.upper() if run.conclusion else None,
        "startedAt": iso(run.started_at),
        "completedAt": iso(run.completed_at),
        "detailsUrl": run.details_url,
    }
