"""The policy file and CODEOWNERS of a merge request, read from the head of its target branch.

Where the policy comes from (the spec's order for GitLab):

1. `.gitlab/gatebot.yml`, else `.gatebot.yml`, in the project, at the target
   branch (the `ref` sent is `refs/heads/<target>`, so GitLab answers from the
   branch's current head — never the merge request's source branch, nor a
   tag named like the branch, which a bare name would find first);
2. the operator's default policy file (`GATEBOT_DEFAULT_POLICY`);
3. nothing: no project policy. (GitLab has no owner-wide `.github`
   repository, so there is no step between the two.)

A file holding only `remote: group/project[/path][@ref]` is followed once
(`bot.providers.policy_chain`), to a project under the same top-level group
or one the operator allows; the path defaults to `.gitlab/gatebot.yml`,
the ref to the project's default branch. A project in a subgroup is named
the way GitLab's own URLs separate a project from its files, with `/-/`:
`remote: acme/platform/policies/-/gatebot.yml@main`.

CODEOWNERS is looked up where GitLab looks, in GitLab's order: the root,
`docs/`, `.gitlab/` (at `refs/heads/<target>` too). A file over `READ_LIMIT`
is refused (`FileTooLarge`) by its `Content-Length` before it is decoded.

Every read goes through `StoredFiles` (`bot.providers.stored_files`), which
keeps answers — including "no such file" — in the store (provider `gitlab`)
until the branch is pushed to or the TTL passes. A file is one `GET /projects/:id/repository/files/:path/raw`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bot.forges import GITLAB
from bot.providers import stored_files
from bot.providers.base import FileTooLarge, PolicySources
from bot.providers.gitlab.client import GitLabClient, GitLabError, encoded, project
from bot.providers.policy_chain import branch_ref, operator_policy, repository_policy, resolve

PROVIDER = GITLAB.provider
POLICY_PATHS = GITLAB.policy_paths
REMOTE_DEFAULT_PATH = ".gitlab/gatebot.yml"
CODEOWNERS_PATHS = GITLAB.codeowners_paths
PROJECT_SEPARATOR = "/-/"
READ_LIMIT = 1024 * 1024
"""The largest file read."""


class StoredFiles(stored_files.StoredFiles[GitLabClient]):
    """Reads files from GitLab through the store's file cache."""

    provider = PROVIDER
    request = "GET file"

    def fetch(self, repo: str, path: str, ref: str | None) -> str | None:
        return fetch_file(self.client, repo, path, ref)


def fetch_file(client: GitLabClient, repo: str, path: str, ref: str | None) -> str | None:
    """One `GET .../repository/files/:path/raw?ref=...`; None when there is no such file.

    GitLab answers 404 for a missing file, a missing ref and an empty repository alike.
    """
    query = {"ref": ref} if ref is not None else {}
    try:
        response = client.request(
            "get", f"{project(repo)}/repository/files/{encoded(path)}/raw", query=query
        )
    except GitLabError as exc:
        if exc.status == 404:
            return None
        raise
    declared = response.headers.get("Content-Length", "")
    size = int(declared) if declared.isdigit() else len(response.content)
    if max(size, len(response.content)) > READ_LIMIT:
        raise FileTooLarge(path, max(size, len(response.content)))
    return response.content.decode("utf-8", errors="replace")


def parse_remote(spec: str) -> tuple[str, str, str | None]:
    """`group/project[/path][@ref]`, or `group/sub/project/-/path[@ref]` → (project, path,
    ref or None)."""
    where, _, ref = spec.partition("@")
    if PROJECT_SEPARATOR in where:
        repo, _, path = where.partition(PROJECT_SEPARATOR)
    else:
        parts = where.split("/", 2)
        repo = f"{parts[0]}/{parts[1]}"
        path = parts[2] if len(parts) == 3 else ""
    return repo, path or REMOTE_DEFAULT_PATH, ref or None


def find_policy(
    files: StoredFiles,
    repo: str,
    target_branch: str,
    operator_default: Path | None,
    remote_allow: Iterable[str] = (),
) -> PolicySources:
    """The policy governing merge requests into `target_branch` of `repo`;
    `remote_allow`: the operator's allowed remote groups and projects."""
    return resolve(
        files,
        (
            lambda: repository_policy(files, repo, POLICY_PATHS, target_branch),
            lambda: operator_policy(operator_default),
        ),
        parse_remote,
        repo,
        remote_allow,
    )


def find_codeowners(files: StoredFiles, repo: str, target_branch: str) -> str | None:
    """CODEOWNERS of the target branch, from the first place GitLab looks that has one."""
    return stored_files.find_codeowners(
        files, repo, CODEOWNERS_PATHS, branch_ref(target_branch)
    )
