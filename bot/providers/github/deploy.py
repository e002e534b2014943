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

from bot.providers.base import DeployAnswer, DeployProgress
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
        answer, data = self._write(
            f"/repos/{self.repo}/deployments", body, {}, "POST deployment"
        )
        if answer.kind == "created":
            return DeployAnswer(
                "created", link=self._deployment_link(environment), reference=_id_of(data, "id")
            )
        return answer

    def workflow_dispatch(
        self, workflow: str, ref: str, inputs: dict[str, str], idempotency_key: str
    ) -> DeployAnswer:
        route = f"/repos/{self.repo}/actions/workflows/{quote(workflow, safe='')}/dispatches"
        # `return_run_details`: GitHub answers 200 with the run it started
        # (`workflow_run_id`), which is followed by that id; a server that answers
        # 204 without it leaves the run unnamed, and unfollowed.
        answer, data = self._write(
            route,
            {"ref": ref, "inputs": inputs, "return_run_details": True},
            {"Idempotency-Key": idempotency_key},
            "POST workflow dispatch",
        )
        if answer.kind == "created":
            run = _id_of(data, "workflow_run_id")
            link = (
                f"{self.repo_page}/actions/runs/{run}" if run is not None
                else f"{self.repo_page}/actions/workflows/{quote(workflow, safe='')}"
            )
            return DeployAnswer("created", link=link, reference=run)
        return answer

    def repository_dispatch(
        self, event_type: str, client_payload: dict[str, str], idempotency_key: str
    ) -> DeployAnswer:
        answer, _ = self._write(
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
    ) -> tuple[DeployAnswer, Any]:
        """The answer, and GitHub's body when it created something."""

        def post() -> Any:
            _, data = self.client.requester.requestJsonAndCheck(
                "POST", route, input=body, headers=headers or None
            )
            return data

        try:
            data = self.retries.unsafe_write.call(post, what=what)
        except GithubException as exc:
            failure = classify(exc, self.now)
            if failure.kind == "server":
                return DeployAnswer("unknown", message=_message(exc)), None
            if failure.kind == "rate_limit":
                # Refused before GitHub acted: nothing was created, a later run may send it.
                return DeployAnswer("unsent", message="GitHub's rate limit refused the call"), None
            return DeployAnswer("refused", message=_message(exc)), None
        except RateLimited:
            return DeployAnswer("unsent", message="GitHub's rate limit refused the call"), None
        except requests.exceptions.RequestException as exc:
            failure = classify(exc, self.now)
            if failure.kind == "unsent":
                return DeployAnswer("unsent", message="GitHub could not be reached"), None
            return DeployAnswer("unknown", message=f"no answer from GitHub ({failure.kind})"), None
        return DeployAnswer("created"), data

    # -- following a deployment -------------------------------------------------------

    def deployment_progress(self, deployment_id: str) -> DeployProgress:
        """A deployment's stage from its statuses (newest first): `success` succeeded;
        `failure` or `error` failed; `inactive` succeeded when an earlier status was a
        success (a later deployment replaced it), else failed; anything else running."""

        def fetch() -> list[Any]:
            _, data = self.client.requester.requestJsonAndCheck(
                "GET", f"/repos/{self.repo}/deployments/{int(deployment_id)}/statuses",
                parameters={"per_page": 100},
            )
            return list(data)

        statuses = self.retries.read.call(fetch, what="GET deployment statuses")
        if not statuses:
            return DeployProgress("running")
        newest = statuses[0]
        state = str(newest.get("state") or "")
        link = _status_link(newest)
        said = str(newest.get("description") or "")
        if state == "success":
            return DeployProgress("succeeded", link=link, message=said)
        if state in ("failure", "error"):
            return DeployProgress("failed", link=link, message=said or f"GitHub says {state}")
        if state == "inactive":
            if any(s.get("state") == "success" for s in statuses[1:]):
                return DeployProgress("succeeded", link=link, message=said)
            return DeployProgress("failed", link=link, message="deactivated before it succeeded")
        return DeployProgress("running", link=link, message=said)

    def run_progress(self, run_id: str) -> DeployProgress:
        """A workflow run's stage: `completed` with conclusion `success` succeeded, any
        other conclusion failed; not completed yet running."""

        def fetch() -> Any:
            _, data = self.client.requester.requestJsonAndCheck(
                "GET", f"/repos/{self.repo}/actions/runs/{int(run_id)}"
            )
            return data

        run = self.retries.read.call(fetch, what="GET workflow run")
        link = str(run.get("html_url") or "") or None
        if run.get("status") != "completed":
            return DeployProgress("running", link=link)
        conclusion = str(run.get("conclusion") or "")
        if conclusion == "success":
            return DeployProgress("succeeded", link=link)
        return DeployProgress("failed", link=link, message=f"the run ended {conclusion or 'without a conclusion'}")


def _status_link(status: Any) -> str | None:
    for field in ("log_url", "target_url", "environment_url"):
        value = status.get(field)
        if value:
            return str(value)
    return None


def _id_of(data: Any, field: str) -> str | None:
    value = data.get(field) if isinstance(data, dict) else None
    return str(value) if isinstance(value, int) else None
