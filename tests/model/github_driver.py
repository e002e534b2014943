"""The machine's verbs against the fake GitHub, with the bot's real web tier (signed
deliveries through the Flask app) and real worker pipeline in-process, on one
simulated clock that the fake, the web tier and the worker all read.

One `GitHubRig` (fake, store, app) serves every example of a run; each example
gets a repository of its own (`GitHubDriver`), so examples never see each other.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from fakegithub import FakeGitHub
from fakegithub.auth import generated_private_key_pem
from fakegithub.state import clock_source
from support.apps import AppUnderTest, build_app

from bot.pipeline.errors import guarded
from bot.pipeline.failures import FailureReport, Reporting
from bot.pipeline.merge_group import GroupWaker
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.pull import full_pipeline
from bot.providers.github.auth import AppCredentials, GitHubApp
from bot.providers.github.client import ClientConfig
from bot.providers.github.forge import PROVIDER, GitHubForge
from bot.providers.github.policy_source import POLICY_PATHS, owner_policy_path
from bot.retry import RetryPolicies
from bot.store import dirty
from bot.worker import PullWorker
from model.driver import BotMerge, Posted, Shipped
from model.oracle import CheckResult, Comment, Commit, Person, Pull, Review, Truth
from model.policies import CHECK, TEAM, Knobs

POLICY_FILE = ".github/gatebot.yml"
SECRET = "model-webhook-secret"

# Everyone the machine lets act, with their access to each repository.
PEOPLE = (
    Person("alice", "write"),  # the author of every PR
    Person("wes", "write"),
    Person("tess", "write", frozenset({TEAM})),
    Person("max", "maintain"),
    Person("ada", "admin"),
    Person("rita", "read", frozenset({TEAM})),
    Person("tom", "triage"),
    Person("nora", "none", frozenset({TEAM})),
    Person("dep[bot]", "write", bot=True),
)


class SimClock:
    """The one clock of a model run: moves only when the machine says."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def catch_up(self) -> None:
        """Not behind the wall clock (the App's tokens are checked against it)."""
        self.now = max(self.now, datetime.now(UTC).replace(microsecond=0)) + timedelta(seconds=1)


_KEY: list[str] = []


def _private_key() -> str:
    if not _KEY:
        _KEY.append(generated_private_key_pem())
    return _KEY[0]


class GitHubRig:
    """The fake GitHub and the bot's store and web app, for a whole run of examples."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._stack = ExitStack()
        if workdir is None:
            workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="model-")))
        self.clock = SimClock()
        self.fake = self._stack.enter_context(
            FakeGitHub(private_key_pem=_private_key(), webhook_secret=SECRET)
        )
        self._stack.enter_context(clock_source(self.clock))
        # The web tier stamps deliveries with this clock, as the worker does its reads.
        self._stack.enter_context(mock.patch("bot.web.webhooks.utcnow", self.clock))
        self.svc: AppUnderTest = build_app(
            {
                "GITHUB_APP_ID": str(self.fake.app_id),
                "GITHUB_PRIVATE_KEY": self.fake.private_key_pem,
                "GITHUB_WEBHOOK_SECRET": SECRET,
                "GITHUB_API_URL": self.fake.url,
                "GATEBOT_DATABASE_URL": f"sqlite:///{workdir / 'gatebot.sqlite3'}",
                "GATEBOT_SECRET_KEY": "sk-model-run",
                "GATEBOT_PUBLIC_URL": "http://gatebot.invalid",
                "GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
                "GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES": "0",
                "GATEBOT_RETRY_MAX_WAIT_SECONDS": "0",
            }
        )
        self._stack.callback(self.svc.store.close)
        self.repos = itertools.count(1)

    def driver(self) -> GitHubDriver:
        self.clock.catch_up()
        return GitHubDriver(self, f"acme/m{next(self.repos)}")

    def close(self) -> None:
        self._stack.close()


@dataclass
class Delivery:
    id: str
    event: str
    payload: dict[str, Any]
    told: Callable[[], None] | None = None  # what the bot now knows


class DeliveryQueue:
    """What a driver does with the deliveries its forge holds back: send one, lose one,
    send one again (under its own id or a new one). Each driver posts them its way."""

    queue: list[Delivery]
    sent: list[Delivery]

    def _post(self, delivery: Delivery, delivery_id: str) -> None:
        raise NotImplementedError

    def pending(self) -> int:
        return len(self.queue)

    def delivered(self) -> int:
        return len(self.sent)

    def deliver(self, index: int) -> None:
        delivery = self.queue.pop(index)
        self._post(delivery, delivery.id)
        self.sent.append(delivery)

    def drop(self, index: int) -> None:
        self.queue.pop(index)

    def redeliver(self, index: int, same_id: bool) -> None:
        delivery = self.sent[index]
        self._post(delivery, delivery.id if same_id else str(uuid.uuid4()))


@dataclass
class GitHubDriver(DeliveryQueue):
    rig: GitHubRig
    repo: str
    truth: Truth = field(init=False)
    queue: list[Delivery] = field(default_factory=list)
    sent: list[Delivery] = field(default_factory=list)
    worker: PullWorker | None = None
    files: itertools.count = field(default_factory=itertools.count)
    failures: list[str] = field(default_factory=list)  # the worker's, for the report

    def __post_init__(self) -> None:
        fake = self.rig.fake
        self.truth = Truth(people={p.login.lower(): p for p in PEOPLE})
        main = Knobs()
        fake.add_repo(self.repo, files={POLICY_FILE: main.text(), "src/app.py": "0\n"})
        fake.add_branch(self.repo, "release", "main")
        for person in PEOPLE:
            with fake.world.lock:
                fake.world.account(person.login, kind="Bot" if person.bot else "User")
            if person.role != "none":
                fake.set_role(self.repo, person.login, person.role)
        org, slug = TEAM.split("/")
        if slug not in fake.world.org(org).teams:
            fake.add_team(org, slug, members=[p.login for p in PEOPLE if TEAM in p.teams])
        self.truth.policies = {"main": main, "release": main}

    # -- the world -------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.rig.clock.now

    def advance(self, seconds: int) -> None:
        self.rig.clock.advance(seconds)

    def _pr(self, number: int) -> Any:
        return self.rig.fake.pr(self.repo, number)

    def _sync(self, number: int) -> Pull:
        pull = self.truth.pulls[number]
        found = self._pr(number)
        pull.commits = list(found.commits)
        if found.head_sha != pull.head:
            pull.head = found.head_sha
            pull.heads.append((found.head_sha, self.now))
        return pull

    def _note_commit(self, sha: str, author: str, parent: str | None, update: bool) -> None:
        self.truth.commits[sha] = Commit(sha, author, parent, update)

    def _emit(self, event: str, action: str | None, number: int | None = None, *,
              told: Callable[[], None] | None = None, **details: Any) -> None:
        _, payload = self.rig.fake.webhook(event, action, self.repo, number, **details)
        self.queue.append(Delivery(str(uuid.uuid4()), event, payload, told))

    def open(self, number: int, base: str) -> None:
        pr = self.rig.fake.open_pr(
            self.repo, number, author="alice", base=base,
            contents={f"src/f{number}.py": f"{next(self.files)}\n"},
        )
        for sha in pr.commits:
            self._note_commit(sha, "alice", None, False)
        self.truth.pulls[number] = Pull(
            number, "alice", base, pr.head_sha, [(pr.head_sha, self.now)], list(pr.commits)
        )
        self._emit("pull_request", "opened", number)

    def push(self, number: int, by: str) -> None:
        parent = self.truth.pulls[number].head
        sha = self.rig.fake.push(
            self.repo, number, pusher=by, contents={f"src/f{number}.py": f"{next(self.files)}\n"}
        )
        self._note_commit(sha, by, parent, False)
        pull = self._sync(number)
        if by.lower() != pull.author:
            pull.pushers[sha] = by.lower()
        self._emit("pull_request", "synchronize", number, sender=by)

    def force_push(self, number: int, sha: str) -> None:
        self.rig.fake.force_push_to(self.repo, number, sha, pusher="alice")
        self._sync(number)
        self._emit("pull_request", "synchronize", number, sender="alice")

    def retarget(self, number: int, base: str) -> None:
        pull = self.truth.pulls[number]
        old = pull.base
        self.rig.fake.edit_pr(self.repo, number, base_ref=base)
        pull.base = base
        pull.retargeted_at = self.now
        self._sync(number)
        self._emit("pull_request", "edited", number, sender="alice",
                   changes={"base": {"ref": {"from": old}, "sha": {"from": "0" * 40}}})

    def review(self, number: int, who: str, state: str, on_head: bool) -> None:
        pull = self.truth.pulls[number]
        commit = pull.head if on_head or len(pull.heads) < 2 else pull.heads[-2][0]
        made = self.rig.fake.add_review(self.repo, number, who, state, commit_id=commit)
        pull.reviews.append(Review(made.id, who, state, commit, self.now))
        self._emit("pull_request_review", "submitted", number, review_id=made.id)

    def dismiss(self, number: int, review_id: int) -> None:
        pull = self.truth.pulls[number]
        self.rig.fake.dismiss_review(self.repo, number, review_id, "stale")
        pull.reviews = [
            Review(r.id, r.user, "DISMISSED", r.commit, r.at) if r.id == review_id else r
            for r in pull.reviews
        ]
        self._emit("pull_request_review", "dismissed", number, review_id=review_id, sender="max")

    def comment(self, number: int, who: str, body: str) -> None:
        made = self.rig.fake.add_comment(self.repo, number, who, body)
        written = Comment(made.id, who, body, self.now)
        self.truth.pulls[number].comments.append(written)

        def told() -> None:
            written.delivered = True

        self._emit("issue_comment", "created", number, comment_id=made.id, told=told)

    def edit_comment(self, number: int, comment_id: int, editor: str, body: str) -> None:
        written = next(c for c in self.truth.pulls[number].comments if c.id == comment_id)
        self.rig.fake.edit_comment(self.repo, comment_id, body)
        written.edited = True
        at = self.now

        def told() -> None:
            if editor.lower() != written.user.lower() and written.tampered_at is None:
                written.tampered_at = at

        self._emit("issue_comment", "edited", number, comment_id=comment_id, sender=editor,
                   changes={"body": {"from": written.body}}, told=told)

    def label(self, number: int, name: str, add: bool) -> None:
        pull = self.truth.pulls[number]
        if add:
            self.rig.fake.add_label(self.repo, number, name)
            pull.labels.add(name)
        else:
            self.rig.fake.remove_label(self.repo, number, name)
            pull.labels.discard(name)
        self._emit("pull_request", "labeled" if add else "unlabeled", number, label=name,
                   sender="max")

    def check(self, number: int, app: str, conclusion: str) -> None:
        head = self.truth.pulls[number].head
        run = self.rig.fake.set_check_run(self.repo, head, CHECK, conclusion=conclusion,
                                          app_slug=app)
        self.truth.checks.append(CheckResult(head, CHECK, app, conclusion))
        self._emit("check_run", "completed", None, check_run_id=run.id)

    def edit_policy(self, base: str, knobs: Knobs) -> None:
        before = self.rig.fake.branch_sha(self.repo, base)
        after = self.rig.fake.commit(self.repo, base, {POLICY_FILE: knobs.text()},
                                     author="max", message="Policy")
        self.truth.policies[base] = knobs
        self._emit("push", None, None, ref=f"refs/heads/{base}", before=before, after=after,
                   sender="max")

    def update_branch(self, number: int, by: str) -> None:
        parent = self.truth.pulls[number].head
        sha = self.rig.fake.update_branch(self.repo, number, by=by)
        if sha is None:
            return
        self._note_commit(sha, by, parent, True)
        self._sync(number)
        self._emit("pull_request", "synchronize", number, sender=by)

    def hand_merge(self, number: int, by: str, forged: bool) -> None:
        parent = self.truth.pulls[number].head
        # A forged "update": a merge with a change of its own, committer name and all.
        extra = {"contents": {f"src/f{number}.py": f"{next(self.files)}\n"}} if forged else {}
        sha = self.rig.fake.push_merge(self.repo, number, pusher=by, author=by,
                                       committer="web-flow", **extra)
        self._note_commit(sha, by, parent, not forged)
        pull = self._sync(number)
        if forged and by.lower() != pull.author:
            pull.pushers[sha] = by.lower()
        self._emit("pull_request", "synchronize", number, sender=by)

    def merge_by_person(self, number: int, who: str) -> str:
        base = self.truth.pulls[number].base
        before = self.rig.fake.branch_sha(self.repo, base)
        merged = self.rig.fake.merge_pr(self.repo, number, by=who)
        self.truth.pulls[number].state = "merged"
        self._emit("pull_request", "closed", number, sender=who)
        self._emit("push", None, None, ref=f"refs/heads/{base}", before=before,
                   after=self.rig.fake.branch_sha(self.repo, base), sender=who)
        return merged

    # -- deliveries --------------------------------------------------------------------

    def _post(self, delivery: Delivery, delivery_id: str) -> None:
        body = json.dumps(delivery.payload).encode()
        _, headers = self.rig.fake.webhook_request(delivery.event, delivery.payload,
                                                   delivery=delivery_id)
        answer = self.rig.svc.client.post("/webhooks/github", data=body, headers=headers)
        assert answer.status_code in (200, 202), (answer.status_code, answer.get_data())
        if delivery.told is not None:
            delivery.told()

    # -- the bot -----------------------------------------------------------------------

    def _pipeline(self) -> Callable[[Any], str]:
        settings = self.rig.svc.settings
        store = self.rig.svc.store
        retries = RetryPolicies.build(max_wait=0, sleep=lambda seconds: None)
        config = ClientConfig.from_settings(settings)
        app = GitHubApp(AppCredentials(self.rig.fake.app_id, self.rig.fake.private_key_pem),
                        config, retries)
        forge = GitHubForge(settings, store, app=app, retries=retries, clock=self.rig.clock)
        pulls = full_pipeline(
            settings, store, forge, OperatorConfig(), POLICY_PATHS, retries=retries,
            on_posted=GroupWaker(store, forge.clock), owner_policy=owner_policy_path,
        )

        def run(job: Any) -> str:
            return guarded(job.key, lambda: pulls(job))

        return Reporting(run, FailureReport(forge, PROVIDER))

    def restart_worker(self) -> None:
        self.worker = None

    def run_worker(self) -> None:
        """Work every dirty PR of this repository until none is ready (a merge, say,
        marks its PR again); failures back off as in production."""
        if self.worker is None:
            self.worker = PullWorker(self.rig.svc.store, self._pipeline(), owner="model:1",
                                     lease_seconds=30, clock=self.rig.clock)
        merged = {m.merge_commit_sha for m in self.rig.fake.merges}
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
        self._announce_bot_merges(merged)

    def _announce_bot_merges(self, known: set[str]) -> None:
        """GitHub's deliveries about the merges the bot just made."""
        for record in self.rig.fake.merges:
            if record.repo != self.repo or record.merge_commit_sha in known:
                continue
            self.truth.pulls[record.number].state = "merged"
            self._emit("pull_request", "closed", record.number, sender=self.rig.fake.bot_login)

    def posted(self) -> list[Posted]:
        bot = self.rig.fake.bot_login
        with self.rig.fake.world.lock:
            statuses = list(self.rig.fake.world.repo(self.repo).statuses)
        return [
            Posted(s.sha, s.context, s.state, s.description or "")
            for s in statuses
            if s.creator == bot and s.context.startswith("gatebot: ")
        ]

    def explain(self, sha: str, context: str) -> str:
        """The bot's full explanation of its verdict (its check run's output)."""
        runs = [r for r in self.rig.fake.check_runs(self.repo, sha) if r.name == context]
        if not runs:
            return ""
        output = runs[-1].output or {}
        return f"{output.get('summary', '')}\n{output.get('text', '')}"

    def bot_merges(self) -> list[BotMerge]:
        return [
            BotMerge(m.number, m.head_sha, m.merge_commit_sha)
            for m in self.rig.fake.merges
            if m.repo == self.repo
        ]

    def shipped(self) -> list[Shipped]:
        return [
            Shipped(d.sha, d.environment)
            for d in self.rig.fake.deployments
            if d.repo.lower() == self.repo.lower()
        ]

    def reactions(self) -> dict[int, set[str]]:
        bot = self.rig.fake.bot_login
        found: dict[int, set[str]] = {}
        with self.rig.fake.world.lock:
            comments = list(self.rig.fake.world.repo(self.repo).comments.values())
            for comment in comments:
                mine = {r.content for r in comment.reactions if r.user == bot}
                if mine:
                    found[comment.id] = mine
        return found

    def close(self) -> None:
        self.queue.clear()
