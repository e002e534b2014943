"""Merging on GitLab: the merge request read fresh, the project's merge methods, and the writes.

- `merge_state` maps GitLab's `detailed_merge_status` onto the pipeline's
  two questions. `mergeable` — can the branches be merged at all: True for
  `mergeable`, False for `conflict` and `broken_status`, None (GitLab still
  computing: look again shortly) for `unchecked`, `checking`, `preparing`,
  `approvals_syncing` and `ci_still_running`. `need_rebase` (a fast-forward
  project whose source branch is behind its target) is mergeable once
  rebased: `mergeable_state` `behind`, so a policy with `update_branch`
  rebases it and any other leaves GitLab to refuse the merge with its own
  reason. GitLab's other blockers (`not_approved`, `draft_status`,
  `discussions_not_resolved`, `ci_must_pass`, `blocked_status`, ...) are
  `blocked`, still mergeable as far as the branches go: GitLab refuses the
  merge call with its own message, which the merge step passes on. Servers
  too old to send `detailed_merge_status` are read from `merge_status`.
- `allowed_merge_methods` maps the project's settings onto gatebot's names:
  `merge` always (GitLab merges as the project says: a merge commit, a
  merge commit after a rebase, or a fast-forward), `squash` unless
  `squash_option` is `never`, `rebase` when `merge_method` is `ff` or
  `rebase_merge`. Cached per process for the forge cache's lifetime.
- `merge` is `PUT .../merge` with `sha` = the evaluated head, under the
  `unsafe_write` policy (repeated only when GitLab certainly did not act).
  Answers: 200 and merged → merged; 409 (the SHA is not the head) → head
  moved; 405, 406, 422 (and 401, 403, 404) → refused with GitLab's message;
  5xx, a timeout, a dropped connection, or a 200 that does not say merged
  → unknown: the caller re-reads the merge request before anything else.
- `update_branch` is `PUT .../rebase`. GitLab's rebase takes no expected
  head; the merge step has just read the merge request afresh and compared
  its head, and a rebase produces a new head that is evaluated anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from bot.providers import merge_methods
from bot.providers.base import MergeAnswer, MergeState
from bot.providers.gitlab.client import GitLabClient, GitLabError, encoded, project
from bot.providers.gitlab.snapshot import (
    base_sha_of,
    merge_sha_of,
    mr_path,
    read_raw_commits,
    state_of,
)
from bot.retry import RetryPolicies, classify

_MERGEABLE = frozenset({"mergeable", "can_be_merged"})
_CONFLICTING = frozenset({"conflict", "broken_status", "cannot_be_merged"})
_COMPUTING = frozenset(
    {
        "unchecked",
        "checking",
        "preparing",
        "approvals_syncing",
        "ci_still_running",
        "cannot_be_merged_recheck",
    }
)
_REFUSALS = frozenset({401, 403, 404, 405, 406, 422})


def mergeability(mr: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(mergeable, mergeable_state) from GitLab's merge status (see the module's note)."""
    if mr.get("state") not in ("opened", "locked"):
        return False, "closed"
    detailed = str(mr.get("detailed_merge_status") or mr.get("merge_status") or "unchecked")
    if detailed in _MERGEABLE:
        return True, "clean"
    if detailed == "need_rebase":
        return True, "behind"
    if detailed in _CONFLICTING:
        return False, "dirty"
    if detailed == "not_open":
        return False, "closed"
    if detailed in _COMPUTING:
        return None, "unknown"
    return True, "blocked"


def merge_state(mr: Mapping[str, Any]) -> MergeState:
    """A merge request object as the merge step needs it."""
    mergeable, mergeable_state = mergeability(mr)
    source, target = mr.get("source_project_id"), mr.get("target_project_id")
    author = mr.get("author") or {}
    return MergeState(
        number=int(mr["iid"]),
        state=state_of(mr),
        merged=mr.get("state") == "merged",
        merge_sha=merge_sha_of(mr),
        head_sha=str(mr.get("sha") or ""),
        head_ref=str(mr["source_branch"]),
        base_ref=str(mr["target_branch"]),
        base_sha=base_sha_of(mr),
        mergeable=mergeable,
        mergeable_state=mergeable_state,
        from_fork=source is not None and target is not None and source != target,
        title=str(mr.get("title") or ""),
        body=str(mr.get("description") or ""),
        author=str(author.get("username") or "ghost"),
    )


def methods_of(settings: Mapping[str, Any]) -> frozenset[str]:
    """A project's `merge_method` and `squash_option` → gatebot's merge method names."""
    methods = {"merge"}
    if str(settings.get("squash_option") or "default_off") != "never":
        methods.add("squash")
    if settings.get("merge_method") in ("ff", "rebase_merge"):
        methods.add("rebase")
    return frozenset(methods)


class MergeMethods(merge_methods.MergeMethods):
    """The allowed merge methods per project, cached for `ttl_seconds`; thread-safe."""

    methods_of = staticmethod(methods_of)


def commit_body(title: str | None, message: str | None) -> str | None:
    """GitLab takes one commit message: the title, a blank line, the body."""
    if title is None and message is None:
        return None
    if not message:
        return title
    return f"{title}\n\n{message}" if title else message


class GitLabMerging:
    """The merge writes for one merge request, through one evaluation's client."""

    def __init__(self, client: GitLabClient, repo: str, iid: int, retries: RetryPolicies) -> None:
        self.client = client
        self.repo = repo
        self.iid = iid
        self.retries = retries

    @property
    def _path(self) -> str:
        return mr_path(self.repo, self.iid)

    def read(self) -> Any:
        return self.retries.read.call(
            lambda: self.client.json("get", self._path), what=f"GET merge request {self.iid}"
        )

    def project_settings(self) -> Mapping[str, Any]:
        return self.retries.read.call(
            lambda: self.client.json("get", project(self.repo)), what="GET project"
        )

    def merge(
        self, sha: str, method: str, title: str | None, message: str | None, now: float
    ) -> MergeAnswer:
        body: dict[str, Any] = {"sha": sha, "squash": method == "squash"}
        text = commit_body(title, message)
        if text is not None and method == "squash":
            body["squash_commit_message"] = text
        elif text is not None and method == "merge":
            # Used when the project makes a merge commit; a fast-forward ignores it.
            body["merge_commit_message"] = text

        def put() -> Any:
            return self.client.json("put", f"{self._path}/merge", body=body)

        try:
            data = self.retries.unsafe_write.call(put, what="PUT merge")
        except GitLabError as exc:
            failure = classify(exc, now)
            if failure.kind == "server":
                return MergeAnswer("unknown", message=exc.text, status=exc.status)
            if failure.kind == "rate_limit":
                raise
            if exc.status == 409:
                return MergeAnswer("head_moved", message=exc.text, status=409)
            if exc.status in _REFUSALS:
                return MergeAnswer("refused", message=exc.text, status=exc.status)
            raise
        except requests.exceptions.RequestException as exc:
            failure = classify(exc, now)
            if failure.kind == "unsent":
                raise
            return MergeAnswer("unknown", message=f"no answer from GitLab ({failure.kind})")
        merged = merge_sha_of(data) if isinstance(data, Mapping) else None
        if merged is None:
            state = data.get("state") if isinstance(data, Mapping) else None
            return MergeAnswer(
                "unknown", message=f"GitLab accepted the merge but reports it {state or 'unmerged'}"
            )
        return MergeAnswer("merged", merge_sha=merged)

    def update_branch(self) -> str | None:
        def put() -> None:
            self.client.request("put", f"{self._path}/rebase")

        try:
            # Not repeated after a 5xx: the rebase may be under way; the merge
            # request stays marked and the next evaluation sees either head.
            self.retries.unsafe_write.call(put, what="PUT rebase")
        except GitLabError as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                return exc.text
            raise
        return None

    def delete_branch(self, ref: str) -> bool:
        def delete() -> None:
            self.client.request(
                "delete", f"{project(self.repo)}/repository/branches/{encoded(ref)}"
            )

        try:
            self.retries.idempotent_write.call(delete, what="DELETE branch")
        except GitLabError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def open_pulls_into(self, branch: str) -> tuple[int, ...]:
        listed = self.client.pages(
            f"{project(self.repo)}/merge_requests",
            self.retries.read,
            "GET open merge requests by target",
            query={"state": "opened", "target_branch": branch},
        )
        return tuple(int(mr["iid"]) for mr in listed)

    def commit_messages(self) -> tuple[str, ...]:
        raw = read_raw_commits(self.client, self.repo, self.iid, self.retries.read)
        return tuple(str(c.get("message") or c.get("title") or "") for c in raw)

    def comment(self, body: str) -> int:
        def post() -> int:
            data = self.client.json("post", f"{self._path}/notes", body={"body": body})
            return int(data["id"])

        return self.retries.unsafe_write.call(post, what="POST note")

    def edit_comment(self, note_id: int, body: str) -> None:
        """Rewrite one of the bot's notes (the same body twice is no error: retried)."""

        def put() -> None:
            self.client.json("put", f"{self._path}/notes/{note_id}", body={"body": body})

        self.retries.idempotent_write.call(put, what="PUT note")
