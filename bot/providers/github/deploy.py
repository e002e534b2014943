"""Deploying on GitHub: deployments of the merge commit, workflow and repository dispatches.

- `deployments_of` lists `GET /repos/{o}/{r}/deployments?sha=&environment=`
  (a read, retried): the deploy step settles a lost answer with it.
- `create_deployment` is `POST /deployments` with `ref` = the merge SHA,
  `auto_merge: false` (GitHub would otherwise merge the default branch into
  a branch ref) and `required_contexts: []` (it would otherwise demand every
  status be green, the bot's own included).
- `workflow_dispatch` calls `POST …/actions/workflows/{id}/dispatches`
  directly: PyGithub's `get_workflow()` would first GET the workflow.
- `repository_dispatch` is `POST /repos/{o}/{r}/dispatches`.

Every write runs under the `unsafe_write` policy: repeated only when GitHub
certainly did not act. Dispatches carry an `Idempotency-Key` header derived
from the deploy key. Answers become a `DeployAnswer`: 2xx created, 4xx
refused (GitHub's own message), a rate limit or a connection never opened
unsent (nothing happened; a later run may send it), 5xx / timeout / dropped
connection unknown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from github import Github, GithubException

from bot.providers.base import DeployAnswer
from bot.retry import RateLimited, RetryPolicies, classify


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return f"GitHub answered {exc.status}"


class GitHubDeploying:
    """The deploy calls for one repository, through one installation client."""

    def __init__(
        self, client: Github, repo: str, retries: RetryPolicies, repo_page: str, now: float
    ) -> None:
        self.client = client
        self.repo = repo
        self.retries = retries
        self.repo_page = repo_page.rstrip("/")
        """The repository's web page, which links are built on."""
        self.now = now

    def deployments_of(self, sha: str, environment: str) -> tuple[str, ...]:
        params = {"sha": sha, "environment": environment, "per_page": 100}

        def fetch() -> list[Any]:
            _, data = self.client.requester.requestJsonAndCheck(
                "GET", f"/repos/{self.repo}/deployments", parameters=params
            )
            return list(data)

        listed = self.retries.read.call(fetch, what="GET deployments")
        return tuple(self._deployment_link(environment) for d in listed if d.get("sha") == sha)

    def _deployment_link(self, environment: str) -> str:
        return f"{self.repo_page}/deployments/{quote(environment, safe='')}"

    def create_deployment(
        self, sha: str, environment: str, description: str | None, payload: dict[str, str]
    ) -> DeployAnswer:
        body: dict[str, Any] = {
            "ref": sha,
            "environment": environment,
            "auto_merge": False,
            "required_contexts": [],
            "payload": payload,
        }
        if description is not None:
            body["description"] = description
        answer = self._write(f"/repos/{self.repo}/deployments", body, {}, "POST deployment")
        if answer.kind == "created":
            return DeployAnswer("created", link=self._deployment_link(environment))
        return answer

    def workflow_dispatch(
        self, workflow: str, ref: str, inputs: dict[str, str], idempotency_key: str
    ) -> DeployAnswer:
        route = f"/repos/{self.repo}/actions/workflows/{quote(workflow, safe='')}/dispatches"
        answer = self._write(
            route, {"ref": ref, "inputs": inputs}, {"Idempotency-Key": idempotency_key},
            "POST workflow dispatch",
        )
        if answer.kind == "created":
            link = f"{self.repo_page}/actions/workflows/{quote(workflow, safe='')}"
            return DeployAnswer("created", link=link)
        return answer

    def repository_dispatch(
        self, event_type: str, client_payload: dict[str, str], idempotency_key: str
    ) -> DeployAnswer:
        answer = self._write(
            f"/repos/{self.repo}/dispatches",
            {"event_type": event_type, "client_payload": client_payload},
            {"Idempotency-Key": idempotency_key},
            "POST repository dispatch",
        )
        if answer.kind == "created":
            return DeployAnswer("created", link=f"{self.repo_page}/actions")
        return answer

    def _write(
        self, route: str, body: dict[str, Any], headers: dict[str, str], what: str
    ) -> DeployAnswer:
        def post() -> None:
            self.client.requester.requestJsonAndCheck(
                "POST", route, input=body, headers=headers or None
            )

        try:
            self.retries.unsafe_write.call(post, what=what)
        except GithubException as exc:
            failure = classify(exc, self.now)
            if failure.kind == "server":
                return DeployAnswer("unknown", message=_message(exc))
            if failure.kind == "rate_limit":
                # Refused before GitHub acted: nothing was created, a later run may send it.
                return DeployAnswer("unsent", message="GitHub's rate limit refused the call")
            return DeployAnswer("refused", message=_message(exc))
        except RateLimited:
            return DeployAnswer("unsent", message="GitHub's rate limit refused the call")
        except requests.exceptions.RequestException as exc:
            failure = classify(exc, self.now)
            if failure.kind == "unsent":
                return DeployAnswer("unsent", message="GitHub could not be reached")
            return DeployAnswer("unknown", message=f"no answer from GitHub ({failure.kind})")
        return DeployAnswer("created")
