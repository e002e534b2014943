"""Deploying on GitLab: a pipeline on the branch the merge request went into.

`create_pipeline` is `POST /projects/:id/pipeline` with `ref` (a branch or
tag) and the policy's variables, under the `unsafe_write` policy: repeated
only when GitLab certainly did not act. GitLab takes no idempotency key, so
a lost answer is never sent again blindly. Answers become a `DeployAnswer`:
201 created (linking to the pipeline's page), 4xx refused with GitLab's own
message, a rate limit or a connection never opened unsent, 5xx / timeout /
dropped connection unknown.

GitHub's deploy methods (deployments, workflow and repository dispatches)
have no GitLab counterpart here: the evaluation does not list them in its
`deploy_methods`, so the deploy step refuses them without asking GitLab.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from bot.providers.base import DeployAnswer, DeployProgress
from bot.providers.gitlab.client import GitLabClient, GitLabError, project
from bot.retry import RateLimited, RetryPolicies, classify


def create_pipeline(
    client: GitLabClient,
    repo: str,
    ref: str,
    variables: Mapping[str, str],
    retries: RetryPolicies,
    now: float,
) -> DeployAnswer:
    body: dict[str, Any] = {
        "ref": ref,
        "variables": [
            {"key": key, "value": value, "variable_type": "env_var"}
            for key, value in variables.items()
        ],
    }

    def post() -> Any:
        return client.json("post", f"{project(repo)}/pipeline", body=body)

    try:
        data = retries.unsafe_write.call(post, what="POST pipeline")
    except GitLabError as exc:
        failure = classify(exc, now)
        if failure.kind == "server":
            return DeployAnswer("unknown", message=exc.text)
        if failure.kind == "rate_limit":
            # Refused before GitLab acted: nothing was created, a later run may send it.
            return DeployAnswer("unsent", message="GitLab's rate limit refused the call")
        return DeployAnswer("refused", message=exc.text)
    except RateLimited:
        return DeployAnswer("unsent", message="GitLab's rate limit refused the call")
    except requests.exceptions.RequestException as exc:
        failure = classify(exc, now)
        if failure.kind == "unsent":
            return DeployAnswer("unsent", message="GitLab could not be reached")
        return DeployAnswer("unknown", message=f"no answer from GitLab ({failure.kind})")
    link = data.get("web_url") if isinstance(data, Mapping) else None
    ident = data.get("id") if isinstance(data, Mapping) else None
    return DeployAnswer(
        "created", link=str(link) if link else None,
        reference=str(ident) if isinstance(ident, int) else None,
    )


ENDED_WELL = frozenset({"success"})
ENDED_BADLY = frozenset({"failed", "canceled", "skipped"})


def pipeline_progress(
    client: GitLabClient, repo: str, pipeline_id: str, retries: RetryPolicies
) -> DeployProgress:
    """A pipeline's stage (`GET /projects/:id/pipelines/:pipeline_id`): `success`
    succeeded; `failed`, `canceled` or `skipped` failed; any other status (created,
    pending, running, manual, scheduled...) is still running."""

    def get() -> Any:
        return client.json("get", f"{project(repo)}/pipelines/{int(pipeline_id)}")

    data = retries.read.call(get, what="GET pipeline")
    status = str(data.get("status") or "") if isinstance(data, Mapping) else ""
    link = data.get("web_url") if isinstance(data, Mapping) else None
    shown = str(link) if link else None
    if status in ENDED_WELL:
        return DeployProgress("succeeded", link=shown)
    if status in ENDED_BADLY:
        return DeployProgress("failed", link=shown, message=f"the pipeline ended {status}")
    return DeployProgress("running", link=shown)
