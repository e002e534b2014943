"""GitHub event routing in-process: which deliveries cause which work.

Each test signs real recorded payloads (tests/fixtures), posts them to the
Flask test client over a real SQLite store, and asserts on the store
afterwards: which PRs are dirty, which caches were dropped, what was
recorded. The app's GITHUB_API_URL is a fake GitHub whose request log must
stay empty: no webhook request may call the forge. Cases the recorded
examples lack (an edited PR, an organisation event, a comment on a PR, the
bot's own identity) are built from the recorded shapes and say so.

The store functions the routing added run on PostgreSQL too, at the end.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from support.apps import AppUnderTest, MarksProbe, build_app
from support.webhooks import github_headers, github_payload

from bot.core.commands import MAX_BODY_CHARS
from bot.events import effects as fx
from bot.events import github as github_events
from bot.events.github import ignored
from bot.events.github.delivery import Delivery
from bot.keys import GroupKey, PullKey
from bot.store import (
    apps,
    commands,
    deliveries,
    deploy_outcomes,
    directory_cache,
    dirty,
    evaluations,
    forge_files,
    heads,
    installations,
    key_columns,
    merge_groups,
    pull_heads,
    pull_parts,
    pulls,
    tampering,
    utcnow,
)
from bot.store.deploys import DeployKey

APP_ID = 4242  # GITHUB_APP_ID of the github_app_env fixture
SLUG = "gatebot"
REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # head of PR #2 in the examples
OTHER_SHA = "a" * 40


# -- harness ------------------------------------------------------------------


class Hooks(MarksProbe):
    """Sends signed deliveries and reads the store; asserts the forge is never called."""

    def __init__(self, svc: AppUnderTest, fake: Any) -> None:
        self.svc = svc
        self.fake = fake

    def send(self, event_name: str, payload: dict[str, Any], delivery: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        secret = self.svc.settings.github_webhook_secret.get_secret_value()
        response = self.svc.client.post(
            "/webhooks/github",
            data=body,
            headers=github_headers(event_name, body, secret, delivery),
        )
        assert response.status_code in (200, 202), response.get_json()
        assert self.fake.request_count == 0, [r.path for r in self.fake.requests]
        return response

    def pull(self, number: int, repo: str = REPO) -> pulls.PullState | None:
        with self.svc.store.begin() as conn:
            return pulls.get(conn, "github", repo, number)


@pytest.fixture
def svc(github_app_env, fake_github) -> AppUnderTest:
    return build_app({**github_app_env, "GITHUB_API_URL": fake_github.url})


@pytest.fixture
def hooks(svc, fake_github) -> Hooks:
    return Hooks(svc, fake_github)


def key(number: int, repo: str = REPO) -> PullKey:
    return PullKey("github", repo, number)


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(github_payload(name))


def pull_event(
    name: str,
    *,
    number: int = 2,
    repo: str = REPO,
    head: str = HEAD,
    base: str = "master",
    updated_at: str | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """A recorded pull_request* example moved to another PR, head, base or repository."""
    payload = fixture(name)
    pr = payload["pull_request"]
    pr["number"] = number
    if "number" in payload:
        payload["number"] = number
    pr["head"]["sha"] = head
    pr["base"]["ref"] = base
    if updated_at is not None:
        pr["updated_at"] = updated_at
    if state is not None:
        pr["state"] = state
    _move(payload, repo)
    return payload


def _move(payload: dict[str, Any], repo: str) -> None:
    owner, name = repo.split("/")
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = name
    payload["repository"]["owner"]["login"] = owner


def open_pull(hooks: Hooks, number: int, **where: Any) -> None:
    hooks.send("pull_request", pull_event("pull_request/opened.1", number=number, **where))


def comment_event(name: str, *, number: int = 2, state: str = "open") -> dict[str, Any]:
    """issue_comment examples are on a plain issue; a PR's issue carries
    `issue.pull_request`, added here in GitHub's shape."""
    payload = fixture(name)
    issue = payload["issue"]
    issue["number"] = number
    issue["state"] = state
    html = payload["repository"]["html_url"]
    issue["pull_request"] = {
        "url": f"{payload['repository']['url']}/pulls/{number}",
        "html_url": f"{html}/pull/{number}",
        "diff_url": f"{html}/pull/{number}.diff",
        "patch_url": f"{html}/pull/{number}.patch",
        "merged_at": None,
    }
    return payload


def status_event(*, sha: str, context: str, writer: str, state: str = "success") -> dict[str, Any]:
    payload = fixture("status/status.1")
    payload.update(sha=sha, context=context, state=state)
    payload["commit"]["sha"] = sha
    payload["sender"]["login"] = writer
    payload["sender"]["type"] = "Bot" if writer.endswith("[bot]") else "User"
    return payload


def record_verdict(svc: AppUnderTest, *, number: int, sha: str, context: str) -> None:
    with svc.store.begin() as conn:
        evaluations.record(
            conn,
            evaluations.Posted(
                provider="github",
                repo=REPO,
                sha=sha,
                context=context,
                number=number,
                state="success",
                description="all rules pass",
                details_url=None,
                report_only=False,
                status_posted=True,
                check_run_id=11,
                explanation=None,
                posted_at=utcnow(),
            ),
        )


def verdict(svc: AppUnderTest, sha: str, context: str) -> evaluations.Posted | None:
    with svc.store.begin() as conn:
        return evaluations.last(conn, "github", REPO, sha, context)


def learn_slug(svc: AppUnderTest) -> None:
    with svc.store.begin() as conn:
        apps.remember(conn, "github", APP_ID, SLUG, utcnow())


# -- the registry ---------------------------------------------------------------


def test_ignored_events_are_named_in_one_place_and_never_also_handled():
    handled = set(github_events.ROUTER.handled())
    assert not {k for k in ignored.ACTIONS if k in handled}
    assert not {(e, None) for e in ignored.EVENTS} & handled
    for event_name in ("pull_request_review_comment", "issues", "create", "delete", "fork", "star"):
        assert ignored.reason(event_name, "created") == ignored.EVENTS[event_name]
    assert ignored.reason("sponsorship", "created") == ignored.UNKNOWN


# -- pull_request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "drops_parts"),
    [
        ("pull_request/opened.1", False),
        ("pull_request/reopened.1", True),
        ("pull_request/synchronize.1", False),
        ("pull_request/ready_for_review.1", True),
        ("pull_request/converted_to_draft.1", True),
        ("pull_request/labeled.1", True),
        ("pull_request/unlabeled.1", True),
    ],
)
def test_pull_request_actions_remember_the_pr_and_mark_it(hooks, svc, name, drops_parts):
    with svc.store.begin() as conn:
        pull_parts.put(conn, "github", REPO, 2, HEAD, "t0", "{}", utcnow())
    hooks.send("pull_request", fixture(name))
    assert hooks.dirty() == {key(2)}
    assert hooks.woken() == 1
    known = hooks.pull(2)
    assert (known.base_ref, known.head_sha, known.state) == ("master", HEAD, "open")
    with svc.store.begin() as conn:
        kept = pull_parts.get(conn, "github", REPO, 2)
    assert (kept is None) is drops_parts


def test_synchronize_records_the_push_time_and_pusher_of_the_new_head(hooks, svc):
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    hooks.send(
        "pull_request",
        pull_event("pull_request/synchronize.1", head=OTHER_SHA, updated_at="2019-05-15T15:30:00Z"),
    )
    assert hooks.pull(2).head_sha == OTHER_SHA
    with svc.store.begin() as conn:
        pushed = heads.get(conn, "github", REPO, OTHER_SHA)
    assert pushed.pusher == "Codertocat" and pushed.pushed_at is not None


def test_a_retargeted_pr_is_judged_under_its_new_base(hooks):
    """No `pull_request.edited` example exists: built from opened.1 as GitHub
    sends a base change (`changes.base.ref.from`)."""
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    hooks.clean()
    edited = pull_event("pull_request/opened.1", base="develop", updated_at="2019-05-15T15:25:00Z")
    edited["action"] = "edited"
    edited["changes"] = {"base": {"ref": {"from": "master"}, "sha": {"from": "f" * 40}}}
    hooks.send("pull_request", edited)
    assert hooks.dirty() == {key(2)}
    assert hooks.pull(2).base_ref == "develop"

    # From now on the policy of `develop`, not of `master`, concerns it.
    hooks.clean()
    hooks.send("push", push_event("master", [".github/gatebot.yml"]))
    assert hooks.dirty() == set()
    hooks.send("push", push_event("develop", [".github/gatebot.yml"]))
    assert hooks.dirty() == {key(2)}


def head_history(svc: AppUnderTest, number: int = 2) -> list[tuple[str, str]]:
    with svc.store.begin() as conn:
        return [(r.sha, r.base_ref) for r in pull_heads.history(conn, key(number))]


def test_each_change_of_head_goes_into_the_prs_head_history(hooks, svc):
    # A -> B -> A: the head that came back gets a row (a new push time) of its own.
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    hooks.send("pull_request", pull_event(
        "pull_request/synchronize.1", head=OTHER_SHA, updated_at="2019-05-15T15:30:00Z"))
    hooks.send("pull_request", pull_event(
        "pull_request/synchronize.1", head=HEAD, updated_at="2019-05-15T15:40:00Z"))
    # A label says nothing new about the head: no row.
    hooks.send("pull_request", pull_event(
        "pull_request/labeled.1", head=HEAD, updated_at="2019-05-15T15:45:00Z"))
    assert head_history(svc) == [(HEAD, "master"), (OTHER_SHA, "master"), (HEAD, "master")]
    with svc.store.begin() as conn:
        times = [r.at for r in pull_heads.history(conn, key(2))]
    assert times == sorted(times)


def test_a_late_synchronize_never_moves_the_head_history(hooks, svc):
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    late = pull_event(
        "pull_request/synchronize.1", head=HEAD, updated_at="2019-05-15T15:20:33Z")
    hooks.send("pull_request", pull_event(
        "pull_request/synchronize.1", head=OTHER_SHA, updated_at="2019-05-15T15:30:00Z"))
    # The older synchronize for the first head arrives after the newer one: it
    # must not make that head look freshly pushed while OTHER_SHA is the head.
    hooks.send("pull_request", late)
    assert head_history(svc) == [(HEAD, "master"), (OTHER_SHA, "master")]
    # The same delivery again, and a repeat for the current head as old as what is
    # recorded, change nothing.
    synchronize = pull_event(
        "pull_request/synchronize.1", head=OTHER_SHA, updated_at="2019-05-15T15:30:00Z")
    hooks.send("pull_request", synchronize, delivery="again")
    hooks.send("pull_request", synchronize, delivery="again")
    hooks.send("pull_request", synchronize, delivery="once more")
    assert head_history(svc) == [(HEAD, "master"), (OTHER_SHA, "master")]


def test_a_newer_synchronize_for_the_recorded_head_says_it_came_back(hooks, svc):
    # HEAD -> OTHER_SHA (its synchronize lost) -> HEAD: the push of HEAD's return
    # names the recorded head, and is news: HEAD was pushed again.
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    hooks.send("pull_request", pull_event(
        "pull_request/synchronize.1", head=HEAD, updated_at="2019-05-15T15:30:00Z"))
    assert head_history(svc) == [(HEAD, "master"), (HEAD, "master")]


def test_a_retarget_goes_into_the_head_history(hooks, svc):
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    edited = pull_event("pull_request/opened.1", base="develop", updated_at="2019-05-15T15:25:00Z")
    edited["action"] = "edited"
    edited["changes"] = {"base": {"ref": {"from": "master"}, "sha": {"from": "f" * 40}}}
    hooks.send("pull_request", edited)
    assert head_history(svc) == [(HEAD, "master"), (HEAD, "develop")]


def test_a_closed_pr_is_marked_once_and_then_left_alone(hooks):
    open_pull(hooks, 2, updated_at="2019-05-15T15:20:33Z")
    hooks.clean()
    hooks.send("pull_request", fixture("pull_request/closed.1"))
    assert hooks.generation(key(2)) == 1
    assert hooks.pull(2).state == "closed"

    # Later events about it cause no work (a new comment, which may hold
    # commands, is the exception: see the command inbox tests).
    hooks.send("pull_request", pull_event("pull_request/labeled.1", state="closed"))
    hooks.send("status", status_event(sha=HEAD, context="ci/build", writer="ci-bot"))
    hooks.send("issue_comment", comment_event("issue_comment/edited.1", state="closed"))
    hooks.send("issue_comment", comment_event("issue_comment/deleted.1", state="closed"))
    assert hooks.generation(key(2)) == 1


def test_an_older_event_delivered_late_does_not_move_the_head_back(hooks):
    open_pull(hooks, 2, head=OTHER_SHA, updated_at="2019-05-15T15:40:00Z")
    hooks.send("pull_request_review", fixture("pull_request_review/submitted.1"))  # 15:20:38
    assert hooks.pull(2).head_sha == OTHER_SHA


@pytest.mark.parametrize("action", ["assigned", "review_requested", "locked"])
def test_pull_request_actions_the_policy_cannot_see_are_ignored(hooks, caplog, action):
    payload = fixture("pull_request/opened.1")
    payload["action"] = action
    caplog.set_level(logging.INFO, logger="bot.events.inbox_drain")
    hooks.send("pull_request", payload)
    assert hooks.dirty() == set() and hooks.woken() == 0
    assert ignored.ACTIONS[("pull_request", action)] in caplog.text


# -- reviews and comments ---------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["pull_request_review/submitted.1", "pull_request_review/dismissed.1"]
)
def test_reviews_mark_the_pr_and_drop_its_stored_parts(hooks, svc, name):
    with svc.store.begin() as conn:
        pull_parts.put(conn, "github", REPO, 2, HEAD, "t0", "{}", utcnow())
    hooks.send("pull_request_review", fixture(name))
    assert hooks.dirty() == {key(2)}
    assert hooks.pull(2).head_sha == HEAD
    with svc.store.begin() as conn:
        assert pull_parts.get(conn, "github", REPO, 2) is None


def _review_edited(editor: str, state: str = "open") -> dict[str, Any]:
    """No `pull_request_review.edited` example: submitted.1 with the action GitHub sends."""
    payload = fixture("pull_request_review/submitted.1")
    payload["action"] = "edited"
    payload["changes"] = {"body": {"from": "later"}}
    payload["sender"]["login"] = editor
    payload["pull_request"]["state"] = state
    return payload


def test_an_edited_review_marks_the_pr_and_records_the_edit(hooks, svc):
    payload = _review_edited("Codertocat")  # its author: no tampering, but an edit
    hooks.send("pull_request_review", payload)
    assert hooks.dirty() == {key(2)}
    with svc.store.begin() as conn:
        marks = tampering.marks_for_pull(conn, "github", REPO, 2)
    assert [(m.subject, m.comment_id, m.author, m.editor, m.head_sha) for m in marks] == [
        ("review", payload["review"]["id"], "Codertocat", "Codertocat", HEAD)
    ]


def test_a_review_body_edited_by_someone_else_is_recorded_on_a_closed_pr_too(hooks, svc):
    hooks.send("pull_request_review", _review_edited("mallory", state="closed"))
    assert hooks.dirty() == set()
    with svc.store.begin() as conn:
        (mark,) = tampering.marks_for_pull(conn, "github", REPO, 2)
    assert (mark.subject, mark.editor, mark.author) == ("review", "mallory", "Codertocat")


@pytest.mark.parametrize(
    "name", ["issue_comment/created.1", "issue_comment/edited.1", "issue_comment/deleted.1"]
)
def test_comments_on_a_pr_mark_it(hooks, name):
    hooks.send("issue_comment", comment_event(name))
    assert hooks.dirty() == {key(2)}


def test_comments_on_plain_issues_are_ignored(hooks, caplog):
    caplog.set_level(logging.INFO, logger="bot.events.inbox_drain")
    hooks.send("issue_comment", fixture("issue_comment/created.1"))
    assert hooks.dirty() == set() and hooks.woken() == 0
    assert "a comment on an issue, not on a pull request" in caplog.text


def test_a_comment_edited_by_someone_else_is_recorded_as_tampering(hooks, svc):
    open_pull(hooks, 2)
    edited = comment_event("issue_comment/edited.1")
    edited["sender"]["login"] = "mallory"
    hooks.send("issue_comment", edited)
    assert key(2) in hooks.dirty()
    with svc.store.begin() as conn:
        marks = tampering.marks_for_pull(conn, "github", REPO, 2)
    assert [(m.comment_id, m.author, m.editor, m.head_sha) for m in marks] == [
        (edited["comment"]["id"], "Codertocat", "mallory", HEAD)
    ]
    assert marks[0].at is not None


def test_a_comment_edited_by_its_author_is_no_tampering(hooks, svc):
    edited = comment_event("issue_comment/edited.1")
    edited["sender"]["login"] = "CODERTOCAT"  # logins compare case-insensitively
    hooks.send("issue_comment", edited)
    assert hooks.dirty() == {key(2)}
    with svc.store.begin() as conn:
        assert tampering.marks_for_pull(conn, "github", REPO, 2) == []


def test_tampering_on_a_closed_pr_is_still_recorded(hooks, svc):
    edited = comment_event("issue_comment/edited.1", state="closed")
    edited["sender"]["login"] = "mallory"
    hooks.send("issue_comment", edited)
    assert hooks.dirty() == set()
    with svc.store.begin() as conn:
        assert len(tampering.marks_for_pull(conn, "github", REPO, 2)) == 1


@pytest.mark.parametrize("state", ["open", "closed"])
def test_the_bots_own_comments_cause_no_work(hooks, svc, state):
    payload = comment_event("issue_comment/created.1", state=state)
    payload["comment"]["performed_via_github_app"] = {"id": APP_ID, "slug": SLUG}
    payload["comment"]["user"].update(login=f"{SLUG}[bot]", type="Bot")
    hooks.send("issue_comment", payload)
    assert hooks.dirty() == set()
    assert inbox(svc, 2) == []


# -- the command inbox ----------------------------------------------------------------


def inbox(svc: AppUnderTest, number: int, repo: str = REPO) -> list[commands.CommandComment]:
    with svc.store.begin() as conn:
        return commands.unanswered(conn, key(number, repo))


def routed_effects(payload: dict[str, Any], action: str) -> list[type]:
    routed = github_events.route(
        Delivery(
            event="issue_comment",
            action=action,
            payload=payload,
            repo=REPO,
            installation_id=None,
            sender=payload["sender"]["login"],
            app_id=APP_ID,
        )
    )
    return [type(e) for e in routed.effects]


def test_a_new_comment_on_an_open_pr_goes_to_its_command_inbox(hooks, svc, fake_github):
    fake_github.add_repo("acme/api", default_branch="main")
    fake_github.open_pr("acme/api", 7, author="alice")
    written = fake_github.add_comment("acme/api", 7, "mia", "/gate merge")
    event_name, payload = fake_github.webhook("issue_comment", "created", "acme/api", 7)
    with svc.store.begin() as conn:
        pull_parts.put(conn, "github", "acme/api", 7, HEAD, "t0", "{}", utcnow())
    hooks.send(event_name, payload)

    assert hooks.dirty() == {key(7, "acme/api")}
    (received,) = inbox(svc, 7, "acme/api")
    assert (received.comment_id, received.author, received.body) == (written.id, "mia",
                                                                       "/gate merge")
    assert received.created_at == written.created_at.replace(microsecond=0)
    assert received.installation_id == payload["installation"]["id"]
    assert received.state == commands.PENDING
    with svc.store.begin() as conn:
        assert pull_parts.get(conn, "github", "acme/api", 7) is None  # parts dropped as before


def test_a_new_comment_on_a_closed_pr_is_received_and_marked_without_dropping_parts(hooks, svc):
    payload = comment_event("issue_comment/created.1", state="closed")
    payload["comment"]["body"] = "/gate deploy production"
    assert routed_effects(payload, "created") == [fx.ReceiveComment]
    with svc.store.begin() as conn:
        pull_parts.put(conn, "github", REPO, 2, HEAD, "t0", "{}", utcnow())
    hooks.send("issue_comment", payload)

    assert hooks.dirty() == {key(2)}
    (received,) = inbox(svc, 2)
    assert (received.comment_id, received.author, received.body) == (
        payload["comment"]["id"],
        "Codertocat",
        "/gate deploy production",
    )
    assert received.created_at == datetime(2019, 5, 15, 15, 20, 21, tzinfo=UTC)
    with svc.store.begin() as conn:
        assert pull_parts.get(conn, "github", REPO, 2) is not None


@pytest.mark.parametrize("name", ["issue_comment/edited.1", "issue_comment/deleted.1"])
@pytest.mark.parametrize("editor", ["Codertocat", "mallory"])
def test_edited_and_deleted_comments_never_reach_the_inbox(hooks, svc, name, editor):
    payload = comment_event(name)
    payload["comment"]["body"] = "/gate merge"
    payload["sender"]["login"] = editor
    assert fx.ReceiveComment not in routed_effects(payload, payload["action"])
    hooks.send("issue_comment", payload)
    assert hooks.dirty() == {key(2)}  # still marked, as before
    assert inbox(svc, 2) == []


@pytest.mark.parametrize(
    ("login", "user_type"), [("ci-helper", "Bot"), ("renovate[bot]", "Bot"), ("dep[bot]", "User")]
)
def test_other_bots_comments_mark_the_pr_but_give_no_commands(hooks, svc, login, user_type):
    payload = comment_event("issue_comment/created.1")
    payload["comment"]["user"].update(login=login, type=user_type)
    payload["comment"]["body"] = "/gate merge"
    hooks.send("issue_comment", payload)
    assert hooks.dirty() == {key(2)}
    assert inbox(svc, 2) == []


def test_a_comment_too_long_to_hold_commands_is_not_received(hooks, svc):
    longest = comment_event("issue_comment/created.1")
    longest["comment"]["body"] = "/gate hold\n" + "x" * (MAX_BODY_CHARS - len("/gate hold\n"))
    too_long = comment_event("issue_comment/created.1")
    too_long["comment"]["id"] += 1
    too_long["comment"]["body"] = longest["comment"]["body"] + "x"
    hooks.send("issue_comment", longest)
    hooks.send("issue_comment", too_long)
    assert hooks.dirty() == {key(2)}
    assert [c.comment_id for c in inbox(svc, 2)] == [longest["comment"]["id"]]


@pytest.mark.parametrize("field", ["id", "user", "created_at"])
def test_a_comment_without_its_id_author_or_time_is_not_received(hooks, svc, field):
    payload = comment_event("issue_comment/created.1")
    payload["comment"]["created_at" if field == "created_at" else field] = (
        "yesterday" if field == "created_at" else None
    )
    hooks.send("issue_comment", payload)
    assert hooks.dirty() == {key(2)}
    assert inbox(svc, 2) == []


@pytest.mark.parametrize("state", ["open", "closed"])
def test_a_comment_delivered_twice_is_received_once(hooks, svc, state):
    payload = comment_event("issue_comment/created.1", state=state)
    hooks.send("issue_comment", payload, str(uuid.uuid4()))
    hooks.send("issue_comment", payload, str(uuid.uuid4()))  # a new delivery id
    assert len(inbox(svc, 2)) == 1
    # On a closed PR only a new comment is work; an open PR is marked by any comment.
    assert hooks.generation(key(2)) == (1 if state == "closed" else 2)


# -- checks and statuses ------------------------------------------------------------


def test_a_completed_check_run_marks_the_prs_it_lists(hooks):
    hooks.send("check_run", fixture("check_run/completed.1"))  # github-actions, failure
    assert hooks.dirty() == {key(2)}


def test_a_fork_check_run_lists_no_pr_and_is_found_by_its_head(hooks):
    open_pull(hooks, 9, head=OTHER_SHA)
    open_pull(hooks, 10, head=OTHER_SHA, state="closed")
    hooks.clean()
    payload = fixture("check_run/completed.1")
    payload["check_run"]["head_sha"] = OTHER_SHA
    payload["check_run"]["pull_requests"] = []
    hooks.send("check_run", payload)
    assert hooks.dirty() == {key(9)}


def test_check_runs_of_prs_into_another_repository_are_not_ours(hooks):
    payload = fixture("check_run/completed.1")
    payload["check_run"]["pull_requests"][0]["base"]["repo"]["id"] = 1
    hooks.send("check_run", payload)
    assert hooks.dirty() == set()


def test_a_check_run_that_starts_or_a_suite_requested_is_ignored(hooks):
    hooks.send("check_run", fixture("check_run/created.1"))
    hooks.send("check_suite", fixture("check_suite/requested.1"))
    assert hooks.dirty() == set() and hooks.woken() == 0


def test_a_check_suite_or_workflow_run_that_completes_marks_its_head(hooks):
    hooks.send("check_suite", fixture("check_suite/completed.1"))
    assert hooks.dirty() == {key(2)}
    hooks.clean()
    run = fixture("workflow_run/completed.1")
    open_pull(hooks, 5, head=run["workflow_run"]["head_sha"], base="main")
    hooks.clean()
    hooks.send("workflow_run", run)
    assert hooks.dirty() == {key(5)}


def _follow(hooks: Hooks, method: str, reference: str, repo: str = REPO) -> DeployKey:
    """A deployment the store follows, next asked about in an hour."""
    dkey = DeployKey("github", repo, "c" * 40, "production")
    started = utcnow() - timedelta(minutes=1)
    with hooks.svc.store.begin() as conn:
        deploy_outcomes.start(conn, dkey, number=2, method=method, environment="production",
                              now=started, reference=reference, access=1)
        conn.execute(
            deploy_outcomes.t.update().values(next_check_at=started + timedelta(hours=1))
        )
    return dkey


def _next_check(hooks: Hooks, dkey: DeployKey) -> datetime | None:
    with hooks.svc.store.begin() as conn:
        row = deploy_outcomes.get(conn, dkey)
    assert row is not None
    return row.next_check_at


def test_a_deployment_status_makes_the_followed_deployment_due_and_marks_no_pr(hooks):
    payload = fixture("deployment_status/created.1")
    payload["repository"]["full_name"] = REPO
    ident = payload["deployment"]["id"]
    followed = _follow(hooks, "github_deployment", str(ident))
    other = _follow(hooks, "github_deployment", "1", repo="acme/other")
    before = utcnow()
    hooks.send("deployment_status", payload)
    assert _next_check(hooks, followed) <= utcnow()
    assert _next_check(hooks, followed) >= before - timedelta(seconds=1)
    assert _next_check(hooks, other) > utcnow() + timedelta(minutes=30)
    assert hooks.dirty() == set()


def test_a_deployment_status_of_a_deployment_nobody_follows_does_nothing(hooks):
    payload = fixture("deployment_status/created.1")
    routed = github_events.route(
        Delivery(
            event="deployment_status", action="created", payload=payload,
            repo=payload["repository"]["full_name"], installation_id=None,
            sender=payload["sender"]["login"], app_id=APP_ID,
        )
    )
    assert routed.effects == (
        fx.FollowDeploy(
            payload["repository"]["full_name"], "github_deployment",
            str(payload["deployment"]["id"]),
        ),
    )
    hooks.send("deployment_status", payload)
    assert hooks.dirty() == set()


def test_a_completed_dispatched_run_makes_the_followed_deployment_due(hooks):
    run = fixture("workflow_run/completed.1")
    run["workflow_run"]["event"] = "workflow_dispatch"
    run["repository"]["full_name"] = REPO
    followed = _follow(hooks, "workflow_dispatch", str(run["workflow_run"]["id"]))
    hooks.send("workflow_run", run)
    assert _next_check(hooks, followed) <= utcnow()


def test_a_run_started_by_anything_but_a_dispatch_is_no_deploy_hint(hooks):
    run = fixture("workflow_run/completed.1")
    run["workflow_run"]["event"] = "push"
    run["repository"]["full_name"] = REPO
    followed = _follow(hooks, "workflow_dispatch", str(run["workflow_run"]["id"]))
    hooks.send("workflow_run", run)
    assert _next_check(hooks, followed) > utcnow() + timedelta(minutes=30)


def test_the_bots_own_check_runs_and_statuses_cause_no_work(hooks, svc, fake_github):
    """Payloads built by the fake GitHub from its state: a check run of the
    configured App (`app.id` 4242, slug gatebot) and a status by gatebot[bot]."""
    fake_github.add_repo("acme/api")
    pr = fake_github.open_pr("acme/api", 7)
    hooks.send("pull_request", fake_github.webhook("pull_request", "opened", "acme/api", 7)[1])
    hooks.clean()

    fake_github.set_check_run(
        "acme/api", pr.head_sha, "gatebot: main", app_slug=SLUG, app_id=APP_ID
    )
    hooks.send(*fake_github.webhook("check_run", "completed", "acme/api"))
    hooks.send(*fake_github.webhook("check_suite", "completed", "acme/api", 7, app_slug=SLUG))
    assert hooks.dirty() == set()
    with svc.store.begin() as conn:
        assert apps.bot_login(conn, "github", APP_ID) == "gatebot[bot]"  # learnt from the run

    fake_github.set_status(
        "acme/api", pr.head_sha, "gatebot: main", "success", creator="gatebot[bot]"
    )
    hooks.send(*fake_github.webhook("status", None, "acme/api"))
    assert hooks.dirty() == set() and hooks.woken() == 0

    # Another App's run and another account's status on the same head do mark it.
    fake_github.set_check_run("acme/api", pr.head_sha, "tests", app_slug="ci")
    hooks.send(*fake_github.webhook("check_run", "completed", "acme/api"))
    assert hooks.dirty() == {key(7, "acme/api")}


def test_rerequesting_the_bots_check_run_forgets_its_verdict_and_marks_the_pr(hooks, svc):
    open_pull(hooks, 2)
    hooks.clean()
    record_verdict(svc, number=2, sha=HEAD, context="gatebot: master")
    payload = fixture("check_run/completed.1")
    payload["action"] = "rerequested"
    payload["check_run"]["name"] = "gatebot: master"
    payload["check_run"]["app"].update(id=APP_ID, slug=SLUG)
    hooks.send("check_run", payload)
    assert hooks.dirty() == {key(2)}
    assert verdict(svc, HEAD, "gatebot: master") is None


def test_rerequesting_another_apps_check_run_is_left_to_that_app(hooks):
    hooks.send("check_run", fixture("check_run/rerequested.1"))
    assert hooks.dirty() == set()


def test_any_status_marks_the_open_prs_of_its_commit(hooks):
    open_pull(hooks, 3, head=OTHER_SHA)
    open_pull(hooks, 4, head=OTHER_SHA, base="release")
    open_pull(hooks, 5, head="b" * 40)
    hooks.clean()
    hooks.send(
        "status", status_event(sha=OTHER_SHA, context="ci/build", writer="ci", state="failure")
    )
    assert hooks.dirty() == {key(3), key(4)}
    assert hooks.woken() == 2


def test_a_status_finds_a_pr_known_only_by_a_posted_verdict(hooks, svc):
    record_verdict(svc, number=12, sha=OTHER_SHA, context="gatebot: master")
    hooks.send("status", status_event(sha=OTHER_SHA, context="ci/build", writer="ci"))
    assert hooks.dirty() == {key(12)}


def test_someone_elses_status_under_the_bots_context_is_overwritten(hooks, svc, caplog):
    learn_slug(svc)
    record_verdict(svc, number=2, sha=HEAD, context="gatebot: master")
    caplog.set_level(logging.INFO)
    hooks.send("status", status_event(sha=HEAD, context="gatebot: master", writer="mallory"))
    assert hooks.dirty() == {key(2)}
    assert verdict(svc, HEAD, "gatebot: master") is None  # posted again by the next run
    assert "mallory" in caplog.text and "gatebot: master" in caplog.text
    secret = svc.settings.github_webhook_secret.get_secret_value()
    assert secret not in caplog.text


def test_another_apps_status_under_the_bots_context_is_overwritten(hooks, svc):
    learn_slug(svc)
    record_verdict(svc, number=2, sha=HEAD, context="gatebot: master")
    hooks.send("status", status_event(sha=HEAD, context="gatebot: master", writer="evil[bot]"))
    assert hooks.dirty() == {key(2)}
    assert verdict(svc, HEAD, "gatebot: master") is None


def test_a_bot_status_under_the_bots_context_before_the_slug_is_known(hooks, svc):
    """Maybe the bot's own: the PR is looked at again (the publisher compares the
    writer with its own login), but what was posted is not forgotten."""
    record_verdict(svc, number=2, sha=HEAD, context="gatebot: master")
    hooks.send("status", status_event(sha=HEAD, context="gatebot: master", writer="gatebot[bot]"))
    assert hooks.dirty() == {key(2)}
    assert verdict(svc, HEAD, "gatebot: master") is not None


def test_the_slug_is_learnt_from_an_installation_event(hooks, svc):
    """installation/created.1 belongs to App 29310 without a slug; as GitHub
    sends it for this App: `app_id` 4242, `app_slug` gatebot."""
    payload = fixture("installation/created.1")
    payload["installation"].update(app_id=APP_ID, app_slug=SLUG)
    hooks.send("installation", payload)
    record_verdict(svc, number=2, sha=HEAD, context="gatebot: master")
    hooks.send("status", status_event(sha=HEAD, context="gatebot: master", writer="GateBot[bot]"))
    assert hooks.dirty() == set()
    assert verdict(svc, HEAD, "gatebot: master") is not None


# -- push -----------------------------------------------------------------------------


def push_event(
    branch: str,
    paths: list[str] | None,
    *,
    repo: str = REPO,
    forced: bool = False,
    commits: int = 1,
) -> dict[str, Any]:
    """push/push.5 (a branch push) moved to `branch`, its commits touching `paths`
    (None: the commit list left out)."""
    payload = fixture("push/push.5")
    _move(payload, repo)
    payload["ref"] = f"refs/heads/{branch}"
    payload["before"] = "1" * 40
    payload["after"] = "2" * 40
    payload["created"] = False
    payload["forced"] = forced
    template = payload["commits"][0]
    if paths is None:
        del payload["commits"]
    else:
        listed = [dict(template, added=[], removed=[], modified=[]) for _ in range(commits)]
        listed[-1]["modified"] = list(paths)
        payload["commits"] = listed
    return payload


def cache_policy(svc: AppUnderTest, repo: str, ref: str, path: str = ".github/gatebot.yml") -> None:
    with svc.store.begin() as conn:
        forge_files.put(conn, "github", repo, ref, path, "approvals: 1\n", utcnow())


def cached(svc: AppUnderTest, repo: str, ref: str, path: str = ".github/gatebot.yml") -> bool:
    with svc.store.begin() as conn:
        return (
            forge_files.get(conn, "github", repo, ref, path, utcnow() - timedelta(days=1))
            is not None
        )


@pytest.mark.parametrize(
    "path",
    [".github/gatebot.yml", ".gatebot.yml", "CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"],
)
def test_a_push_changing_a_base_branchs_policy_or_codeowners_marks_its_open_prs(hooks, svc, path):
    open_pull(hooks, 2)
    open_pull(hooks, 3)
    open_pull(hooks, 4, base="release")
    open_pull(hooks, 5, state="closed")
    hooks.clean()
    cache_policy(svc, REPO, "master")
    cache_policy(svc, REPO, "release")
    hooks.send("push", push_event("master", ["src/app.py", path]))
    assert hooks.dirty() == {key(2), key(3)}
    assert not cached(svc, REPO, "master")
    assert cached(svc, REPO, "release")


def test_a_push_leaving_policy_and_codeowners_alone_causes_no_work(hooks, svc, caplog):
    open_pull(hooks, 2)
    hooks.clean()
    cache_policy(svc, REPO, "master")
    caplog.set_level(logging.INFO, logger="bot.events.inbox_drain")
    hooks.send("push", push_event("master", ["src/app.py", "docs/guide.md"]))
    assert hooks.dirty() == set()
    assert cached(svc, REPO, "master")
    assert "changes no policy file or CODEOWNERS" in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        push_event("master", None),  # no commit list
        push_event("master", ["src/app.py"], forced=True),  # rewound commits are not listed
        push_event("master", ["src/app.py"], commits=2048),  # at GitHub's cap
    ],
    ids=["no-commit-list", "forced", "truncated"],
)
def test_a_push_whose_changes_are_not_fully_listed_is_assumed_to_touch_the_policy(
    hooks, svc, payload
):
    open_pull(hooks, 2)
    hooks.clean()
    cache_policy(svc, REPO, "master")
    hooks.send("push", payload)
    assert hooks.dirty() == {key(2)}
    assert not cached(svc, REPO, "master")


def test_tag_pushes_are_ignored(hooks):
    open_pull(hooks, 2)
    hooks.clean()
    hooks.send("push", fixture("push/push.1"))  # refs/tags/simple-tag
    assert hooks.dirty() == set()


def test_the_owners_fallback_policy_marks_the_owners_prs_without_a_policy_of_their_own(hooks, svc):
    open_pull(hooks, 1, repo="Codertocat/api")
    open_pull(hooks, 2, repo="Codertocat/web")
    open_pull(hooks, 3, repo="Somebody/else")
    hooks.clean()
    cache_policy(svc, "Codertocat/web", "master")  # web has its own policy
    cache_policy(svc, "Codertocat/.github", "", "gatebot.yml")
    push = push_event("main", ["gatebot.yml"], repo="Codertocat/.github")
    push["repository"]["default_branch"] = "main"
    hooks.send("push", push)
    assert hooks.dirty() == {key(1, "Codertocat/api")}
    assert not cached(svc, "Codertocat/.github", "", "gatebot.yml")


def test_a_push_concerning_many_prs_costs_a_fixed_number_of_queries(hooks, svc):
    for number in range(1, 201):
        open_pull(hooks, number)
    hooks.clean()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(svc.store.engine, "before_cursor_execute", count)
    try:
        hooks.send("push", push_event("master", [".github/gatebot.yml"]))
    finally:
        event.remove(svc.store.engine, "before_cursor_execute", count)
    assert len(hooks.dirty()) == 200
    assert hooks.woken() == 200
    # Beside the ingestion's own (at most 8), the answer keeps the delivery (BEGIN,
    # INSERT into the inbox), and the drain takes it (DELETE) and ingests it in a
    # savepoint (SAVEPOINT, RELEASE).
    assert len(statements) <= 8 + 5, statements


# -- merge queue --------------------------------------------------------------------


def test_a_merge_group_is_recorded_and_queued_for_the_pipeline(hooks, svc):
    payload = fixture("merge_group/checks_requested.1")
    hooks.send("merge_group", payload)
    [queued] = hooks.dirty()
    assert isinstance(queued, GroupKey)
    assert queued.provider == "github" and queued.repo == "octo-org/octo-repo"
    # The dirty table keeps a group under its forge's provider with `-mq`, as always.
    assert key_columns.columns(queued) == ("github-mq", "octo-org/octo-repo", queued.group_id)
    with svc.store.begin() as conn:
        group = merge_groups.for_key(conn, queued)
    assert group is not None
    assert group.head_sha == payload["merge_group"]["head_sha"]
    assert (group.base_ref, group.base_sha) == ("main", payload["merge_group"]["base_sha"])
    # pr-104 in the queue branch's name, #2048 in the head commit's message
    assert group.pull_numbers == (104, 2048)
    assert group.state == merge_groups.REQUESTED
    assert group.installation_id == 1
    assert hooks.woken() == 1

    # Delivered again (a new delivery id): the same group, not a second one.
    hooks.send("merge_group", payload)
    assert hooks.dirty() == {queued}

    ended = fixture("merge_group/checks_requested.1")
    ended["action"] = "destroyed"
    ended["reason"] = "merged"
    hooks.send("merge_group", ended)
    with svc.store.begin() as conn:
        assert merge_groups.for_key(conn, queued).state == merge_groups.DESTROYED


def test_merge_group_pull_numbers_as_github_writes_them():
    from bot.events.github.merge_groups import pull_numbers

    squash = {
        "head_ref": "refs/heads/gh-readonly-queue/main/pr-17-" + "c" * 40,
        "head_commit": {"message": "Add the thing (#17)\n\nCo-authored-by: x"},
    }
    assert pull_numbers(squash) == (17,)
    assert pull_numbers({"head_ref": "refs/heads/feature", "head_commit": {"message": "x"}}) == ()


# -- installations ----------------------------------------------------------------------


def installation_row(svc: AppUnderTest, installation_id: int) -> installations.Installation:
    with svc.store.begin() as conn:
        found = installations.get(conn, "github", installation_id)
    assert found is not None
    return found


def test_installations_are_recorded_without_pr_work(hooks, svc):
    hooks.send("installation", fixture("installation/created.1"))
    found = installation_row(svc, 957387)
    assert (found.account, found.app_id, found.live) == ("Codertocat", 29310, True)
    assert found.repositories == ("Codertocat/Hello-World",)

    hooks.send("installation_repositories", fixture("installation_repositories/added.1"))
    assert installation_row(svc, 957387).repositories == (
        "Codertocat/Hello-World",
        "Codertocat/Space",
    )
    hooks.send("installation", fixture("installation/new_permissions_accepted.1"))
    assert installation_row(svc, 957387).live
    assert hooks.dirty() == set() and hooks.woken() == 0


def test_a_suspended_installation_drops_its_dirty_prs_until_unsuspended(hooks, svc):
    suspend = fixture("installation/suspend.1")
    installation_id = suspend["installation"]["id"]
    with svc.store.begin() as conn:
        dirty.mark(conn, key(2), utcnow(), installation_id)
        dirty.mark(conn, key(3), utcnow(), 99)
    hooks.send("installation", suspend)
    assert installation_row(svc, installation_id).suspended
    assert hooks.dirty() == {key(3)}
    hooks.send("installation", fixture("installation/unsuspend.1"))
    assert installation_row(svc, installation_id).live


def test_a_deleted_installation_and_removed_repositories_drop_their_dirty_prs(hooks, svc):
    deleted = fixture("installation/deleted.1")
    removed = fixture("installation_repositories/removed.1")
    gone_repo = removed["repositories_removed"][0]["full_name"]
    with svc.store.begin() as conn:
        dirty.mark(conn, key(2), utcnow(), deleted["installation"]["id"])
        dirty.mark(conn, key(4, gone_repo), utcnow())  # no installation recorded with it
        dirty.mark(conn, key(5, "Someone/else"), utcnow(), 77)
    hooks.send("installation_repositories", removed)
    assert hooks.dirty() == {key(2), key(5, "Someone/else")}
    hooks.send("installation", deleted)
    assert installation_row(svc, deleted["installation"]["id"]).deleted
    assert hooks.dirty() == {key(5, "Someone/else")}


# -- people ---------------------------------------------------------------------------


def directory_fact(svc, kind: str, scope: str, login: str) -> None:
    with svc.store.begin() as conn:
        directory_cache.remember(conn, "github", kind, scope, login, "write", utcnow(), 3600)


def directory_facts(svc, kind: str, scope: str, logins: list[str]) -> dict[str, str]:
    with svc.store.begin() as conn:
        return directory_cache.lookup(conn, "github", kind, scope, logins, utcnow())


def test_a_collaborator_change_drops_the_permission_and_marks_the_repositorys_prs(hooks, svc):
    open_pull(hooks, 2)
    open_pull(hooks, 3, repo="Codertocat/Other")
    hooks.clean()
    directory_fact(svc, directory_cache.PERMISSION, REPO, "hacktocat")
    directory_fact(svc, directory_cache.PERMISSION, REPO, "mia")
    hooks.send("member", fixture("member/added.1"))
    assert directory_facts(svc, directory_cache.PERMISSION, REPO, ["hacktocat", "mia"]) == {
        "mia": "write"
    }
    assert hooks.dirty() == {key(2)}


def test_a_team_membership_change_marks_the_organisations_prs(hooks, svc):
    open_pull(hooks, 2, repo="Octocoders/Hello-World")
    open_pull(hooks, 3, repo="octocoders/tools")  # another spelling of the same owner
    open_pull(hooks, 4)
    hooks.clean()
    directory_fact(svc, directory_cache.TEAM, "Octocoders/github", "Codertocat")
    hooks.send("membership", fixture("membership/removed.1"))
    assert directory_facts(svc, directory_cache.TEAM, "Octocoders/github", ["Codertocat"]) == {}
    assert hooks.dirty() == {key(2, "Octocoders/Hello-World"), key(3, "octocoders/tools")}


def test_team_events(hooks, svc):
    open_pull(hooks, 2, repo="Octocoders/Hello-World")
    open_pull(hooks, 3, repo="Octocoders/tools")
    hooks.clean()
    directory_fact(svc, directory_cache.TEAM, "Octocoders/github", "mia")
    hooks.send("team", fixture("team/created.1"))
    assert directory_facts(svc, directory_cache.TEAM, "Octocoders/github", ["mia"]) == {}
    assert hooks.dirty() == set()  # a new team has no members

    hooks.send("team", fixture("team/added_to_repository.1"))
    assert hooks.dirty() == {key(2, "Octocoders/Hello-World")}
    hooks.clean()
    hooks.send("team", fixture("team/edited.1"))  # no repository: the whole organisation
    assert hooks.dirty() == {key(2, "Octocoders/Hello-World"), key(3, "Octocoders/tools")}


def test_an_organisation_member_change_drops_their_facts_and_marks_its_prs(hooks, svc):
    """No `organization` example exists: built from membership/added.1's
    organisation and member, in the shape GitHub documents for member_removed."""
    source = fixture("membership/added.1")
    payload = {
        "action": "member_removed",
        "membership": {
            "url": f"https://api.github.com/orgs/Octocoders/memberships/{source['member']['login']}",
            "state": "active",
            "role": "member",
            "organization_url": "https://api.github.com/orgs/Octocoders",
            "user": source["member"],
        },
        "organization": source["organization"],
        "sender": source["sender"],
    }
    open_pull(hooks, 2, repo="Octocoders/Hello-World")
    hooks.clean()
    directory_fact(svc, directory_cache.ORG, "Octocoders", "Codertocat")
    hooks.send("organization", payload)
    assert directory_facts(svc, directory_cache.ORG, "Octocoders", ["Codertocat"]) == {}
    assert hooks.dirty() == {key(2, "Octocoders/Hello-World")}


# -- recorded, nothing else ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_name", "payload"),
    [
        ("ping", github_payload("ping/ping.1")),
        ("pull_request_review_comment", {"action": "created", "repository": {"full_name": REPO}}),
        ("issues", {"action": "opened", "repository": {"full_name": REPO}}),
        ("star", {"action": "created", "repository": {"full_name": REPO}}),
    ],
)
def test_other_events_are_recorded_and_explicitly_ignored(hooks, svc, caplog, event_name, payload):
    delivery = str(uuid.uuid4())
    caplog.set_level(logging.INFO, logger="bot.events.inbox_drain")
    response = hooks.send(event_name, payload, delivery)
    assert response.status_code == 202
    with svc.store.begin() as conn:
        assert deliveries.get(conn, "github", delivery).event == event_name
    assert hooks.dirty() == set() and hooks.woken() == 0
    assert ignored.EVENTS[event_name] in caplog.text


def test_a_redelivered_event_does_nothing_twice(hooks, svc):
    open_pull(hooks, 2)
    hooks.clean()
    edited = comment_event("issue_comment/edited.1")
    edited["sender"]["login"] = "mallory"
    delivery = str(uuid.uuid4())
    hooks.send("issue_comment", edited, delivery)
    assert hooks.send("issue_comment", edited, delivery).status_code == 200
    assert hooks.generation(key(2)) == 1
    with svc.store.begin() as conn:
        assert len(tampering.marks_for_pull(conn, "github", REPO, 2)) == 1


# -- the store functions, on SQLite and PostgreSQL -------------------------------------------


T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def state(
    number: int, *, repo: str = "Acme/App", head: str = HEAD, base: str = "main", **more
) -> pulls.PullState:
    return pulls.PullState(
        "github", repo, number, base, head, more.pop("state", pulls.OPEN), **more
    )


def test_store_pulls_lookups(store):
    with store.begin() as conn:
        pulls.remember(conn, state(1, installation_id=5, updated_at=T0), T0)
        pulls.remember(conn, state(2, base="release"), T0)
        pulls.remember(conn, state(3, state=pulls.CLOSED), T0)
        pulls.remember(conn, state(4, repo="Acme/Lib"), T0)
        pulls.remember(conn, state(5, repo="Other/App"), T0)
        # Older news does not overwrite newer; news without a time does.
        pulls.remember(conn, state(1, head=OTHER_SHA, updated_at=T0 - timedelta(minutes=1)), T0)
        assert pulls.get(conn, "github", "Acme/App", 1).head_sha == HEAD
        assert pulls.get(conn, "github", "Acme/App", 1).installation_id == 5
        pulls.remember(conn, state(1, head=HEAD, updated_at=T0), T0)  # a tie goes to the later

        assert [p.number for p in pulls.open_for_sha(conn, "github", "Acme/App", HEAD)] == [1, 2]
        assert [p.number for p in pulls.open_on_base(conn, "github", "Acme/App", "main")] == [1]
        assert [p.number for p in pulls.open_in_repo(conn, "github", "Acme/App")] == [1, 2]
        owner = pulls.open_of_owner(conn, "github", "acme")
        assert [(p.repo, p.number) for p in owner] == [
            ("Acme/App", 1),
            ("Acme/App", 2),
            ("Acme/Lib", 4),
        ]
        assert owner[0].installation_id == 5

        forge_files.put(conn, "github", "Acme/App", "release", ".gatebot.yml", "x: 1\n", T0)
        forge_files.put(conn, "github", "Acme/Lib", "main", ".github/gatebot.yml", None, T0)
        without = pulls.open_of_owner(
            conn, "github", "Acme", without_policy_at=(".github/gatebot.yml", ".gatebot.yml")
        )
        assert [(p.repo, p.number) for p in without] == [("Acme/App", 1), ("Acme/Lib", 4)]


def test_store_numbers_for_sha_adds_posted_verdicts_of_prs_not_known_closed(store):
    posted = dict(
        provider="github",
        repo="Acme/App",
        sha=OTHER_SHA,
        context="gatebot: main",
        state="success",
        description="ok",
        details_url=None,
        report_only=False,
        status_posted=True,
        check_run_id=None,
        explanation=None,
        posted_at=T0,
    )
    with store.begin() as conn:
        pulls.remember(conn, state(1, head=OTHER_SHA), T0)
        pulls.remember(conn, state(3, head=OTHER_SHA, state=pulls.CLOSED), T0)
        for number in (1, 3, 8):
            evaluations.record(
                conn,
                evaluations.Posted(number=number, **{**posted, "context": f"gatebot: b{number}"}),
            )
        assert pulls.numbers_for_sha(conn, "github", "Acme/App", OTHER_SHA) == [1, 8]


def test_store_mark_pulls_in_one_statement_says_which_were_clean(store):
    with store.begin() as conn:
        dirty.mark(conn, PullKey("github", "Acme/App", 2), T0, 7)
        woken = dirty.mark_many(
            conn,
            {PullKey("github", "Acme/App", n): None for n in (3, 2, 1)},
            T0,
        )
        assert woken == [PullKey("github", "Acme/App", 1), PullKey("github", "Acme/App", 3)]
        assert dirty.get(conn, PullKey("github", "Acme/App", 2)).generation == 2
        assert dirty.get(conn, PullKey("github", "Acme/App", 2)).installation_id == 7
        assert dirty.mark_many(conn, {}, T0) == []


def test_store_tamper_marks_merge_groups_installations_and_the_app_slug(store):
    with store.begin() as conn:
        for minute, editor in ((2, "eve"), (1, "mallory")):
            tampering.record(
                conn,
                tampering.TamperRecord(
                    "github", "Acme/App", 4, 99, "ada", editor, HEAD, T0 + timedelta(minutes=minute)
                ),
            )
        assert [m.editor for m in tampering.marks_for_pull(conn, "github", "Acme/App", 4)] == [
            "mallory",
            "eve",
        ]

        args = dict(
            provider="github",
            repo="Acme/App",
            head_sha=OTHER_SHA,
            head_ref="q",
            base_ref="main",
            base_sha=None,
            installation_id=5,
        )
        first = merge_groups.request(conn, pull_numbers=[3, 1], now=T0, **args)
        again = merge_groups.request(conn, pull_numbers=[1, 3, 4], now=T0, **args)
        assert first.id == again.id and again.pull_numbers == (1, 3, 4)
        assert first.key == GroupKey("github", "Acme/App", first.id)
        assert key_columns.columns(first.key) == ("github-mq", "Acme/App", first.id)
        assert merge_groups.for_key(conn, PullKey("github", "Acme/App", first.id)) is None
        assert merge_groups.end(conn, "github", "Acme/App", OTHER_SHA, T0) == 1
        assert merge_groups.for_key(conn, first.key).state == merge_groups.DESTROYED

        dirty.mark(conn, first.key, T0, 5)
        dirty.mark(conn, PullKey("github", "Acme/App", 1), T0, 5)
        dirty.mark(conn, PullKey("github", "Acme/Lib", 1), T0)
        dirty.mark(conn, PullKey("github", "Other/App", 1), T0, 6)
        assert installations.drop_work(conn, "github", installation_id=5, repos=["Acme/Lib"]) == 3
        assert dirty.get(conn, PullKey("github", "Other/App", 1)) is not None

        assert apps.slug(conn, "github", APP_ID) is None
        apps.remember(conn, "github", APP_ID, "GateBot", T0)
        apps.remember(conn, "github", APP_ID, "gatebot", T0)
        assert apps.bot_login(conn, "github", APP_ID) == "gatebot[bot]"
