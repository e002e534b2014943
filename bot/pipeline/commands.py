"""Comment commands in the worker: run what people asked for, then answer once.

The web tier only records new PR comments (`bot.store.commands`, state
`pending`); edited comments and bots' comments never get there. Each run of
a PR works through them in two halves around the evaluation:

1. `take` — before the snapshot: each pending comment is parsed with the
   policy's prefix and the App's @mention, each command authorised
   (`bot.core.authorize`: the commenter's role and teams, read once per
   person per run through the directory cache), rate-limited when it is one
   of the cheap read commands, and its state change written (holds,
   overrides, merge armings, each keyed by the comment) in ONE transaction
   with the comment's move to `acted` and its audit lines — so a crash never
   applies a command twice, and the evaluation that follows sees it;
2. `answer` — after the verdict, the merge and the deploys: one reaction per
   kind of outcome and at most one reply per comment (`bot.core.replies`).
   The reply is claimed before it is posted (`answering`), so a crash there
   loses a reply rather than doubling it.

Comments found `acted` at the start of a run (a crash between the halves)
are answered by this run with what it finds. A comment the forge's API does
not confirm (`ForgeEvaluation.confirmed_comment`: missing, a system note,
or not what the delivery said) runs nothing and gets no answer.

Reactions (`bot.providers.base.Reaction`, on GitHub): `+1` ran, `-1` refused
(the reply names the permission needed), `confused` not understood (the reply
says why, with a "did you mean"), `eyes` seen but rate-limited (no reply:
that is the point of the limit).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.core import replies
from bot.core.authorize import NO_ACCESS, Commenter, authorize, is_bot_login, may_lift, requirement
from bot.core.commands import Command, CommandError, parse_commands
from bot.core.gate import Decision
from bot.core.policy.context import armed_for_base
from bot.core.policy.models import CommandsConfig, Policy
from bot.core.snapshot import HeadChange
from bot.keys import PullKey
from bot.providers.base import ForgeEvaluation, PullHead, Reaction
from bot.store import (
    Store,
    commands,
    evaluations,
    holds,
    merge_arms,
    overrides,
    pull_heads,
    pull_parts,
)
from bot.store.commands import CommandComment

log = logging.getLogger(__name__)

CHEAP = frozenset({"help", "status", "recheck"})
"""Commands anyone with read access may run, so they are rate-limited per PR."""

RATE_LIMIT = 5
"""At most this many cheap commands run per PR within `RATE_WINDOW`; more only get `eyes`."""
RATE_WINDOW = timedelta(minutes=10)

RAN: Reaction = "ran"
REFUSED: Reaction = "refused"
INVALID: Reaction = "invalid"
LIMITED: Reaction = "limited"
"""An outcome's kind is the reaction it gets; each forge shows it as its own emoji."""

# What an outcome still needs from the rest of the run before it can be answered.
LATER_STATUS, LATER_MERGE, LATER_OVERRIDE, LATER_DEPLOY = "status", "merge", "override", "deploy"


@dataclass
class Outcome:
    """One command of one comment; stored as JSON with the comment when it is acted on."""

    command: str
    args: str = ""
    result: Reaction = RAN
    message: str = ""
    later: str = ""
    """A reply the rest of the run completes: `status`, `merge`, `override`, `deploy`."""
    head_sha: str = ""
    """The head an override was bound to."""


@dataclass
class Taken:
    """What `take` found for one PR: each comment with its outcomes."""

    comments: list[tuple[CommandComment, list[Outcome]]] = field(default_factory=list)

    def later(self, kind: str) -> list[tuple[CommandComment, Outcome]]:
        return [(c, o) for c, outs in self.comments for o in outs if o.later == kind]


@dataclass(frozen=True)
class RunFacts:
    """What the rest of the run knows when the commands are answered."""

    decision: Decision | None = None
    """None when the PR is closed or no policy applies."""
    head: PullHead | None = None
    auto_merge_policy: bool = False
    merge_note: str | None = None
    """What the merge step said in this run, if it ran."""
    merged: bool = False
    """The bot merged the evaluated head (in this run, or before it)."""
    details_url: str | None = None
    deploys: dict[int, str] = field(default_factory=dict)
    """Per comment id: what its `deploy` came to."""


@dataclass
class CommandStep:
    """Comment commands for one forge; shared by the worker threads of a process."""

    store: Store
    clock: Callable[[], datetime]

    # -- the first half ---------------------------------------------------------

    def take(
        self,
        ev: ForgeEvaluation,
        key: PullKey,
        head: PullHead,
        policy: Policy | None,
        *,
        silent: bool = False,
    ) -> Taken:
        """Run the PR's pending commands' state changes; collect every unanswered comment."""
        with self.store.begin() as conn:
            waiting = commands.unanswered(conn, key)
        taken = Taken()
        if not waiting:
            return taken
        config = policy.commands if policy is not None else None
        prefix = config.prefix if config is not None else "/gate"
        people: dict[tuple[str, tuple[str, ...]], Commenter] = {}
        now = self.clock()
        with self.store.begin() as conn:
            cheap_used = commands.cheap_since(conn, key, now - RATE_WINDOW)
        for comment in waiting:
            if comment.state == commands.ACTED:
                taken.comments.append((comment, _load(comment.outcomes)))
                continue
            # What the delivery said is re-read from the forge before it grants anything.
            confirmed = ev.confirmed_comment(comment)
            if confirmed is not None:
                comment = confirmed
            # Bots never run commands and get no answer (the routing drops most of them).
            parsed = (
                [] if confirmed is None or is_bot_login(comment.author)
                else parse_commands(comment.body, prefix=prefix, mentions=(ev.bot_login,))
            )
            outcomes, cheap = self._judge(ev, parsed, comment, config, people, cheap_used, silent)
            cheap_used += cheap
            author = _known_commenter(people, comment.author)
            with self.store.begin() as conn:
                for outcome in outcomes:
                    if outcome.result == RAN and not silent:
                        self._apply(conn, key, head, comment, author, outcome, policy)
                    commands.audit(
                        conn, key, comment.comment_id, login=comment.author,
                        command=outcome.command, args=outcome.args, outcome=outcome.result,
                        detail=outcome.message if outcome.result in (REFUSED, INVALID) else None,
                        now=now,
                    )
                commands.acted(conn, key, comment.comment_id, outcomes=_dump(outcomes),
                               cheap=cheap, now=now)
            taken.comments.append((comment, outcomes))
        return taken

    def _judge(
        self,
        ev: ForgeEvaluation,
        parsed: list[Command | CommandError],
        comment: CommandComment,
        config: CommandsConfig | None,
        people: dict[tuple[str, tuple[str, ...]], Commenter],
        cheap_used: int,
        silent: bool,
    ) -> tuple[list[Outcome], int]:
        """Each command's outcome before anything is applied; and the cheap ones run."""
        outcomes: list[Outcome] = []
        cheap = 0
        for item in parsed:
            if isinstance(item, CommandError):
                outcomes.append(Outcome(item.word, result=INVALID, message=item.message))
                continue
            teams = tuple(sorted(requirement(item.name, config).teams))
            who = people.get((comment.author.casefold(), teams))
            if who is None:
                who = ev.commenter(comment.author, teams)
                people[(comment.author.casefold(), teams)] = who
            verdict = authorize(item.name, who, config)
            if not verdict.allowed:
                outcomes.append(Outcome(item.name, item.args, REFUSED, verdict.reason))
                continue
            if silent:
                outcomes.append(Outcome(item.name, item.args, RAN, replies.no_policy_text()))
                continue
            if item.name in CHEAP:
                if cheap_used + cheap >= RATE_LIMIT:
                    outcomes.append(Outcome(item.name, item.args, LIMITED))
                    continue
                cheap += 1
            outcomes.append(Outcome(item.name, item.args))
        return outcomes, cheap

    def _apply(
        self,
        conn: Connection,
        key: PullKey,
        head: PullHead,
        comment: CommandComment,
        author: Commenter,
        outcome: Outcome,
        policy: Policy | None,
    ) -> None:
        """The state change of one allowed command, on the comment's transaction."""
        name, by, at, cid = outcome.command, comment.author, comment.created_at, comment.comment_id
        closed = head.state != "open"
        if name == "help":
            prefix = policy.commands.prefix if policy is not None else "/gate"
            outcome.message = replies.help_text(prefix, policy.commands if policy else None)
        elif name == "status":
            outcome.later = LATER_STATUS
        elif name == "recheck":
            if closed:
                outcome.message = replies.closed_text(name, head.merged)
            else:
                # Everything is read afresh by the evaluation that follows.
                pull_parts.invalidate(conn, key.provider, key.repo, key.number)
        elif name == "deploy":
            outcome.later = LATER_DEPLOY
            if not head.merged:
                outcome.later, outcome.message = "", replies.deploy_unmerged_text()
        elif closed:
            outcome.message = replies.closed_text(name, head.merged)
        elif name == "merge":
            merge_arms.arm(conn, key, by=by, at=at, comment_id=cid)
            outcome.later = LATER_MERGE
        elif name == "cancel":
            disarmed = merge_arms.disarm(conn, key) is not None
            auto = policy is not None and policy.merge is not None and policy.merge.auto
            outcome.message = replies.cancel_text(disarmed, auto)
        elif name == "hold":
            holds.hold(conn, key, by=by, at=at, comment_id=cid,
                       permission=author.permission or NO_ACCESS)
        elif name == "unhold":
            outcome.message = self._unhold(conn, key, author)
        elif name == "override":
            overrides.record(conn, key, sha=head.head_sha, by=by, reason=outcome.args,
                             at=at, comment_id=cid, now=self.clock())
            outcome.later, outcome.head_sha = LATER_OVERRIDE, head.head_sha

    @staticmethod
    def _unhold(conn: Connection, key: PullKey, author: Commenter) -> str:
        """Lift the holds `author` may lift; the reply naming whose remain."""
        held = holds.for_pull(conn, key)
        lifted = [h.by for h in held if may_lift(h.by, h.permission, author)]
        kept = [(h.by, h.permission) for h in held if h.by not in lifted]
        holds.lift(conn, key, lifted)
        return replies.unhold_text(lifted, kept)

    # -- the second half ----------------------------------------------------------

    def answer(self, ev: ForgeEvaluation, key: PullKey, taken: Taken, facts: RunFacts) -> str | None:
        """React to and answer every comment `take` collected; a summary, or None."""
        answered = 0
        for comment, outcomes in taken.comments:
            with self.store.begin() as conn:
                if not commands.claim_answer(conn, key, comment.comment_id, self.clock()):
                    continue
            reply_id: int | None = None
            try:
                for reaction in dict.fromkeys(o.result for o in outcomes):
                    ev.react(comment.comment_id, reaction)
                messages = [self._message(comment, o, facts) for o in outcomes]
                body = replies.reply(comment.author, messages)
                if body:
                    reply_id = ev.comment(body)
            except BaseException:
                with self.store.begin() as conn:
                    commands.release_answer(conn, key, comment.comment_id, self.clock())
                raise
            with self.store.begin() as conn:
                commands.answered(conn, key, comment.comment_id, reply_id, self.clock())
            if outcomes:
                answered += 1
        if not answered:
            return None
        return f"answered {answered} command comment{'s' if answered != 1 else ''}"

    def _message(self, comment: CommandComment, outcome: Outcome, facts: RunFacts) -> str:
        decision = facts.decision
        if outcome.later == LATER_STATUS:
            if decision is not None:
                return replies.status_text(decision, facts.details_url)
            return self._closed_status(comment.key, facts)
        if outcome.later == LATER_MERGE:
            if decision is None:
                return replies.closed_text("merge", facts.head is not None and facts.head.merged)
            if facts.merged:
                return ""  # the merge step's own comment says it
            if decision.merge_allowed:
                return replies.not_merged_text(facts.merge_note or "the merge step did not run")
            return replies.armed_text(decision, facts.auto_merge_policy)
        if outcome.later == LATER_OVERRIDE:
            return replies.override_text(decision, outcome.head_sha, comment.author, outcome.args)
        if outcome.later == LATER_DEPLOY:
            return facts.deploys.get(comment.comment_id, "")
        return outcome.message

    def _closed_status(self, key: PullKey, facts: RunFacts) -> str:
        with self.store.begin() as conn:
            last = evaluations.latest_for_pull(conn, key.provider, key.repo, key.number)
        merged = facts.head is not None and facts.head.merged
        if last is None:
            return replies.closed_text("status", merged)
        return replies.closed_status_text(last.state, last.description, merged)

    # -- queries for the pipeline -----------------------------------------------------

    def drop_retargeted_arm(self, key: PullKey) -> bool:
        """Disarm the PR's merge when it was armed before the PR's last retarget (an
        arming is for the base it was given on); True when it did. Run before the
        new comments are taken, so a `/gate merge` given since arms afresh."""
        with self.store.begin() as conn:
            arm = merge_arms.armed(conn, key)
            if arm is None:
                return False
            history = tuple(
                HeadChange(sha=r.sha, base_ref=r.base_ref, at=r.at)
                for r in pull_heads.history(conn, key)
            )
            if armed_for_base(arm.at, history):
                return False
            merge_arms.disarm(conn, key)
        log.info("%s: the merge armed by %s before the last retarget is disarmed", key, arm.by)
        return True

    def disarm(self, key: PullKey) -> None:
        """Forget the PR's armed merge (it was closed)."""
        with self.store.begin() as conn:
            merge_arms.disarm(conn, key)

    def armed_by(self, key: PullKey) -> str | None:
        """Who armed the PR's merge with `merge`, if anyone did."""
        with self.store.begin() as conn:
            arm = merge_arms.armed(conn, key)
        return arm.by if arm is not None else None


def _known_commenter(people: dict[tuple[str, tuple[str, ...]], Commenter], login: str) -> Commenter:
    """The commenter as authorisation read them (their permission is the same
    whatever teams were asked about); without a command authorised, no access."""
    folded = login.casefold()
    found = next((who for (name, _), who in people.items() if name == folded), None)
    return found if found is not None else Commenter(login=login, permission=None)


def _dump(outcomes: list[Outcome]) -> str:
    return json.dumps([asdict(o) for o in outcomes])


def _load(text: str | None) -> list[Outcome]:
    if not text:
        return []
    return [Outcome(**item) for item in json.loads(text)]
