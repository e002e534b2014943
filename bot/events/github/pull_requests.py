"""Events about one PR: `pull_request`, `pull_request_review`, `issue_comment`.

- `pull_request` opened / reopened / synchronize / edited / ready_for_review
  / converted_to_draft / labeled / unlabeled: the PR is remembered (base,
  head, state — a retargeted PR is judged under its new base from now on)
  and marked. opened, reopened, synchronize and a retarget (`edited` with
  `changes.base`) also go into the PR's head history (`RecordHead`): the
  push time of a head, and the retarget that voids approvals. The pusher of
  a `synchronize` head is recorded with the delivery itself
  (`DeliveryRecord.head_pushed`). Every action but
  opened and synchronize also drops the PR's stored parts, which are kept
  by head and `updated_at` and may not see the change.
- `pull_request` closed: remembered closed and marked once, so the
  pipeline sees it closed and stops (or does what follows a merge).
- `pull_request_review` submitted / edited / dismissed: parts dropped, marked.
  An edit of a review's body is recorded first (`RecordTamper` with subject
  "review"), by whomever: review bodies count as comments, the API never
  says a review was edited, and an edit by someone else is tampering.
- `issue_comment` created / edited / deleted on a PR: parts dropped, marked.
  An edit by someone other than the comment's author (the webhook's
  `sender`) is recorded as a tamper mark first — every such edit, whatever
  the comment says: the evaluation decides whether it looked like an
  approval. The bot's own comments cause no work.
- `issue_comment` created, by a person (not a bot account, not the App),
  with a body of at most `MAX_BODY_CHARS` characters: the comment also goes
  into the PR's command inbox (`ReceiveComment`), where the pipeline parses
  and runs its commands and answers. Only `created` does: edited comments
  never run commands. Other bots' comments still mark the PR (the policy
  may count them), but give no commands.

Events about a closed PR do no work (its last verdict stands); a tamper
mark is still recorded, since only the webhook knows who edited. A new
comment on a closed PR is the exception: it is received and the PR marked
(without dropping its parts), since commands such as `/gate deploy` are
given on merged PRs.
"""

from __future__ import annotations

from bot.core.authorize import is_bot_login
from bot.core.commands import MAX_BODY_CHARS
from bot.events.effects import (
    DropPullParts,
    MarkPulls,
    ReceiveComment,
    RecordHead,
    RecordTamper,
)
from bot.events.github import readers
from bot.events.github.delivery import Delivery
from bot.events.payload import get, positive_int
from bot.events.router import Routed, Router, do, ignore

router = Router()

NO_PULL = "the payload names no pull request"
CLOSED = "the pull request is closed: its last verdict stands"

# Actions that give the PR a head (a retarget, `edited` with `changes.base`,
# gives it a base): recorded in its head history.
_HEAD_CHANGE = {"opened", "reopened", "synchronize"}

# Actions whose change the PR's stored parts may miss.
_PARTS_CHANGE = {
    "reopened",
    "edited",
    "ready_for_review",
    "converted_to_draft",
    "labeled",
    "unlabeled",
}


@router.register(
    "pull_request",
    "opened",
    "reopened",
    "synchronize",
    "edited",
    "ready_for_review",
    "converted_to_draft",
    "labeled",
    "unlabeled",
)
def pull_request_changed(d: Delivery) -> Routed:
    pull = readers.pull(d.repo, d.get("pull_request"))
    if pull is None:
        return ignore(NO_PULL)
    if pull.closed:
        return ignore(CLOSED, pull)
    parts = DropPullParts(pull.repo, pull.number) if d.action in _PARTS_CHANGE else None
    note = None
    retargeted = d.action == "edited" and get(d.payload, "changes", "base") is not None
    if retargeted:
        old = get(d.payload, "changes", "base", "ref", "from")
        note = f"retargeted from {old or 'another branch'} to {pull.base_ref}"
    pushed = d.action == "synchronize"
    head = RecordHead.of(pull, pushed=pushed) if retargeted or d.action in _HEAD_CHANGE else None
    return do(pull, head, parts, MarkPulls(pull.repo, (pull.number,)), note=note)


@router.register("pull_request", "closed")
def pull_request_closed(d: Delivery) -> Routed:
    pull = readers.pull(d.repo, d.get("pull_request"))
    if pull is None:
        return ignore(NO_PULL)
    return do(pull, MarkPulls(pull.repo, (pull.number,)))


@router.register("pull_request_review", "submitted", "edited", "dismissed")
def review_changed(d: Delivery) -> Routed:
    pull = readers.pull(d.repo, d.get("pull_request"))
    if pull is None:
        return ignore(NO_PULL)
    edit = _review_edit(d, pull.repo, pull.number) if d.action == "edited" else None
    if pull.closed:
        return ignore(CLOSED, pull, edit)
    return do(
        pull, edit, DropPullParts(pull.repo, pull.number), MarkPulls(pull.repo, (pull.number,))
    )


@router.register("issue_comment", "created", "edited", "deleted")
def comment_changed(d: Delivery) -> Routed:
    issue = d.get("issue")
    if not isinstance(get(issue, "pull_request"), dict):
        return ignore("a comment on an issue, not on a pull request")
    number = positive_int(get(issue, "number"))
    if d.repo is None or number is None:
        return ignore(NO_PULL)
    tamper = _tamper(d, d.repo, number) if d.action == "edited" else None
    own = d.is_own_app(d.get("comment", "performed_via_github_app"))
    received = _received(d, d.repo, number) if d.action == "created" and not own else None
    if get(issue, "state") == readers.CLOSED:
        if received is not None:
            return do(received, note="a comment on a closed pull request: commands are read")
        return ignore(CLOSED, tamper)
    if tamper is None and own:
        return ignore("the bot's own comment")
    return do(tamper, received, DropPullParts(d.repo, number), MarkPulls(d.repo, (number,)))


def _received(d: Delivery, repo: str, number: int) -> ReceiveComment | None:
    """The comment for the PR's command inbox; None for bots, oversized bodies
    (they hold no commands) and payloads without an id, author or time."""
    comment_id = positive_int(d.get("comment", "id"))
    user = d.get("comment", "user")
    author = readers.login(user)
    body = d.get("comment", "body")
    created_at = readers.forge_time(d.get("comment", "created_at"))
    if comment_id is None or author is None or created_at is None:
        return None
    if get(user, "type") == "Bot" or is_bot_login(author):
        return None
    if not isinstance(body, str) or len(body) > MAX_BODY_CHARS:
        return None
    return ReceiveComment(repo, number, comment_id, author, body, created_at)


def _review_edit(d: Delivery, repo: str, number: int) -> RecordTamper | None:
    """Every edit of a review's body, by its author too: the API never says a review
    was edited, and an edited body never approves when edits are ignored."""
    review_id = positive_int(d.get("review", "id"))
    author = readers.login(d.get("review", "user"))
    editor = d.sender
    if review_id is None or author is None or editor is None:
        return None
    return RecordTamper(repo, number, review_id, author, editor, subject="review")


def _tamper(d: Delivery, repo: str, number: int) -> RecordTamper | None:
    """A tamper mark when the editor (`sender`) is not the comment's author."""
    comment_id = positive_int(d.get("comment", "id"))
    author = readers.login(d.get("comment", "user"))
    editor = d.sender
    if comment_id is None or author is None or editor is None:
        return None
    if readers.fold(author) == readers.fold(editor):
        return None
    return RecordTamper(repo, number, comment_id, author, editor)
