"""The route of a forge request, as a template: `GET /repos/{owner}/{repo}/pulls/{n}`.

Request metrics are labelled by route, never by the raw path: a path names
repositories, branches, files and people, and each new one would be a new
time series. A path is read segment by segment against a fixed vocabulary:

- after `repos` come the owner and the repository, after `projects`,
  `groups`, `orgs`, `users`, `teams`, `memberships` and `collaborators` one
  name: those are always placeholders, whatever they spell;
- a segment in the vocabulary of the REST paths gatebot calls stays as it is;
- anything else is a placeholder: `{n}` for a number, `{sha}` for a commit,
  `{range}` for a `base...head` comparison, `{name}` otherwise;
- after `contents`, `files`, `heads` and `tags` the rest of the path is a
  file or branch name: one `{path}`.

So every route is made of known words and placeholders only, and the
number of routes is bounded by the vocabulary, not by the forge's data.
"""

from __future__ import annotations

import re
import urllib.parse

NAMED_AFTER: dict[str, tuple[str, ...]] = {
    "repos": ("{owner}", "{repo}"),
    "projects": ("{project}",),
    "groups": ("{group}",),
    "orgs": ("{org}",),
    "users": ("{user}",),
    "teams": ("{team}",),
    "memberships": ("{user}",),
    "collaborators": ("{user}",),
}

REST_OF_PATH = frozenset({"contents", "files", "heads", "tags"})

VOCABULARY = frozenset(
    {
        "access_tokens", "actions", "all", "api", "app", "approvals", "approval_state",
        "approve", "attempts", "award_emoji", "branches", "changes", "check-runs",
        "check-suites", "comments", "commits", "compare", "deliveries", "deployments",
        "diffs", "discussions", "dispatches", "events", "git", "graphql", "hook", "hooks",
        "installation", "installations", "issues", "jobs", "labels", "members", "merge",
        "merge_requests", "notes", "participants", "permission", "pipelines", "pulls",
        "rate_limit", "raw", "reactions", "redeliver", "ref", "refs", "repository",
        "requested_reviewers", "reviews", "status", "statuses", "tree", "update-branch",
        "user", "v3", "v4", "versions", "workflows",
        *NAMED_AFTER,
        *REST_OF_PATH,
    }
)

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _placeholder(segment: str) -> str:
    if segment.isdigit():
        return "{n}"
    if _SHA.fullmatch(segment):
        return "{sha}"
    if "..." in segment:
        return "{range}"
    return "{name}"


def route_of(method: str, url: str) -> str:
    """`METHOD /template` of a request URL (query and host left out)."""
    path = urllib.parse.urlsplit(url).path
    segments = [urllib.parse.unquote(s) for s in path.split("/") if s]
    out: list[str] = []
    named: list[str] = []
    for segment in segments:
        if named:
            out.append(named.pop(0))
            continue
        if out and out[-1] == "{path}":
            continue
        if out and out[-1] in REST_OF_PATH:
            out.append("{path}")
            continue
        if segment in VOCABULARY:
            out.append(segment)
            named = list(NAMED_AFTER.get(segment, ()))
            continue
        out.append(_placeholder(segment))
    return f"{method.upper()} /{'/'.join(out)}"
