"""Every GitHub event and action the bot records but does no work for, with why.

An event that cannot change a verdict is skipped before anything is queued
(policy-bot's `trigger.go` habit). Deliveries are recorded whatever they
are; these reasons go to the delivery's log line. An event or action named
nowhere — here or in a handler — gets `UNKNOWN`.
"""

from __future__ import annotations

EVENTS: dict[str, str] = {
    "ping": "a ping only checks that the webhook is configured",
    "pull_request_review_comment": "inline review comments neither approve nor block",
    "pull_request_review_thread": "resolving review threads does not enter the policy",
    "issues": "plain issues have no gate",
    "create": "a new branch or tag has no PR yet; pull_request.opened will come",
    "delete": "a deleted branch's PRs are closed, which pull_request.closed reports",
    "fork": "forks do not enter the policy",
    "star": "stars do not enter the policy",
    "watch": "watchers do not enter the policy",
    "release": "releases do not enter the policy",
    "label": "label definitions do not change which labels a PR carries",
    "milestone": "milestones do not enter the policy",
    "repository": "repository settings do not enter the policy",
    "deployment": "the bot's deployments are decided after merges, not by this event",
    "github_app_authorization": "user authorizations do not change a verdict",
    "security_advisory": "advisories do not enter the policy",
    "meta": "a webhook's own deletion needs no evaluation",
}

ACTIONS: dict[tuple[str, str], str] = {
    ("pull_request", "assigned"): "assignees do not enter the policy",
    ("pull_request", "unassigned"): "assignees do not enter the policy",
    ("pull_request", "review_requested"): "a review request is not a review",
    ("pull_request", "review_request_removed"): "a review request is not a review",
    ("pull_request", "locked"): "locking the conversation does not change a verdict",
    ("pull_request", "unlocked"): "locking the conversation does not change a verdict",
    ("pull_request", "milestoned"): "milestones do not enter the policy",
    ("pull_request", "demilestoned"): "milestones do not enter the policy",
    ("pull_request", "auto_merge_enabled"): "GitHub's auto-merge does not change a verdict",
    ("pull_request", "auto_merge_disabled"): "GitHub's auto-merge does not change a verdict",
    ("pull_request", "enqueued"): "the merge queue asks through merge_group events",
    ("pull_request", "dequeued"): "the merge queue asks through merge_group events",
    ("check_run", "created"): "a check run that starts has no result yet",
    ("check_run", "requested_action"): "the bot's check runs offer no actions",
    ("check_suite", "requested"): "the bot evaluates on pull_request events, not on suites",
    ("check_suite", "rerequested"): "a re-requested suite reports again when it completes",
    ("workflow_run", "requested"): "a workflow that starts has no result yet",
    ("workflow_run", "in_progress"): "a running workflow has no result yet",
    ("organization", "member_invited"): "an invitation grants nothing until accepted",
    ("organization", "renamed"): "a renamed organisation's repositories report as they change",
    ("organization", "deleted"): "a deleted organisation's installation is deleted too",
}

UNKNOWN = "no handler: the event cannot change a verdict"


def reason(event: str, action: str | None) -> str:
    """Why `event` / `action` causes no work."""
    if action is not None and (event, action) in ACTIONS:
        return ACTIONS[(event, action)]
    return EVENTS.get(event, UNKNOWN)
