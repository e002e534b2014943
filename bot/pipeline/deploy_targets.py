"""Operator deploy targets (`GATEBOT_DEPLOY_TARGETS`): webhooks, Jenkins jobs and AWS
CodeDeploy — sending a deployment, finding one whose answer was lost, and asking how one
stands.

- `webhook`: `POST <url>` with a JSON body (`repository`, `number`,
  `merge_sha`, `head_sha`, `base`, `environment`, `deploy`, `delivery`, and
  `callback_url` for a target with `callback: true`: see
  `bot.web.deploy_callback`),
  signed `X-Gatebot-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
  keyed with the target's secret>`, and an `Idempotency-Key` header derived
  from (repository, merge SHA, deploy name) so a receiver can drop a repeat.
- `jenkins`: `GET <jenkins>/crumbIssuer/api/json` with basic auth (`user`,
  `api_token`) for the CSRF crumb, whose session cookie the same
  `requests.Session` keeps, then `POST <job>/buildWithParameters` with
  `MERGE_SHA`, `HEAD_SHA`, `NUMBER`, `BASE`, `ENVIRONMENT`, `REPOSITORY`,
  `DEPLOY` and the job token as the `token` form field — never in the URL,
  where `requests` exceptions and server logs would show it. The answer's
  `Location` (the queue item, on the same server) is the deploy's reference.
  Progress: `GET <queue item>/api/json` (cancelled, or the build's number once
  it started), then `GET <job>/<number>/api/json` (`building`, `result`), with
  the same basic auth. The build is read under the operator's job URL, never
  at an address a response names, and the server's address is never a link.
- `aws_codedeploy`: `bot.pipeline.codedeploy` (boto3); CodeDeploy can be asked
  whether a lost call created a deployment (`find`).

Writes run under `unsafe_write` (repeated only when the connection was never
opened). No message built here quotes a URL, a header or an exception's text:
only the target's name, the kind of failure and the HTTP status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests

from bot.pipeline.codedeploy import AwsFailure, CodeDeploy
from bot.pipeline.operator import DeployTarget
from bot.providers.base import DeployAnswer, DeployProgress
from bot.retry import ForgeAnswer, RateLimited, RetryPolicies, classify

SIGNATURE_HEADER = "X-Gatebot-Signature-256"
TIMEOUT = (5.0, 30.0)
"""Seconds to connect, then to wait for the answer."""


@dataclass(frozen=True)
class DeployFacts:
    """What a target is told about the merge it deploys."""

    repository: str
    number: int
    merge_sha: str
    head_sha: str
    base: str
    environment: str
    deploy: str

    def values(self) -> dict[str, str]:
        """The placeholders an operator target's templates may use."""
        return {
            "merge_sha": self.merge_sha, "head_sha": self.head_sha, "number": str(self.number),
            "base": self.base, "environment": self.environment, "repository": self.repository,
        }


class TargetUnavailable(Exception):
    """A target could not say how a deployment stands; the message names the target and
    the kind of failure only. Asking again later is safe."""


def idempotency_key(repo: str, merge_sha: str, name: str) -> str:
    """The hex SHA-256 of the deploy key: the same for every attempt of one deployment."""
    return hashlib.sha256(f"{repo.lower()}\n{merge_sha}\n{name}".encode()).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """`sha256=` + the hex HMAC-SHA256 of `body` keyed with `secret` (GitHub's scheme)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class TargetCaller:
    """Sends deployments to the operator's targets; one per worker process."""

    def __init__(
        self, retries: RetryPolicies, session_factory=requests.Session,
        callback_url: str | None = None,
    ) -> None:
        self.retries = retries
        self.session_factory = session_factory
        self.codedeploy = CodeDeploy(retries)
        self.callback_url = callback_url
        """Where `callback: true` webhook targets report how a deployment ended."""

    def send(self, target: DeployTarget, facts: DeployFacts, key: str, now: float) -> DeployAnswer:
        if target.type == "aws_codedeploy":
            return self.codedeploy.send(target, facts.values(), key)
        with self.session_factory() as session:
            try:
                if target.type == "webhook":
                    response = self._webhook(session, target, facts, key)
                else:
                    response = self._jenkins(session, target, facts, key)
            except _Refused as refused:
                return DeployAnswer("refused", message=refused.message)
            except RateLimited:
                return DeployAnswer("unsent", message=f"target {target.name} asked to wait")
            except requests.exceptions.RequestException as exc:
                # The exception's text holds the URL: only its kind is said.
                failure = classify(exc, now)
                if failure.kind == "unsent":
                    return DeployAnswer(
                        "unsent", message=f"target {target.name} could not be reached"
                    )
                return DeployAnswer(
                    "unknown", message=f"no answer from target {target.name} ({failure.kind})"
                )
        answer = _answer(target, response.status_code)
        if answer.kind == "created" and target.type == "jenkins":
            queued = _queue_item(target, response.headers.get("Location"))
            return DeployAnswer("created", reference=queued)
        if answer.kind == "created" and target.type == "webhook":
            # The idempotency key names the deployment in the target's callback.
            return DeployAnswer("created", reference=key)
        return answer

    @staticmethod
    def can_find(target: DeployTarget) -> bool:
        """Whether the target can be asked if a call whose answer was lost acted."""
        return target.type == "aws_codedeploy"

    def find(self, target: DeployTarget, key: str, since: datetime) -> DeployAnswer:
        """Look for the deployment of `key` an earlier call may have made (only where
        `can_find`): `created` if found, `unsent` if certainly absent, else `unknown`."""
        return self.codedeploy.find(target, key, since)

    def progress(self, target: DeployTarget, reference: str) -> DeployProgress:
        """How the deployment the target started (`reference`, from its answer) stands;
        raises `TargetUnavailable` when the target cannot say now."""
        if target.type == "aws_codedeploy":
            try:
                return self.codedeploy.progress(target, reference)
            except AwsFailure as failure:
                raise TargetUnavailable(
                    f"target {target.name}: the deployment could not be read ({failure.code})"
                ) from None
            except RateLimited:
                raise TargetUnavailable(f"target {target.name} asked to wait") from None
        if target.type != "jenkins":
            raise TargetUnavailable(f"target {target.name} cannot be asked how a deploy went")
        with self.session_factory() as session:
            try:
                return self._jenkins_progress(session, target, reference)
            except RateLimited:
                raise TargetUnavailable(f"target {target.name} asked to wait") from None
            except requests.exceptions.RequestException as exc:
                kind = classify(exc, 0.0).kind
                raise TargetUnavailable(f"target {target.name} could not be read ({kind})") from None

    def _webhook(
        self, session: requests.Session, target: DeployTarget, facts: DeployFacts, key: str
    ) -> requests.Response:
        told: dict[str, object] = {
            "repository": facts.repository,
            "number": facts.number,
            "merge_sha": facts.merge_sha,
            "head_sha": facts.head_sha,
            "base": facts.base,
            "environment": facts.environment,
            "deploy": facts.deploy,
            "delivery": str(uuid.uuid4()),
        }
        if target.callback and self.callback_url is not None:
            told["callback_url"] = self.callback_url
        body = json.dumps(told, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "gatebot",
            SIGNATURE_HEADER: signature(target.secret, body),
            "Idempotency-Key": key,
        }
        return self.retries.unsafe_write.call(
            lambda: session.post(target.url, data=body, headers=headers, timeout=TIMEOUT),
            what=f"POST webhook target {target.name}",
        )

    def _jenkins(
        self, session: requests.Session, target: DeployTarget, facts: DeployFacts, key: str
    ) -> requests.Response:
        auth = (target.user, target.api_token) if target.user and target.api_token else None
        headers = {"User-Agent": "gatebot", "Idempotency-Key": key}
        root = target.jenkins_url or target.url.split("/job/", 1)[0]
        crumb = self.retries.read.call(
            lambda: session.get(f"{root}/crumbIssuer/api/json", auth=auth, timeout=TIMEOUT),
            what=f"GET crumb of target {target.name}",
        )
        if crumb.status_code == 200:
            try:
                data = crumb.json()
                headers[str(data["crumbRequestField"])] = str(data["crumb"])
            except (ValueError, KeyError, TypeError):
                raise _Refused(f"target {target.name} sent an unreadable CSRF crumb") from None
        elif crumb.status_code != 404:  # 404: the server does not use crumbs
            raise _Refused(
                f"target {target.name} refused the CSRF crumb request ({crumb.status_code})"
            )
        form = {
            "token": target.secret,
            "MERGE_SHA": facts.merge_sha,
            "HEAD_SHA": facts.head_sha,
            "NUMBER": str(facts.number),
            "BASE": facts.base,
            "ENVIRONMENT": facts.environment,
            "REPOSITORY": facts.repository,
            "DEPLOY": facts.deploy,
        }
        return self.retries.unsafe_write.call(
            lambda: session.post(
                f"{target.url}/buildWithParameters",
                data=form,
                headers=headers,
                auth=auth,
                timeout=TIMEOUT,
                allow_redirects=False,
            ),
            what=f"POST build of target {target.name}",
        )


    def _jenkins_progress(
        self, session: requests.Session, target: DeployTarget, reference: str
    ) -> DeployProgress:
        if _queue_item(target, reference) != reference:
            raise TargetUnavailable(
                f"target {target.name}: the reference is not a queue item of its server"
            )
        auth = (target.user, target.api_token) if target.user and target.api_token else None
        item = self._json(session, target, f"{reference.rstrip('/')}/api/json", auth,
                          "queue item")
        if item.get("cancelled") is True:
            return DeployProgress("failed", message="the Jenkins build was cancelled in the queue")
        executable = item.get("executable")
        number = executable.get("number") if isinstance(executable, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            return DeployProgress("running", message="waiting in the Jenkins queue")
        build = self._json(session, target, f"{target.url}/{number}/api/json", auth, "build")
        result = build.get("result")
        if build.get("building") is True or result is None:
            return DeployProgress("running", message=f"Jenkins build #{number} is running")
        if result == "SUCCESS":
            return DeployProgress("succeeded", message=f"Jenkins build #{number} succeeded")
        shown = result if isinstance(result, str) and _RESULT.fullmatch(result) else "unknown"
        return DeployProgress("failed", message=f"Jenkins build #{number} ended {shown}")

    def _json(
        self, session: requests.Session, target: DeployTarget, url: str,
        auth: tuple[str, str] | None, what: str,
    ) -> dict[str, Any]:
        def get() -> requests.Response:
            response = session.get(url, auth=auth, timeout=TIMEOUT, allow_redirects=False)
            if response.status_code != 200:
                # As an error, so the read policy retries a 5xx or a rate limit.
                raise ForgeAnswer(response.status_code, "", response.headers)
            return response

        try:
            response = self.retries.read.call(get, what=f"GET {what} of target {target.name}")
        except ForgeAnswer as answered:
            raise TargetUnavailable(
                f"target {target.name}: its {what} answered {answered.status}"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TargetUnavailable(f"target {target.name}: its {what} is unreadable")
        return data


_RESULT = re.compile(r"[A-Z_]{1,20}")


def _queue_item(target: DeployTarget, location: str | None) -> str | None:
    """The queue item URL `location` names, if it lies on the target's own server: basic
    auth is never sent to an address a response chose."""
    if not location:
        return None
    root = target.jenkins_url or target.url.split("/job/", 1)[0]
    url = urljoin(f"{target.url}/", location)
    return url if url.startswith(f"{root}/queue/item/") and ".." not in url else None


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _answer(target: DeployTarget, status: int) -> DeployAnswer:
    if 200 <= status < 300:
        return DeployAnswer("created")
    if status == 429:
        return DeployAnswer("unsent", message=f"target {target.name} asked to wait (429)")
    if status >= 500:
        return DeployAnswer(
            "unknown", message=f"target {target.name} answered {status}; it may have acted"
        )
    return DeployAnswer("refused", message=f"target {target.name} refused it ({status})")
