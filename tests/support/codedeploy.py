"""A local AWS CodeDeploy: moto's server on 127.0.0.1, reached by real boto3 clients.

`running()` starts `moto.server.ThreadedMotoServer` on a free port; `aws_env(url)` is the
environment that points botocore at it (`AWS_ENDPOINT_URL_CODEDEPLOY`, which botocore
honours as any operator's override) with fake credentials in the standard chain's
environment variables, and nothing from the machine's own AWS files or instance
metadata. `LocalCodeDeploy` resets the server, makes the applications and groups the
tests deploy to, reads deployments back, and sets a deployment's status the way
CodeDeploy would (the server runs in this process, so its backend is at hand).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from moto.codedeploy.models import codedeploy_backends
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
ACCOUNT = "123456789012"
"""moto's account for any credentials."""
ACCESS_KEY_ID = "AKIAGATEBOTTEST12345"
SECRET_ACCESS_KEY = "gatebotSecretAccessKey/0123456789abcdefX"  # 40, as AWS's
SESSION_TOKEN = "gatebot-session-token-5b1f0e7a9c"
CREDENTIALS = (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN)

EC2_APP, EC2_GROUP = "shop", "shop-prod"
ECS_APP, ECS_GROUP = "shop-ecs", "shop-ecs-prod"
SERVICE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/codedeploy"


def aws_env(url: str) -> dict[str, str]:
    """The standard chain's environment variables, pointed at the local server."""
    return {
        "AWS_ENDPOINT_URL_CODEDEPLOY": url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@contextmanager
def running() -> Iterator[str]:
    """The server's URL for the block's duration."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class LocalCodeDeploy:
    url: str

    def client(self) -> Any:
        env = aws_env(self.url)
        return boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client("codedeploy", endpoint_url=self.url)

    def reset(self) -> LocalCodeDeploy:
        """Nothing deployed; an EC2/on-premises and an ECS application with one group each."""
        self.empty()
        client = self.client()
        for app, group, platform in ((EC2_APP, EC2_GROUP, "Server"),
                                     (ECS_APP, ECS_GROUP, "ECS")):
            client.create_application(applicationName=app, computePlatform=platform)
            client.create_deployment_group(
                applicationName=app, deploymentGroupName=group, serviceRoleArn=SERVICE_ROLE,
            )
        return self

    def empty(self) -> LocalCodeDeploy:
        """No application and no group at all."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        return self

    def deployments(self, app: str = EC2_APP, group: str = EC2_GROUP) -> list[dict[str, Any]]:
        client = self.client()
        ids = client.list_deployments(applicationName=app, deploymentGroupName=group)
        return [client.get_deployment(deploymentId=i)["deploymentInfo"]
                for i in ids["deployments"]]

    def set_status(self, deployment_id: str, status: str) -> None:
        codedeploy_backends[ACCOUNT][REGION].deployments[deployment_id].status = status


ECS_APPSPEC = """\
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-{merge_sha}:1"
        LoadBalancerInfo:
          ContainerName: "shop"
          ContainerPort: 8080
"""


def targets_yaml(repos: str = '["acme/*"]', branches: str | None = None) -> str:
    """A `GATEBOT_DEPLOY_TARGETS` file with three `aws_codedeploy` targets: `prod-ec2` (a
    GitHub revision), `prod-ecs` (AppSpec content) and `prod-s3` (an S3 bundle)."""
    allowed = f"  branches: {branches}\n" if branches is not None else ""
    appspec = "".join(f"      {line}\n" for line in ECS_APPSPEC.splitlines())
    return f"""\
prod-ec2:
  type: aws_codedeploy
  application: {EC2_APP}
  deployment_group: {EC2_GROUP}
  region: {REGION}
  deployment_config: CodeDeployDefault.AllAtOnce
  revision:
    github: {{}}
  repos: {repos}
{allowed}prod-ecs:
  type: aws_codedeploy
  application: {ECS_APP}
  deployment_group: {ECS_GROUP}
  region: {REGION}
  deployment_config: CodeDeployDefault.ECSAllAtOnce
  revision:
    appspec: |
{appspec}  repos: {repos}
{allowed}prod-s3:
  type: aws_codedeploy
  application: {EC2_APP}
  deployment_group: {EC2_GROUP}
  region: {REGION}
  revision:
    s3:
      bucket: shop-releases
      key: "{{repository}}/{{merge_sha}}.zip"
      bundle_type: zip
  repos: {repos}
{allowed}"""
