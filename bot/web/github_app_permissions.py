"""What a GitHub App needs to run gatebot: its permissions and the events to subscribe to.

The one source of the setup page's list, the README's permissions table
(tests/docs/test_docs.py keeps the README equal to it) and the App manifest the
one-click setup posts to GitHub (`bot/web/app_manifest.py`): change them here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Permission:
    """One permission the App asks for, the access it needs and why (Markdown code spans)."""

    key: str
    """GitHub's name of the permission in an App manifest (`pull_requests`)."""
    name: str
    access: str
    why: str

    @property
    def level(self) -> str:
        """The manifest's access level: `write` (which includes read) or `read`."""
        return "write" if "write" in self.access else "read"


@dataclass(frozen=True)
class Event:
    """One webhook event the App subscribes to."""

    key: str
    """As the manifest and the `X-GitHub-Event` header name it."""
    name: str
    """As GitHub's App settings page names it."""


REPOSITORY_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "pull_requests", "Pull requests", "read & write",
        "read PRs, their files, commits and reviews; update branches behind their base "
        "(`merge.update_branch`: GitHub's `PUT …/update-branch` needs Pull requests: write)",
    ),
    Permission(
        "contents", "Contents", "read & write",
        "the policy file and CODEOWNERS from the base branch; write to merge PRs "
        "(`merge.auto`), delete merged branches and send `repository_dispatch` deploys — "
        "read is enough without `merge:` or `repository_dispatch`",
    ),
    Permission(
        "workflows", "Workflows", "read & write",
        "GitHub refuses an App's merge or branch update that changes `.github/workflows/**` "
        "without it; only `merge:` needs it",
    ),
    Permission(
        "deployments", "Deployments", "read & write",
        "`github_deployment` deploys: list the merge commit's deployments, create one",
    ),
    Permission(
        "actions", "Actions", "read & write",
        "`workflow_dispatch` deploys (read alone is enough for Workflow run events)",
    ),
    Permission(
        "checks", "Checks", "read & write",
        "read required check runs; post the `gatebot: <base>` check run",
    ),
    Permission(
        "statuses", "Commit statuses", "read & write",
        "read required statuses; post the `gatebot: <base>` status",
    ),
    Permission(
        "issues", "Issues", "read & write",
        "conversation comments (approval comments, commands and replies)",
    ),
    Permission(
        "merge_queues", "Merge queues", "read",
        "`merge_group` events, if you use GitHub's merge queue",
    ),
    Permission("metadata", "Metadata", "read", "mandatory for every App"),
)

ORGANIZATION_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "members", "Members", "read",
        "team and organisation membership for `teams:` and `organizations:` in policies",
    ),
)

EVENTS: tuple[Event, ...] = (
    Event("pull_request", "Pull request"),
    Event("pull_request_review", "Pull request review"),
    Event("issue_comment", "Issue comment"),
    Event("check_run", "Check run"),
    Event("check_suite", "Check suite"),
    Event("status", "Status"),
    Event("push", "Push"),
    Event("merge_group", "Merge group"),
    Event("member", "Member"),
    Event("membership", "Membership"),
    Event("organization", "Organization"),
    Event("team", "Team"),
    Event("workflow_run", "Workflow run"),
    Event("deployment_status", "Deployment status"),
)
"""The events to subscribe to."""

_CODE_SPAN = re.compile(r"`([^`]+)`")


def as_html(markdown: str) -> Markup:
    """Text with Markdown code spans as HTML: escaped, spans in `<code>`."""
    parts = _CODE_SPAN.split(markdown)
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if index % 2 else escape(part)
        for index, part in enumerate(parts)
    )


def events_sentence() -> str:
    """`A, B, …, and Z`: the events as one list in prose."""
    names = [e.name for e in EVENTS]
    return ", ".join(names[:-1]) + ", and " + names[-1]
