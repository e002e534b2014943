"""Results on a commit: `check_run`, `check_suite`, `workflow_run`, `status`.

Each marks the PRs whose head is the commit: those the payload lists
(`pull_requests`, empty for forks) and those the store knows with that head
(`MarkHead`). The bot's own results never trigger work, so publishing a
verdict cannot wake the bot again:

- `check_run` completed (any conclusion) marks; the bot's own run — its
  `app.id` is the configured `GITHUB_APP_ID` — is ignored. `rerequested`
  of the bot's own run is the one check-run action from the bot that
  causes work: the verdict recorded for that head and name is forgotten,
  so the re-evaluation posts again even if nothing changed (a retargeted
  PR's old-base run re-evaluates the PR under its current base).
- `check_suite` completed marks, except the bot's own App's suites.
- `workflow_run` completed marks; a run started by `workflow_dispatch` is
  also a hint to the deploy follower (`FollowDeploy`, by the run's id).
- `status` (any state) marks. Under the bot's context (`gatebot: ...`):
  written by the bot (`<slug>[bot]`, slug known from the store) it is
  ignored; written by anyone else, the recorded verdict for that head and
  context is forgotten and the PR marked, so the bot's verdict is posted
  over it (and logged). While the slug is not known yet, a status from some
  `[bot]` account only marks the PR: the publisher compares the status's
  writer with its own login before leaving a status in place, so a foreign
  one is still overwritten and the bot's own causes no second post.
"""

from __future__ import annotations

from typing import Any

from bot.events.effects import FollowDeploy, ForgetVerdict, MarkHead
from bot.events.github import readers
from bot.events.github.delivery import Delivery
from bot.events.payload import get, sha, text
from bot.events.router import Routed, Router, do, ignore
from bot.providers.base import WorkflowRun
from bot.providers.publishing import CONTEXT_PREFIX

router = Router()

BOT_CONTEXT = f"{CONTEXT_PREFIX}:"
NO_COMMIT = "the payload names no repository or commit"
WORKFLOW_DISPATCH = WorkflowRun.method


def _mark_head(d: Delivery, obj: Any) -> MarkHead | None:
    head = sha(get(obj, "head_sha"))
    if d.repo is None or head is None:
        return None
    return MarkHead(d.repo, head, readers.pull_numbers(d.payload, get(obj, "pull_requests")))


@router.register("check_run", "completed")
def check_run_completed(d: Delivery) -> Routed:
    run = d.get("check_run")
    if d.is_own_app(get(run, "app")):
        return ignore("the bot's own check run")
    mark = _mark_head(d, run)
    if mark is None:
        return ignore(NO_COMMIT)
    return do(mark)


@router.register("check_run", "rerequested")
def check_run_rerequested(d: Delivery) -> Routed:
    run = d.get("check_run")
    if not d.is_own_app(get(run, "app")):
        return ignore("another app's check run: its new result will come when it completes")
    mark = _mark_head(d, run)
    if mark is None:
        return ignore(NO_COMMIT)
    name = text(get(run, "name"))
    forget = None
    if name is not None and name.startswith(BOT_CONTEXT):
        forget = ForgetVerdict(mark.repo, mark.sha, name, d.sender or "a re-run request")
    return do(forget, mark, note="the bot's check run was re-requested")


@router.register("check_suite", "completed")
def check_suite_completed(d: Delivery) -> Routed:
    suite = d.get("check_suite")
    if d.is_own_app(get(suite, "app")):
        return ignore("the bot's own check suite")
    mark = _mark_head(d, suite)
    if mark is None:
        return ignore(NO_COMMIT)
    return do(mark)


@router.register("workflow_run", "completed")
def workflow_run_completed(d: Delivery) -> Routed:
    run = d.get("workflow_run")
    follow = _follow_run(d, run)
    mark = _mark_head(d, run)
    if mark is None:
        return ignore(NO_COMMIT, follow)
    return do(mark, follow)


def _follow_run(d: Delivery, run: Any) -> FollowDeploy | None:
    """A run the bot started by `workflow_dispatch` is followed by its id."""
    ident = get(run, "id")
    if d.repo is None or not isinstance(ident, int) or get(run, "event") != "workflow_dispatch":
        return None
    return FollowDeploy(d.repo, WORKFLOW_DISPATCH, str(ident))


@router.register("status", needs_slug=True)
def status(d: Delivery) -> Routed:
    head = sha(d.get("sha"))
    context = text(d.get("context")) or ""
    if d.repo is None or head is None:
        return ignore(NO_COMMIT)
    mark = MarkHead(d.repo, head)
    if not context.startswith(BOT_CONTEXT):
        return do(mark)
    writer = d.sender
    bot = d.bot_login
    if writer is not None and bot is not None and readers.fold(writer) == readers.fold(bot):
        return ignore("the bot's own status")
    if writer is not None and bot is None and writer.endswith("[bot]"):
        return do(mark, note=f"{context} written by {writer}; the App's slug is not known yet")
    return do(
        ForgetVerdict(d.repo, head, context, writer or "an unknown account"),
        mark,
        note=f"{context} written by {writer or 'an unknown account'}: to be overwritten",
    )
