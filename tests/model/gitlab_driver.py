"""The machine's verbs against the fake GitLab, with the bot's real web tier (deliveries
with the connected group hook's token through the Flask app) and real GitLab worker
pipeline in-process, on the one simulated clock of `github_driver` that the fake, the
web tier and the worker all read.

Where GitLab has no such thing, the verb becomes GitLab's nearest one:

- a review: an approval (a second approval by the same person is refused, as GitLab
  does); "request changes" and a dismissal are an unapproval; a COMMENTED review is
  nothing. Approvals name no commit (the oracle ties them to the head by time:
  `Truth.forge`).
- a comment: a note; an edit of a note (GitLab's hook names the note's author, never
  the editor, so tampering by someone else cannot be expressed, and an edited note
  never runs a command).
- a check: an external commit status by the app's user, announced by a pipeline hook.
- "update branch": GitLab's rebase; a hand-made update merge is a merge commit
  pushed like any other. GitLab has no update-merge recognition: both are pushes.
- a deploy: a pipeline created on the branch merged into.

One `GitLabRig` (fake, store, app) serves every example of a run; each example gets
a project of its own under the connected group (`GitLabDriver`).
"""

from __future__ import annotations

import itertools
import json
import tempfile
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from fakegitlab import FakeGitLab
from support.apps import AppUnderTest, build_app

from bot.pipeline.errors import guarded
from bot.pipeline.failures import FailureReport, Reporting
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.pull import RememberBotName, full_pipeline
from bot.providers.gitlab.bot_account import BOT_ACCOUNT_ID
from bot.providers.gitlab.forge import PROVIDER, GitLabForge
from bot.providers.gitlab.policy_source import POLICY_PATHS
from bot.retry import RetryPolicies
from bot.store import dirty, gitlab_hooks
from bot.worker import PullWorker
from model.driver import BotMerge, Posted, Shipped
from model.github_driver import PEOPLE, Delivery, DeliveryQueue, SimClock
from model.oracle import CheckResult, Comment, Commit, Pull, Review, Truth
from model.policies import CHECK, DEPLOY_NAME, TEAM, Knobs

POLICY_FILE = ".gitlab/gatebot.yml"
SECRET = "model-gitlab-hook-token"
GROUP = "acme"
DEPLOY_VIA = '{gitlab_pipeline: {variables: {DEPLOY_SHA: "{merge_sha}"}}}'
# The spec's mapping of roles: Owner = admin, Maintainer = maintain, Developer = write,
# Reporter = triage, Guest = read.
LEVELS = {"read": 10, "triage": 20, "write": 30, "maintain": 40, "admin": 50}
# GitLab usernames cannot hold brackets: the machine's bot account is a service account
# there (`bot: true`, a username like anyone's).
USERNAMES = {"dep[bot]": "dep-bot"}
# Check conclusions as GitLab commit status states (GitLab has no "neutral").
STATES = {"success": "success", "failure": "failed", "neutral": "skipped"}
CONCLUSIONS = {"success": "success", "failed": "failure", "skipped": "skipped"}
REACTIONS = {"thumbsup": "+1", "thumbsdown": "-1"}


def username(login: str) -> str:
    return USERNAMES.get(login, login)


class GitLabRig:
    """The fake GitLab and the bot's store and web app, for a whole run of examples."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._stack = ExitStack()
        if workdir is None:
            workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="model-")))
        self.clock = SimClock()
        self.fake = self._stack.enter_context(FakeGitLab(webhook_secret=SECRET))
        self._stack.enter_context(mock.patch.object(self.fake.world, "now", self._fake_now))
        self._stack.enter_context(mock.patch("bot.web.webhooks.utcnow", self.clock))
        self.fake.add_group(GROUP, members={self.fake.bot_username: 50})
        self.fake.add_group(TEAM, members={
            username(p.login): LEVELS.get(p.role, 10) for p in PEOPLE if TEAM in p.teams
        })
        for person in PEOPLE:
            self.fake.add_user(username(person.login), bot=person.bot)
        self.svc: AppUnderTest = build_app(
            {
                "GITLAB_URL": self.fake.url,
                "GITLAB_TOKEN": self.fake.token,
                "GATEBOT_DATABASE_URL": f"sqlite:///{workdir / 'gatebot.sqlite3'}",
                "GATEBOT_SECRET_KEY": "sk-model-run",
                "GATEBOT_PUBLIC_URL": "http://gatebot.invalid",
                "GATEBOT_RETRY_MAX_WAIT_SECONDS": "0",
            }
        )
        self._stack.callback(self.svc.store.close)
        # As `gatebot gitlab connect acme` records it: every project under acme/.
        group = self.fake.world.find_group(GROUP)
        with self.svc.store.begin() as conn:
            gitlab_hooks.record(conn, gitlab_hooks.GROUP, group.id, GROUP, 1, secret=SECRET,
                                now=self.clock())
        self.projects = itertools.count(1)

    def _fake_now(self) -> datetime:
        """The fake's clock is the run's: strictly increasing by a millisecond on ties,
        as the fake's own."""
        world = self.fake.world
        moment = self.clock.now
        if moment <= world._last_now:
            moment = world._last_now + timedelta(milliseconds=1)
        world._last_now = moment
        return moment

    def driver(self) -> GitLabDriver:
        self.clock.catch_up()
        return GitLabDriver(self, f"{GROUP}/m{next(self.projects)}")

    def close(self) -> None:
        self._stack.close()


@dataclass
class GitLabDriver(DeliveryQueue):
    rig: GitLabRig
    repo: str
    truth: Truth = field(init=False)
    queue: list[Delivery] = field(default_factory=list)
    sent: list[Delivery] = field(default_factory=list)
    worker: PullWorker | None = None
    files: itertools.count = field(default_factory=itertools.count)
    failures: list[str] = field(default_factory=list)  # the worker's, for the report

    def __post_init__(self) -> None:
        fake = self.rig.fake
        self.truth = Truth(people={p.login.lower(): p for p in PEOPLE}, forge="gitlab")
        main = Knobs()
        fake.add_project(self.repo, files={POLICY_FILE: main.text(DEPLOY_VIA), "src/app.py": "0\n"},
                         remove_source_branch_after_merge=False)
        fake.add_branch(self.repo, "release", "main")
        for person in PEOPLE:
            if person.role != "none":
                fake.set_access(self.repo, username(person.login), LEVELS[person.role])
        self.truth.policies = {"main": main, "release": main}

    # -- the world -------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.rig.clock.now

    def advance(self, seconds: int) -> None:
        self.rig.clock.advance(seconds)

    def _tick(self) -> None:
        """Each act of a person or the forge a second after the last: the truth's times
        are the fake's, to the second."""
        self.rig.clock.advance(1)

    def _mr(self, number: int) -> Any:
        return self.rig.fake.mr(self.repo, number)

    def _sync(self, number: int) -> Pull:
        pull = self.truth.pulls[number]
        world = self.rig.fake.world
        with world.lock:
            project = world.project(self.repo)
            mr = world.mr(project, number)
            pull.commits = [c.sha for c in world.mr_commits(project, mr)]
            head = mr.head_sha
        if head != pull.head:
            pull.head = head
            pull.heads.append((head, self.now))
        return pull

    def _note_commit(self, sha: str, author: str, parent: str | None) -> None:
        # GitLab has no update-merge recognition: no commit is an update merge.
        self.truth.commits[sha] = Commit(sha, author, parent, False)

    def _emit(self, kind: str, number: int | None = None, *,
              told: Callable[[], None] | None = None, **details: Any) -> None:
        event, payload = self.rig.fake.webhook(kind, self.repo, number, **details)
        self.queue.append(Delivery(str(uuid.uuid4()), event, payload, told))

    def _pushed(self, number: int, by: str, parent: str) -> None:
        """A new head by `by` (a push, a rebase or a merge commit): GitLab's MR update hook
        names the pusher."""
        pull = self._sync(number)
        for sha in pull.commits:
            if sha not in self.truth.commits:
                author = self.rig.fake.world.project(self.repo).commits[sha].author
                self._note_commit(sha, author, parent)
        if by.lower() != pull.author:
            pull.pushers[pull.head] = by.lower()
        self._announce_push(number, by)

    def _announce_push(self, number: int, by: str) -> None:
        """GitLab's two hooks about a push to the MR's branch, each of which may be lost:
        the branch's push and the MR's update, both naming the pusher."""
        self._emit("push", number, user=username(by))
        self._emit("merge_request", number, action="update", user=username(by))

    def open(self, number: int, base: str) -> None:
        self._tick()
        mr = self.rig.fake.open_mr(
            self.repo, number, author="alice", target=base,
            contents={f"src/f{number}.py": f"{next(self.files)}\n"},
        )
        pull = Pull(number, "alice", base, mr.head_sha, [(mr.head_sha, self.now)], [])
        self.truth.pulls[number] = pull
        self._sync(number)
        for sha in pull.commits:
            self._note_commit(sha, "alice", None)
        self._emit("merge_request", number, action="open")

    def push(self, number: int, by: str) -> None:
        self._tick()
        parent = self.truth.pulls[number].head
        self.rig.fake.push(self.repo, number, pusher=username(by),
                           contents={f"src/f{number}.py": f"{next(self.files)}\n"})
        self._pushed(number, by, parent)

    def force_push(self, number: int, sha: str) -> None:
        self._tick()
        world = self.rig.fake.world
        with world.lock:
            project = world.project(self.repo)
            world.set_head(project, world.mr(project, number), sha, "alice")
        self._sync(number)
        self._announce_push(number, "alice")

    def retarget(self, number: int, base: str) -> None:
        self._tick()
        pull = self.truth.pulls[number]
        self.rig.fake.edit_mr(self.repo, number, by="alice", target=base)
        pull.base = base
        pull.retargeted_at = self.now
        self._sync(number)
        self._emit("merge_request", number, action="update", user="alice")

    def review(self, number: int, who: str, state: str, on_head: bool) -> None:
        pull = self.truth.pulls[number]
        approved = username(who).lower() in {u.lower() for u in
                                              self.rig.fake.approvals(self.repo, number)}
        if state == "COMMENTED" or (state == "APPROVED") == approved:
            return  # nothing GitLab can do: no comment-only review, no second approval
        self._tick()
        if state == "APPROVED":
            self.rig.fake.approve(self.repo, number, username(who))
            action = "approved"
        else:
            self.rig.fake.unapprove(self.repo, number, username(who))
            action, state = "unapproved", "DISMISSED"
        pull.reviews.append(Review(len(pull.reviews) + 1, who, state, pull.head, self.now))
        self._emit("merge_request", number, action=action, user=username(who))

    def dismiss(self, number: int, review_id: int) -> None:
        """GitLab has no dismissal: the approver's own unapproval, if still approved."""
        pull = self.truth.pulls[number]
        who = next(r.user for r in pull.reviews if r.id == review_id)
        self.review(number, who, "CHANGES_REQUESTED", True)

    def comment(self, number: int, who: str, body: str) -> None:
        self._tick()
        note = self.rig.fake.add_note(self.repo, number, username(who), body)
        written = Comment(note.id, who, body, self.now)
        self.truth.pulls[number].comments.append(written)

        def told() -> None:
            written.delivered = True

        self._emit("note", number, note_id=note.id, told=told)

    def edit_comment(self, number: int, comment_id: int, editor: str, body: str) -> None:
        self._tick()
        written = next(c for c in self.truth.pulls[number].comments if c.id == comment_id)
        self.rig.fake.edit_note(self.repo, comment_id, body)
        written.edited = True
        self._emit("note", number, note_id=comment_id, action="update")

    def label(self, number: int, name: str, add: bool) -> None:
        self._tick()
        pull = self.truth.pulls[number]
        labels = set(self._mr(number).labels)
        labels = labels | {name} if add else labels - {name}
        self.rig.fake.edit_mr(self.repo, number, by="max", labels=sorted(labels))
        if add:
            pull.labels.add(name)
        else:
            pull.labels.discard(name)
        self._emit("merge_request", number, action="update", user="max")

    def check(self, number: int, app: str, conclusion: str) -> None:
        self._tick()
        head = self.truth.pulls[number].head
        state = STATES[conclusion]
        self.rig.fake.set_status(self.repo, head, CHECK, state, author=app)
        self.truth.checks.append(CheckResult(head, CHECK, app, CONCLUSIONS[state]))
        self._emit("pipeline", number, status=state)

    def edit_policy(self, base: str, knobs: Knobs) -> None:
        self._tick()
        before = self.rig.fake.branch_sha(self.repo, base)
        after = self.rig.fake.commit(self.repo, base, {POLICY_FILE: knobs.text(DEPLOY_VIA)},
                                     author="max", message="Policy")
        self.truth.policies[base] = knobs
        self._emit("push", ref=f"refs/heads/{base}", before=before, after=after, user="max")

    def update_branch(self, number: int, by: str) -> None:
        """GitLab's "rebase" button: the MR's commits replayed on the target."""
        world = self.rig.fake.world
        parent = self.truth.pulls[number].head
        with world.lock:
            project = world.project(self.repo)
            mr = world.mr(project, number)
            before = mr.head_sha
            world.rebase(project, mr, username(by), skip_ci=False)
            moved = mr.head_sha != before
        if not moved:
            return
        self._tick()
        self._pushed(number, by, parent)

    def hand_merge(self, number: int, by: str, forged: bool) -> None:
        """The target merged into the MR's branch by hand (`forged`: with a change of its
        own): a push like any other on GitLab."""
        self._tick()
        world = self.rig.fake.world
        parent = self.truth.pulls[number].head
        with world.lock:
            project = world.project(self.repo)
            mr = world.mr(project, number)
            target = project.branches[mr.target_branch]
            base = world.diff_base(project, mr)
            tree, _ = world.three_way(
                project.commits[base].tree if base else {},
                project.commits[parent].tree,
                project.commits[target].tree,
            )
            extra = {f"src/f{number}.py": f"{next(self.files)}\n"} if forged else None
            commit = world.add_commit(
                project, [parent, target], message=f"Merge branch '{mr.target_branch}'",
                author=username(by), tree=tree, contents=extra,
            )
            world.set_head(project, mr, commit.sha, username(by))
        self._pushed(number, by, parent)

    def merge_by_person(self, number: int, who: str) -> str:
        self._tick()
        base = self.truth.pulls[number].base
        before = self.rig.fake.branch_sha(self.repo, base)
        self.rig.fake.merge_mr(self.repo, number, by=username(who))
        merged = self.rig.fake.branch_sha(self.repo, base)
        assert merged is not None
        self.truth.pulls[number].state = "merged"
        self._emit("merge_request", number, action="merge", user=username(who))
        self._emit("push", ref=f"refs/heads/{base}", before=before, after=merged,
                   user=username(who))
        return merged

    # -- deliveries --------------------------------------------------------------------

    def _post(self, delivery: Delivery, delivery_id: str) -> None:
        body, headers = self.rig.fake.webhook_request(
            delivery.event, delivery.payload, SECRET, idempotency_key=delivery_id
        )
        assert json.loads(body) == delivery.payload
        answer = self.rig.svc.client.post("/webhooks/gitlab", data=body, headers=headers)
        assert answer.status_code in (200, 202), (answer.status_code, answer.get_data())
        if delivery.told is not None:
            delivery.told()

    # -- the bot -----------------------------------------------------------------------

    def _pipeline(self) -> Callable[[Any], str]:
        """`bot.pipeline.gitlab.gitlab_pipeline`, on the run's clock and without waits."""
        settings = self.rig.svc.settings
        store = self.rig.svc.store
        retries = RetryPolicies.build(max_wait=0, sleep=lambda seconds: None)
        forge = GitLabForge(settings, store, retries=retries, clock=self.rig.clock)
        pulls = full_pipeline(settings, store, forge, OperatorConfig(), POLICY_PATHS,
                              retries=retries)
        remember_name = RememberBotName(store, PROVIDER, BOT_ACCOUNT_ID, forge.bot_username, forge.clock)

        def run(job: Any) -> str:
            return guarded(job.key, lambda: remember_name.after(pulls(job)))

        return Reporting(run, FailureReport(forge, PROVIDER))

    def restart_worker(self) -> None:
        self.worker = None

    def run_worker(self) -> None:
        """Work every dirty MR of this project until none is ready; failures back off
        as in production."""
        if self.worker is None:
            self.worker = PullWorker(self.rig.svc.store, self._pipeline(), owner="model:1",
                                     lease_seconds=30, clock=self.rig.clock)
        known = len(self.bot_merges())
        for _ in range(8):
            with self.rig.svc.store.begin() as conn:
                keys = [k for k in dirty.claimable(conn, self.now) if k.repo == self.repo]
            if not keys:
                break
            for key in keys:
                try:
                    self.worker.process(key)
                except Exception as exc:  # noqa: BLE001 - it stays marked and backs off, as in production
                    self.failures.append(f"{type(exc).__name__}: {exc}")
        self._announce_bot_merges(known)

    def _announce_bot_merges(self, known: int) -> None:
        """GitLab's hooks about the merges the bot just made."""
        for merge in self.bot_merges()[known:]:
            self.truth.pulls[merge.number].state = "merged"
            bot = self.rig.fake.bot_username
            self._emit("merge_request", merge.number, action="merge", user=bot)
            self._emit("push", ref=f"refs/heads/{self._mr(merge.number).target_branch}",
                       user=bot)

    def posted(self) -> list[Posted]:
        bot = self.rig.fake.bot_username
        world = self.rig.fake.world
        with world.lock:
            statuses = list(world.project(self.repo).statuses)
        return [
            Posted(s.sha, s.name, "failure" if s.status == "failed" else s.status,
                   s.description or "")
            for s in statuses
            if s.author == bot and s.name.startswith("gatebot: ")
        ]

    def explain(self, sha: str, context: str) -> str:
        """The bot's explanation of its verdict: on GitLab, its status's description."""
        found = [p for p in self.posted() if p.sha == sha and p.context == context]
        return found[-1].description if found else ""

    def bot_merges(self) -> list[BotMerge]:
        return [
            BotMerge(m.iid, m.head_sha, m.merge_commit_sha or m.head_sha)
            for m in self.rig.fake.merges
            if m.project == self.repo
        ]

    def shipped(self) -> list[Shipped]:
        return [
            Shipped(p.variables.get("DEPLOY_SHA", p.sha), DEPLOY_NAME)
            for p in self.rig.fake.pipelines_created
            if p.project.lower() == self.repo.lower()
        ]

    def reactions(self) -> dict[int, set[str]]:
        bot = self.rig.fake.bot_username
        found: dict[int, set[str]] = {}
        world = self.rig.fake.world
        with world.lock:
            for note in world.project(self.repo).notes.values():
                mine = {REACTIONS.get(a.name, a.name) for a in note.awards if a.user == bot}
                if mine:
                    found[note.id] = mine
        return found

    def close(self) -> None:
        self.queue.clear()

