"""What a GitHub App needs to run gatebot: its permissions and the events to subscribe to.

The one source of the setup page's list and the README's permissions table
(tests/docs/test_docs.py keeps the README equal to it): change both here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Permission:
    """One permission the App asks for, the access it needs and why (Markdown code spans)."""

    name: str
    access: str
    why: str


REPOSITORY_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "Pull requests", "read & write",
        "read PRs, their files, commits and reviews; update branches behind their base "
        "(`merge.update_branch`: GitHub's `PUT …/update-branch` needs Pull requests: write)",
    ),
    Permission(
        "Contents", "read & write",
        "the policy file and CODEOWNERS from the base branch; write to merge PRs "
        "(`merge.auto`), delete merged branches and send `repository_dispatch` deploys — "
        "read is enough without `merge:` or `repository_dispatch`",
    ),
    Permission(
        "Workflows", "read & write",
        "GitHub refuses an App's merge or branch update that changes `.github/workflows/**` "
        "without it; only `merge:` needs it",
    ),
    Permission(
        "Deployments", "read & write",
        "`github_deployment` deploys: list the merge commit's deployments, create one",
    ),
    Permission(
        "Actions", "read & write",
        "`workflow_dispatch` deploys (read alone is enough for Workflow run events)",
    ),
    Permission(
        "Checks", "read & write",
        "read required check runs; post the `gatebot: <base>` check run",
    ),
    Permission(
        "Commit statuses", "read & write",
        "read required statuses; post the `gatebot: <base>` status",
    ),
    Permission(
        "Issues", "read & write",
        "conversation comments (approval comments, commands and replies)",
    ),
    Permission("Merge queues", "read", "`merge_group` events, if you use GitHub's merge queue"),
    Permission("Metadata", "read", "mandatory for every App"),
)

ORGANIZATION_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "Members", "read",
        "team and organisation membership for `teams:` and `organizations:` in policies",
    ),
)

EVENTS: tuple[str, ...] = (
    "Pull request", "Pull request review", "Issue comment", "Check run", "Check suite",
    "Status", "Push", "Merge group", "Member", "Membership", "Organization", "Team",
    "Workflow run",
)
"""The events to subscribe to, as GitHub's App settings page names them."""

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
    return ", ".join(EVENTS[:-1]) + ", and " + EVENTS[-1]
