"""Ground truth of one repository and what the policy spec says it allows.

Written from `policy-spec.md` alone: nothing here imports the bot. The driver
records what really happened on the forge — when each head became a PR's head,
retargets, which commits are true update merges (by content), reviews,
comments and their edits, check runs and their apps, labels, roles and teams —
and, for facts only a delivery can carry (who edited a comment, a command), when
the bot was told.

Where the spec leaves room the oracle leans towards "approved": gatebot
answering success where the oracle says no is a bypass candidate; the reverse
is only a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from model.policies import BLOCK_LABEL, CHECK, CHECK_APP, TEAM, TRIGGER_LABEL, Knobs

RANKS = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
COMMAND_PERMISSION = {"merge": "write", "cancel": "write", "hold": "write", "unhold": "write",
                      "deploy": "maintain", "override": "admin"}
PASSING = {"success", "neutral", "skipped"}


@dataclass(frozen=True)
class Person:
    login: str
    role: str  # a key of RANKS
    teams: frozenset[str] = frozenset()
    bot: bool = False

    def at_least(self, role: str) -> bool:
        return RANKS[self.role] >= RANKS[role]


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    first_parent: str | None = None
    update_merge: bool = False  # a merge of the base tip with no change of its own


@dataclass(frozen=True)
class Review:
    id: int
    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    commit: str
    at: datetime


@dataclass
class Comment:
    id: int
    user: str
    body: str  # as written
    at: datetime
    edited: bool = False
    delivered: bool = False  # the bot was told it was written
    tampered_at: datetime | None = None  # edited by someone else, and the bot was told

    def command(self) -> str | None:
        """The `/gate` command this comment runs, if any."""
        text = self.body.strip()
        if not text.lower().startswith("/gate "):
            return None
        return text.split()[1].lower()


@dataclass(frozen=True)
class CheckResult:
    sha: str
    name: str
    app: str
    conclusion: str


@dataclass
class Pull:
    number: int
    author: str
    base: str
    head: str
    heads: list[tuple[str, datetime]]  # every change of head, oldest first
    commits: list[str]  # the PR's commits now
    retargeted_at: datetime | None = None
    pushers: dict[str, str] = field(default_factory=dict)  # SHA -> who pushed it (not update merges)
    labels: set[str] = field(default_factory=set)
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    state: str = "open"  # open, merged


@dataclass
class Truth:
    people: dict[str, Person]
    commits: dict[str, Commit] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    policies: dict[str, Knobs] = field(default_factory=dict)  # by base branch
    pulls: dict[int, Pull] = field(default_factory=dict)
    # "gitlab": approvals name no commit, so they are tied to the head by time alone.
    forge: str = "github"

    def person(self, login: str) -> Person:
        return self.people.get(login.lower(), Person(login, "none"))


@dataclass(frozen=True)
class Verdict:
    approved: bool
    why: str


# -- the spec ---------------------------------------------------------------------------


def head_since(pull: Pull) -> datetime:
    """When the head MOST RECENTLY became this PR's head (or the PR was retargeted)."""
    since = pull.heads[-1][1]
    return max(since, pull.retargeted_at) if pull.retargeted_at else since


def content_since(truth: Truth, pull: Pull, knobs: Knobs) -> datetime:
    """Since when the PR's own content is what it is now: update merges do not count as
    pushes when `ignore_update_merges`; a retarget always does."""
    index = len(pull.heads) - 1
    if knobs.ignore_update_merges:
        while index > 0 and _updates_only(truth, pull.heads[index - 1][0], pull.heads[index][0]):
            index -= 1
    since = pull.heads[index][1]
    return max(since, pull.retargeted_at) if pull.retargeted_at else since


def _updates_only(truth: Truth, older: str, newer: str) -> bool:
    """`newer` is `older` plus update merges only (first-parent chain of update merges)."""
    return newer == older or newer in _update_descendants(truth, older)


def _update_descendants(truth: Truth, sha: str) -> set[str]:
    found: set[str] = set()
    frontier = [sha]
    while frontier:
        current = frontier.pop()
        for commit in truth.commits.values():
            if commit.update_merge and commit.first_parent == current and commit.sha not in found:
                found.add(commit.sha)
                frontier.append(commit.sha)
    return found


def contributors(truth: Truth, pull: Pull, knobs: Knobs) -> set[str]:
    people = {who for sha, who in pull.pushers.items() if sha in pull.commits}
    for sha in pull.commits:
        commit = truth.commits.get(sha)
        if commit is None or (commit.update_merge and knobs.ignore_update_merges):
            continue
        people.add(commit.author.lower())
    people.discard(pull.author.lower())
    return people


def qualifies(truth: Truth, pull: Pull, knobs: Knobs, login: str) -> bool:
    person = truth.person(login)
    if person.bot or not person.at_least("read"):
        return False
    if login.lower() == pull.author.lower() and not knobs.allow_author:
        return False
    if login.lower() in contributors(truth, pull, knobs):
        return False
    return TEAM in person.teams if knobs.from_team else person.at_least("write")


def review_counts(truth: Truth, pull: Pull, knobs: Knobs, review: Review) -> bool:
    # Given before the retarget (a review in the same second came after it).
    if pull.retargeted_at is not None and review.at < pull.retargeted_at:
        return False
    if not knobs.invalidate_on_push:
        return True
    if truth.forge == "gitlab":
        # The spec: a GitLab approval counts only if given after the head's push time.
        return review.at > head_since(pull)
    if review.commit == pull.head:
        return True
    return knobs.ignore_update_merges and _updates_only(truth, review.commit, pull.head)


def comment_approves(truth: Truth, pull: Pull, knobs: Knobs, comment: Comment) -> bool:
    if not knobs.comments or comment.edited or comment.body.strip() != "LGTM":
        return False
    if not knobs.invalidate_on_push:
        return pull.retargeted_at is None or comment.at > pull.retargeted_at
    return comment.at > content_since(truth, pull, knobs)


def approvers(truth: Truth, pull: Pull, knobs: Knobs) -> set[str]:
    """Who counts: an approval valid for the head, or an approving comment, not
    followed by a change request of the same person (a dismissed review is gone).
    A later approval of another commit revokes nothing."""
    counted: set[str] = set()
    logins = {r.user.lower() for r in pull.reviews} | {c.user.lower() for c in pull.comments}
    for login in logins:
        if not qualifies(truth, pull, knobs, login):
            continue
        own = [r for r in pull.reviews if r.user.lower() == login]
        requests = [(r.at, r.id) for r in own if r.state == "CHANGES_REQUESTED"]
        revoked = max(requests) if requests else None
        if any(
            r.state == "APPROVED" and review_counts(truth, pull, knobs, r)
            and (revoked is None or (r.at, r.id) > revoked)
            for r in own
        ) or any(
            c.user.lower() == login and comment_approves(truth, pull, knobs, c)
            and (revoked is None or c.at > revoked[0])
            for c in pull.comments
        ):
            counted.add(login)
    return counted


def _latest_review(pull: Pull, login: str) -> Review | None:
    found = [r for r in pull.reviews if r.user.lower() == login and r.state != "COMMENTED"]
    return max(found, key=lambda r: (r.at, r.id)) if found else None


def lifts(knobs: Knobs, comment: Comment) -> bool:
    """A comment that withdraws its author's earlier change request: one the policy's
    methods take as an approval, never edited. "Since approved" is by time (as on GitHub
    and in policy-bot, docs/policy.md): a push that voids the approval does not bring the
    change request back."""
    return knobs.comments and not comment.edited and comment.body.strip() == "LGTM"


def disapprovers(truth: Truth, pull: Pull, knobs: Knobs) -> set[str]:
    """The default disapproval: a write collaborator's change request not since
    approved (a review or an approving comment, strictly later: a comment in the same
    second as the review comes in no known order) or dismissed."""
    found: set[str] = set()
    for login in {r.user.lower() for r in pull.reviews}:
        person = truth.person(login)
        latest = _latest_review(pull, login)
        if person.bot or not person.at_least("write") or latest is None:
            continue
        if latest.state != "CHANGES_REQUESTED":
            continue
        if any(
            c.user.lower() == login and c.at > latest.at and lifts(knobs, c)
            for c in pull.comments
        ):
            continue
        found.add(login)
    return found


def tampered(pull: Pull, knobs: Knobs) -> bool:
    """An approval-looking comment edited by someone else since the head was pushed,
    as far as the bot was told."""
    since = head_since(pull)
    return knobs.comments and any(
        c.tampered_at is not None and c.tampered_at >= since and c.body.strip() == "LGTM"
        for c in pull.comments
    )


def check_passes(truth: Truth, pull: Pull) -> bool:
    results = [c for c in truth.checks if c.sha == pull.head and c.name == CHECK]
    right = [c for c in results if c.app == CHECK_APP]
    return bool(right) and right[-1].conclusion in PASSING


def approved(truth: Truth, pull: Pull) -> Verdict:
    """Is the current head approved under the base branch's policy?"""
    knobs = truth.policies[pull.base]
    if tampered(pull, knobs):
        return Verdict(False, "an approving comment was tampered with")
    blockers = disapprovers(truth, pull, knobs)
    if blockers:
        return Verdict(False, f"changes requested by {sorted(blockers)}")
    if knobs.check and not check_passes(truth, pull):
        return Verdict(False, f"{CHECK} from {CHECK_APP} has not passed")
    counted = approvers(truth, pull, knobs)
    if len(counted) < knobs.approvals:
        return Verdict(False, f"{len(counted)} of {knobs.approvals} approvals ({sorted(counted)})")
    return Verdict(True, f"approved by {sorted(counted)}")


def override_valid(truth: Truth, pull: Pull) -> bool:
    """An admin's `/gate override`, which the bot was told of, written strictly after the
    head was pushed: it passes the gate for this head."""
    since = head_since(pull)
    return any(
        c.delivered and c.command() == "override" and len(c.body.split()) > 2
        and truth.person(c.user).at_least("admin") and not truth.person(c.user).bot
        and c.at > since
        for c in pull.comments
    )


def blocked(truth: Truth, pull: Pull) -> str | None:
    """What surely stops a success or a merge whatever the approvals: a block label, a hold
    by a writer (the bot told of it) that nobody with write access tried to lift."""
    if BLOCK_LABEL in pull.labels:
        return f"labelled {BLOCK_LABEL}"
    for comment in pull.comments:
        if comment.command() != "hold" or not comment.delivered:
            continue
        if not truth.person(comment.user).at_least("write") or truth.person(comment.user).bot:
            continue
        lifted = any(
            c.command() == "unhold" and c.id > comment.id and truth.person(c.user).at_least("write")
            for c in pull.comments
        )
        if not lifted:
            return f"held by {comment.user}"
    return None


def passes(truth: Truth, pull: Pull) -> Verdict:
    """May the gate say success for the current head? (approved or overridden, not blocked)"""
    stop = blocked(truth, pull)
    if stop is not None:
        return Verdict(False, stop)
    if override_valid(truth, pull):
        return Verdict(True, "overridden")
    return approved(truth, pull)


def merge_asked(truth: Truth, pull: Pull) -> bool:
    """Did anyone entitled ask for a merge (an automatic merge with its trigger, or a
    `/gate merge` from someone with write access)?"""
    knobs = truth.policies[pull.base]
    if knobs.auto_merge and TRIGGER_LABEL in pull.labels:
        return True
    return any(
        c.delivered and c.command() == "merge" and truth.person(c.user).at_least("write")
        and not truth.person(c.user).bot
        for c in pull.comments
    )


def command_allowed(truth: Truth, comment: Comment) -> bool:
    command = comment.command()
    needed = COMMAND_PERMISSION.get(command or "", "read")
    person = truth.person(comment.user)
    return not person.bot and person.at_least(needed)
