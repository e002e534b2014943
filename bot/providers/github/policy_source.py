"""The policy file and CODEOWNERS of a PR, read from the head of its base branch.

Where the policy comes from (the spec's order):

1. `.github/gatebot.yml`, else `.gatebot.yml`, in the repository, at the base
   branch (the `ref` sent is `refs/heads/<base>`, so GitHub answers from the
   branch's current head — never the PR head, nor a tag named like the
   branch, which a bare name would find first);
2. `gatebot.yml` in the owner's `.github` repository (its default branch);
3. the operator's default policy file (`GATEBOT_DEFAULT_POLICY`);
4. nothing: no repository policy.

A file holding only `remote: owner/repo[/path][@ref]` is followed once (the
path defaults to `.github/gatebot.yml`, the ref to that repository's
default branch), to a repository of the same owner or one the operator
allows; a refused or missing remote, or a remote that is itself a pointer,
is an error the gate reports.

CODEOWNERS is looked up where GitHub looks: `.github/`, the root, `docs/`,
at `refs/heads/<base>` too.

The contents API sends a file's text inline only up to 1 MB (larger files
come back with `encoding: none` and no content); a file over `READ_LIMIT`
is refused from the size GitHub reports (`FileTooLarge`), before decoding.
The walk and the pointer rules are every forge's (`bot.providers.policy_chain`);
this module says where GitHub keeps the files and how it reads them.

Every read goes through `StoredFiles` (`bot.providers.stored_files`), which
keeps answers — including "no such file" — in the store until the branch is
pushed to or the TTL passes, so a warm evaluation walks the whole chain
without a request.

The push delivery that drops a branch's kept files can be lost, and a PR's
`base.sha` does not tell: GitHub sets it when the PR is opened or its head
moves, not when the base branch does. So before the base branch's files are
read, `StoredFiles.follow_branch` asks GitHub where the branch is
(`GET /repos/{repo}/commits/heads/{branch}` under the `sha` media type, one
line of text) with the commit the files were kept for as its ETag: GitHub
answers 304, which costs no rate limit, while the branch has not moved, and
the new SHA when it has — then the kept files go (`follow`). One request per
evaluation buys an edited policy or CODEOWNERS governing at once, whether
or not its push was delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from github import Github, GithubException, UnknownObjectException

from bot.forges import GITHUB
from bot.providers import stored_files
from bot.providers.base import FileTooLarge, PolicySources, PolicyText
from bot.providers.policy_chain import branch_ref, operator_policy, repository_policy, resolve

PROVIDER = GITHUB.provider
POLICY_PATHS = GITHUB.policy_paths
OWNER_REPOSITORY = ".github"
OWNER_POLICY_PATH = "gatebot.yml"
REMOTE_DEFAULT_PATH = ".github/gatebot.yml"
CODEOWNERS_PATHS = GITHUB.codeowners_paths
READ_LIMIT = 1024 * 1024
"""The largest file read: what the contents API still sends inline."""
SHA_MEDIA_TYPE = "application/vnd.github.sha"
"""`GET .../commits/{ref}` answers the commit's SHA alone, as text."""


class StoredFiles(stored_files.StoredFiles[Github]):
    """Reads files from GitHub through the store's file cache."""

    provider = PROVIDER
    request = "GET contents"

    def fetch(self, repo: str, path: str, ref: str | None) -> str | None:
        return fetch_file(self.client, repo, path, ref)

    def follow_branch(self, repo: str, branch: str) -> None:
        """Ask GitHub where `branch` is now and `follow` it: one conditional request."""
        known = self.kept_head(repo, branch)
        sha = self.retry.call(
            lambda: fetch_branch_head(self.client, repo, branch, known), what="GET branch head"
        )
        if sha is None:
            # No such branch, GitHub says: nothing kept for it may stand in.
            self.forget(repo, branch)
        else:
            self.follow(repo, branch, sha)


def owner_policy_path(repo: str) -> str | None:
    """`gatebot.yml` when `repo` is its owner's `.github` repository (whose default
    branch holds the owner-wide fallback policy), else None."""
    name = repo.split("/", 1)[1] if "/" in repo else ""
    return OWNER_POLICY_PATH if name.lower() == OWNER_REPOSITORY else None


def fetch_file(client: Github, repo: str, path: str, ref: str | None) -> str | None:
    """One `GET /repos/{repo}/contents/{path}?ref=...`; None when there is no such file.

    Raises `FileTooLarge` for a file GitHub does not send inline.
    """
    repository = client.get_repo(repo)
    try:
        found = (
            repository.get_contents(path, ref=ref)
            if ref is not None
            else repository.get_contents(path)
        )
    except UnknownObjectException:
        return None
    except GithubException as exc:
        # A repository without any commit answers 404 "This repository is empty".
        if exc.status == 404:
            return None
        raise
    if isinstance(found, list):  # a directory by that name
        return None
    # Over 1 MB GitHub sends `encoding: none` and no content, on which
    # PyGithub's `decoded_content` fails: judge by the reported size first.
    if found.size > READ_LIMIT or found.encoding != "base64":
        raise FileTooLarge(path, found.size)
    return found.decoded_content.decode("utf-8", errors="replace")


def fetch_branch_head(client: Github, repo: str, branch: str, known: str | None) -> str | None:
    """The SHA `branch` of `repo` is at: `known` when GitHub answers 304 (it still is);
    None when GitHub knows no such branch."""
    requester = client.requester
    headers = {"Accept": SHA_MEDIA_TYPE}
    if known:
        headers["If-None-Match"] = f'"{known}"'
    # `heads/<branch>`: the branch only, never a tag or a SHA spelled like it.
    path = f"/repos/{repo}/commits/heads/{quote(branch, safe='/')}"
    status, response_headers, output = requester.requestJson("GET", path, headers=headers)
    if status == 304:
        return known
    if status in (404, 422):
        return None
    if status >= 400:
        body = json.loads(output) if isinstance(output, str) and output.startswith("{") else {}
        raise requester.createException(status, response_headers, body)
    return output.strip() if isinstance(output, str) and output.strip() else None


def find_policy(
    files: StoredFiles,
    repo: str,
    base_ref: str,
    operator_default: Path | None,
    remote_allow: Iterable[str] = (),
) -> PolicySources:
    """The policy governing PRs into `base_ref` of `repo`, with the fallbacks resolved;
    `remote_allow`: the operator's allowed remote owners and repositories."""
    return resolve(
        files,
        (
            lambda: repository_policy(files, repo, POLICY_PATHS, base_ref),
            lambda: _owner_policy(files, repo),
            lambda: operator_policy(operator_default),
        ),
        parse_remote,
        repo,
        remote_allow,
    )


def _owner_policy(files: StoredFiles, repo: str) -> PolicyText | None:
    owner_repo = f"{repo.split('/', 1)[0]}/{OWNER_REPOSITORY}"
    text = files.read(owner_repo, OWNER_POLICY_PATH, None)
    if text is None:
        return None
    location = f"{owner_repo}:{OWNER_POLICY_PATH}"
    return PolicyText("owner", location, f"{owner_repo}/{OWNER_POLICY_PATH}", text)


def parse_remote(spec: str) -> tuple[str, str, str | None]:
    """`owner/repo[/path][@ref]` → (repository, path, ref or None)."""
    where, _, ref = spec.partition("@")
    parts = where.split("/", 2)
    repo = f"{parts[0]}/{parts[1]}"
    path = parts[2] if len(parts) == 3 and parts[2] else REMOTE_DEFAULT_PATH
    return repo, path, ref or None


def find_codeowners(files: StoredFiles, repo: str, base_ref: str) -> str | None:
    """CODEOWNERS of the base branch, from the first place GitHub looks that has one."""
    return stored_files.find_codeowners(files, repo, CODEOWNERS_PATHS, branch_ref(base_ref))
