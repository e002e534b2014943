"""The `aws_codedeploy` deploy target: create a deployment, find one whose answer was lost,
and read how one stands — through boto3.

boto3 comes with the optional extra `gatebot[aws]` and is imported here, lazily, only
when such a target is used (the targets loader refuses one at start when boto3 is
missing). Credentials come from boto3's standard chain for the target's region — the
environment, the shared profile, the container or instance role, web identity — and
from nowhere else. The endpoint is AWS's unless the environment overrides it
(`AWS_ENDPOINT_URL_CODEDEPLOY`, `AWS_ENDPOINT_URL`), as botocore reads it.

- Create: `CreateDeployment` with the revision filled from the target's templates and
  the description `gatebot <idempotency key>`. CodeDeploy takes no idempotency token,
  so the description is how a deployment whose answer was lost is found again:
  `ListDeployments` of the group created since shortly before the intent was opened,
  then `BatchGetDeployments` (25 at a time), matching the description.
- botocore's own retries are off (`total_max_attempts: 1`): a blind retry after a 5xx
  could create a second deployment. The policies of `bot.retry` decide instead, from
  the failures sorted here (`Sorted`): throttling → rate limit, a connection never
  opened → unsent, a timeout or a 5xx → may have acted, anything else refused.
- botocore's debug log prints each signed request's headers (the access key id, any
  session token, the signature): a filter redacts them before a handler sees them.
  Messages built here name the target and AWS's error code, never an exception's text.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.core.policy.secrets import looks_like_secret, looks_like_url
from bot.pipeline.deploy_templates import TemplateError, fill
from bot.pipeline.operator import CodeDeploySpec, DeployTarget
from bot.providers import redaction
from bot.providers.base import DeployAnswer, DeployProgress
from bot.retry import Failure, RateLimited, RetryPolicies, Sorted

T = TypeVar("T")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
LOOK_BACK = timedelta(minutes=15)
"""How long before the intent a lost deployment is looked for: room for the clocks of
the bot and of AWS to disagree."""
BATCH = 25
"""`BatchGetDeployments` takes at most 25 ids."""

RUNNING = frozenset({"Created", "Queued", "InProgress", "Baking", "Ready"})
SUCCEEDED = "Succeeded"
FAILED = frozenset({"Failed", "Stopped"})

# The codes botocore's standard retry mode treats as throttling.
THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
})

_SIGNED_HEADERS = re.compile(
    r"(?i)(credential=|signature=|x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^,'\"\s}]+"
)
_LOGGERS = ("botocore", "botocore.endpoint", "botocore.auth", "botocore.hooks",
            "botocore.httpsession", "botocore.parsers", "botocore.credentials",
            "urllib3.connectionpool")
_KEY_LIKE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9/+=_-]{32,}")
"""A long run of key characters with letters and digits (an AWS secret access key is 40)."""
_CODE = re.compile(r"[A-Za-z0-9._]{1,80}")


def description(key: str) -> str:
    """The deployment's description: how a lost answer is recognised."""
    return f"gatebot {key}"


def console_link(region: str, deployment_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/"
        f"{deployment_id}?region={region}"
    )


class AwsFailure(Sorted):
    """A boto3 call that failed, sorted for the retry policies; `code` is AWS's error
    code (or the kind of client error), safe to show."""

    def __init__(self, failure: Failure, code: str, credentials: bool = False) -> None:
        super().__init__(failure)
        self.code = code
        self.credentials = credentials
        """No usable credentials were found: nothing was sent."""


def sort(exc: Exception) -> AwsFailure | None:
    """The failure a botocore exception is, or None if it is not one."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        raw = str(error.get("Code") or "")
        code = raw if _CODE.fullmatch(raw) else "error"
        if raw in THROTTLING or status == 429:
            return AwsFailure(Failure("rate_limit", status), code)
        if isinstance(status, int) and status >= 500:
            return AwsFailure(Failure("server", status), code)
        return AwsFailure(Failure("other", status), code)
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError
                  | bce.CredentialRetrievalError):
        return AwsFailure(Failure("other"), "credentials", credentials=True)
    if isinstance(exc, bce.ConnectionError):
        # EndpointConnectionError, ConnectTimeoutError, proxy and TLS set-up: the
        # request never left.
        return AwsFailure(Failure("unsent"), "connection")
    if isinstance(exc, bce.ReadTimeoutError):
        return AwsFailure(Failure("timeout"), "timeout")
    if isinstance(exc, bce.HTTPClientError):
        return AwsFailure(Failure("connection"), "connection")
    if isinstance(exc, bce.ParamValidationError):
        return AwsFailure(Failure("other"), "invalid request")
    if isinstance(exc, bce.BotoCoreError):
        # Anything else botocore raised may have come after the request was sent.
        return AwsFailure(Failure("connection"), "client")
    return None


def _sorted(fn: Callable[[], T]) -> Callable[[], T]:
    def call() -> T:
        try:
            return fn()
        except Exception as exc:
            failure = sort(exc)
            if failure is None:
                raise
            raise failure from None

    return call


def create_answer(target: DeployTarget, failure: AwsFailure | RateLimited) -> DeployAnswer:
    """What a failed `CreateDeployment` means for the intent."""
    name = target.name
    if isinstance(failure, RateLimited) or failure.failure.kind == "rate_limit":
        return DeployAnswer("unsent", message=f"target {name}: AWS asked to wait")
    if failure.credentials:
        return DeployAnswer(
            "unsent", message=f"target {name}: no usable AWS credentials were found"
        )
    kind = failure.failure.kind
    if kind == "unsent":
        return DeployAnswer("unsent", message=f"target {name} could not be reached")
    if kind == "other":  # validation, access denied, a missing group: nothing was made
        return DeployAnswer(
            "refused", message=f"target {name}: CodeDeploy refused it ({failure.code})"
        )
    what = failure.code if kind == "server" else kind
    return DeployAnswer("unknown", message=f"no answer from target {name} ({what})")


def clean(message: str, limit: int = 300) -> str:
    """AWS's own words, without addresses, credential shapes or key-like strings."""
    words = []
    for word in message.split():
        bare = word.strip("'\"()[],.;")
        hidden = (looks_like_url(bare) or looks_like_secret(bare) or "://" in bare
                  or bool(_KEY_LIKE.fullmatch(bare)))
        words.append("[redacted]" if hidden else word)
    text = " ".join(words)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CodeDeploy:
    """boto3 clients for the targets' regions, made once and shared by the worker threads
    (boto3 clients are thread-safe; sessions are not, so each is made under a lock)."""

    def __init__(self, retries: RetryPolicies) -> None:
        self.retries = retries
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, region: str) -> Any:
        with self._lock:
            found = self._clients.get(region)
            if found is None:
                import boto3
                from botocore.config import Config

                redaction.install(_SIGNED_HEADERS, _LOGGERS)
                found = boto3.session.Session(region_name=region).client(
                    "codedeploy",
                    config=Config(
                        retries={"total_max_attempts": 1, "mode": "standard"},
                        connect_timeout=CONNECT_TIMEOUT,
                        read_timeout=READ_TIMEOUT,
                    ),
                )
                self._clients[region] = found
            return found

    def send(self, target: DeployTarget, values: Mapping[str, str], key: str) -> DeployAnswer:
        """Create the deployment, once; its id is the answer's reference."""
        spec = _spec(target)
        try:
            revision = _revision(spec, values)
        except TemplateError:
            return DeployAnswer(
                "refused", message=f"target {target.name}: its revision cannot be filled"
            )
        request: dict[str, Any] = {
            "applicationName": spec.application,
            "deploymentGroupName": spec.deployment_group,
            "revision": revision,
            "description": description(key),
        }
        if spec.deployment_config is not None:
            request["deploymentConfigName"] = spec.deployment_config
        client = self.client(spec.region)
        try:
            created = self.retries.unsafe_write.call(
                _sorted(lambda: client.create_deployment(**request)),
                what=f"CreateDeployment of target {target.name}",
            )
        except (AwsFailure, RateLimited) as failure:
            return create_answer(target, failure)
        deployment_id = str(created["deploymentId"])
        return DeployAnswer("created", link=console_link(spec.region, deployment_id),
                            reference=deployment_id)

    def find(self, target: DeployTarget, key: str, since: datetime) -> DeployAnswer:
        """The deployment created for `key` since `since`: `created` (found), `unsent`
        (listed and absent: the lost call made nothing) or `unknown` (not listed)."""
        spec = _spec(target)
        client = self.client(spec.region)
        wanted = description(key)
        try:
            ids = self.retries.read.call(
                _sorted(lambda: _listed(client, spec, since - LOOK_BACK)),
                what=f"ListDeployments of target {target.name}",
            )
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                infos = self.retries.read.call(
                    _sorted(lambda chunk=chunk: client.batch_get_deployments(
                        deploymentIds=chunk).get("deploymentsInfo", [])),
                    what=f"BatchGetDeployments of target {target.name}",
                )
                for info in infos:
                    if info.get("description") == wanted:
                        deployment_id = str(info["deploymentId"])
                        return DeployAnswer(
                            "created", link=console_link(spec.region, deployment_id),
                            reference=deployment_id,
                        )
        except (AwsFailure, RateLimited) as failure:
            what = failure.code if isinstance(failure, AwsFailure) else "rate limit"
            return DeployAnswer(
                "unknown", message=f"target {target.name}: its deployments could not be "
                                   f"listed ({what})"
            )
        return DeployAnswer("unsent", message=f"target {target.name} made no deployment")

    def progress(self, target: DeployTarget, reference: str) -> DeployProgress:
        """How the deployment `reference` stands; raises `AwsFailure` or `RateLimited`
        when CodeDeploy cannot say."""
        spec = _spec(target)
        client = self.client(spec.region)
        info = self.retries.read.call(
            _sorted(lambda: client.get_deployment(deploymentId=reference)["deploymentInfo"]),
            what=f"GetDeployment of target {target.name}",
        )
        link = console_link(spec.region, reference)
        status = str(info.get("status") or "")
        if status == SUCCEEDED:
            return DeployProgress("succeeded", link=link)
        if status in FAILED:
            error = info.get("errorInformation") or {}
            said = clean(str(error.get("message") or ""))
            code = str(error.get("code") or "")
            code = code if _CODE.fullmatch(code) else ""
            why = ": ".join(p for p in (code, said) if p)
            message = f"CodeDeploy deployment {status.lower()}" + (f" ({why})" if why else "")
            return DeployProgress("failed", link=link, message=message)
        # Created, Queued, InProgress, Baking, Ready — and any status AWS adds later,
        # which is no end until it says so.
        return DeployProgress("running", link=link)


def _spec(target: DeployTarget) -> CodeDeploySpec:
    if target.codedeploy is None:
        raise ValueError(f"target {target.name} is not an aws_codedeploy target")
    return target.codedeploy


def _revision(spec: CodeDeploySpec, values: Mapping[str, str]) -> dict[str, Any]:
    rev = spec.revision
    if rev.kind == "github":
        return {"revisionType": "GitHub", "gitHubLocation": {
            "repository": fill(rev.repository, values), "commitId": values["merge_sha"],
        }}
    if rev.kind == "s3":
        assert rev.bucket is not None and rev.key is not None
        location = {"bucket": fill(rev.bucket, values), "key": fill(rev.key, values),
                    "bundleType": rev.bundle_type}
        if rev.version is not None:
            location["version"] = fill(rev.version, values)
        if rev.etag is not None:
            location["eTag"] = fill(rev.etag, values)
        return {"revisionType": "S3", "s3Location": location}
    assert rev.appspec is not None
    content = fill(rev.appspec, values)
    return {"revisionType": "AppSpecContent", "appSpecContent": {
        "content": content, "sha256": hashlib.sha256(content.encode()).hexdigest(),
    }}


def _listed(client: Any, spec: CodeDeploySpec, since: datetime) -> list[str]:
    ids: list[str] = []
    pages = client.get_paginator("list_deployments").paginate(
        applicationName=spec.application,
        deploymentGroupName=spec.deployment_group,
        createTimeRange={"start": since},
    )
    for page in pages:
        ids.extend(page.get("deployments", []))
    return ids
