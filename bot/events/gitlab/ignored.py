"""Every GitLab hook the bot records but does no work for, with why.

An event that cannot change a verdict is skipped before anything is
queued. Deliveries are recorded whatever they are; these reasons go to the
delivery's log line. A hook named nowhere — here or in a handler — gets
`UNKNOWN`.
"""

from __future__ import annotations

EVENTS: dict[str, str] = {
    "Tag Push Hook": "a tag push: merge requests are judged against branches",
    "Issue Hook": "issues have no gate",
    "Confidential Issue Hook": "issues have no gate",
    "Confidential Note Hook": "internal notes are not read: an answer to them would be public",
    "Wiki Page Hook": "wiki pages do not enter the policy",
    "Deployment Hook": "the bot's deployments are decided after merges, not by this event",
    "Release Hook": "releases do not enter the policy",
    "Milestone Hook": "milestones do not enter the policy",
    "Feature Flag Hook": "feature flags do not enter the policy",
    "Subgroup Hook": "group structure reaches the policy through the directory cache",
    "Project Hook": "project settings do not enter the policy",
    "Resource Access Token Hook": "token expiry does not change a verdict",
    "Vulnerability Hook": "vulnerabilities do not enter the policy",
    "Service Hook": "an integration event of a kind that cannot change a verdict",
    "System Hook": "an instance event of a kind that cannot change a verdict",
}

UNKNOWN = "no handler: the event cannot change a verdict"


def reason(event: str, action: str | None) -> str:
    """Why `event` (an `X-Gitlab-Event` hook) causes no work, whatever its `action`."""
    return EVENTS.get(event, UNKNOWN)
