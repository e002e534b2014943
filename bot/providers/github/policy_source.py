"""The policy file and CODEOWNERS of a PR, read from the head of its base branch.

Where the policy comes from (the spec's order):

1. `.github/gatebot.yml`, else `.gatebot.yml`, in the repository, at the base
   branch (the `ref` sent is the base branch's name, so GitHub answers from
   its current head — never the PR head);
2. `gatebot.yml` in the owner's `.github` repository (its default branch);
3. the operator's default policy file (`GATEBOT_DEFAULT_POLICY`);
4. nothing: no repository policy.

A file holding only `remote: owner/repo[/path][@ref]` is followed once (the
path defaults to `.github/gatebot.yml`, the ref to that repository's
default branch); a missing remote, or a remote that is itself a pointer, is
an error the gate reports.

CODEOWNERS is looked up where GitHub looks: `.github/`, the root, `docs/`.

Every read goes through `StoredFiles`, which keeps answers — including "no
such file" — in the store until the branch is pushed to or the TTL passes,
so a warm evaluation walks the whole chain without a request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from github import Github, GithubException, UnknownObjectException

from bot.core.policy.loader import load_policy_file
from bot.providers.base import PolicySources, PolicyText
from bot.retry import RetryPolicy
from bot.store import Store, forge_files

PROVIDER = "github"
POLICY_PATHS = (".github/gatebot.yml", ".gatebot.yml")
OWNER_REPOSITORY = ".github"
OWNER_POLICY_PATH = "gatebot.yml"
REMOTE_DEFAULT_PATH = ".github/gatebot.yml"
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


class StoredFiles:
    """Reads files from GitHub through the store's file cache."""

    def __init__(
        self,
        client: Github,
        store: Store,
        read: RetryPolicy,
        *,
        ttl_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.store = store
        self.retry = read
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def read(self, repo: str, path: str, ref: str | None) -> str | None:
        """The text of `path` in `repo` at `ref` (None: the default branch); None if missing."""
        key_ref = ref if ref is not None else forge_files.DEFAULT_BRANCH
        now = self.clock()
        with self.store.begin() as conn:
            cached = forge_files.get(conn, PROVIDER, repo, key_ref, path, now - self.ttl)
        if cached is not None:
            return cached.content
        text = self.retry.call(
            lambda: fetch_file(self.client, repo, path, ref), what=f"GET contents {path}"
        )
        with self.store.begin() as conn:
            forge_files.put(conn, PROVIDER, repo, key_ref, path, text, now)
        return text


def fetch_file(client: Github, repo: str, path: str, ref: str | None) -> str | None:
    """One `GET /repos/{repo}/contents/{path}?ref=...`; None when there is no such file."""
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
    return found.decoded_content.decode("utf-8", errors="replace")


def find_policy(
    files: StoredFiles, repo: str, base_ref: str, operator_default: Path | None
) -> PolicySources:
    """The policy governing PRs into `base_ref` of `repo`, with the fallbacks resolved."""
    for path in POLICY_PATHS:
        text = files.read(repo, path, base_ref)
        if text is not None:
            return _follow(files, PolicyText("repository", f"{repo}:{path}@{base_ref}", path, text))
    owner = repo.split("/", 1)[0]
    owner_repo = f"{owner}/{OWNER_REPOSITORY}"
    text = files.read(owner_repo, OWNER_POLICY_PATH, None)
    if text is not None:
        location = f"{owner_repo}:{OWNER_POLICY_PATH}"
        return _follow(
            files, PolicyText("owner", location, f"{owner_repo}/{OWNER_POLICY_PATH}", text)
        )
    if operator_default is not None:
        text = operator_default.read_text(encoding="utf-8")
        return _follow(
            files, PolicyText("operator", str(operator_default), operator_default.name, text)
        )
    return PolicySources(policy=None)


def parse_remote(spec: str) -> tuple[str, str, str | None]:
    """`owner/repo[/path][@ref]` → (repository, path, ref or None)."""
    where, _, ref = spec.partition("@")
    parts = where.split("/", 2)
    repo = f"{parts[0]}/{parts[1]}"
    path = parts[2] if len(parts) == 3 and parts[2] else REMOTE_DEFAULT_PATH
    return repo, path, ref or None


def _follow(files: StoredFiles, found: PolicyText) -> PolicySources:
    loaded = load_policy_file(found.text, found.filename)
    if loaded.remote is None:
        return PolicySources(policy=found)
    repo, path, ref = parse_remote(loaded.remote.remote)
    location = f"{repo}:{path}" + (f"@{ref}" if ref else "")
    text = files.read(repo, path, ref)
    if text is None:
        return PolicySources(
            policy=None,
            pointer=found,
            error=f"the remote policy {location} named in {found.location} does not exist",
            error_file=found.filename,
        )
    remote = PolicyText("remote", location, f"{repo}/{path}", text)
    if load_policy_file(text, remote.filename).remote is not None:
        return PolicySources(
            policy=None,
            pointer=found,
            error=(
                f"the remote policy {location} named in {found.location} is itself a "
                "`remote:` pointer; remote policies are followed one level deep"
            ),
            error_file=remote.filename,
        )
    return PolicySources(policy=remote, pointer=found)


def find_codeowners(files: StoredFiles, repo: str, base_ref: str) -> str | None:
    """CODEOWNERS of the base branch, from the first place GitHub looks that has one."""
    for path in CODEOWNERS_PATHS:
        text = files.read(repo, path, base_ref)
        if text is not None:
            return text
    return None
