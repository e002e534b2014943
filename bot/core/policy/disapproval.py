"""Disapproval: what blocks the PR whatever the approvals say.

The PR is disapproved when a `disapproval.if` predicate holds, or when a
person in `disapproval.from` has requested changes (or written a block
comment) and has not since approved or been dismissed. Without a
`disapproval` section a change request from anyone with write permission
blocks, as on GitHub; `enabled: false` turns disapproval off.

"Since" is by time: a person's latest action decides. An approval lifts
their change request even after a push made it stop counting (as on
GitHub, and in policy-bot, a push does not bring back a withdrawn
objection). An edited comment never approves, so it never lifts one. The
forge orders reviews among themselves and comments among themselves, but a
review and a comment written in the same second come in no known order:
then the blocking one wins.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from bot.core.policy.approvals import Approvers, CommentMatcher
from bot.core.policy.context import Context, fold
from bot.core.policy.models import Disapproval
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates import GlobRegistry, Scope, compile_predicates
from bot.core.policy.result import (
    Counted,
    DisapprovalFacts,
    DiscountCode,
    Discounted,
    Result,
    Status,
    join_words,
    node,
    short_sha,
)
from bot.core.snapshot import Actor


class _Action(NamedTuple):
    # A tuple rather than a frozen dataclass: one is made for every review of every
    # evaluation, and a tuple is several times cheaper to build.
    at: datetime
    order: int
    blocks: bool
    method: str
    sha: str | None = None
    review: bool = True
    """A review (ordered among reviews), else a comment (ordered among comments)."""


class PreparedDisapproval:
    """A policy's disapproval settings, compiled once."""

    def __init__(
        self, model: Disapproval | None, registry: GlobRegistry, unblocking: CommentMatcher
    ) -> None:
        model = model or Disapproval()
        self.enabled = model.enabled
        self.if_ = (compile_predicates(model.if_, registry, key="if")
                    if model.if_ is not None else None)
        self.approvers = Approvers.of(model.from_)
        self.by_review = model.methods.review
        self.block_comments = CommentMatcher(model.methods.comments,
                                             model.methods.comment_patterns)
        self.unblocking = unblocking

    def needs(self) -> SnapshotNeeds:
        """What the condition, the blockers and the block comments read; nothing when
        turned off. The unblocking comments are the rules' methods, declared by them."""
        if not self.enabled:
            return SnapshotNeeds()
        parts = [self.approvers.needs(), self.block_comments.needs()]
        if self.if_ is not None:
            parts.append(self.if_.needs())
        return SnapshotNeeds.union(parts)

    def evaluate(self, scope: Scope) -> Result:
        if not self.enabled:
            return node("disapproval", "disapproval", Status.APPROVED,
                        "disapproval is turned off")
        children: tuple[Result, ...] = ()
        if self.if_ is not None:
            condition = self.if_.evaluate(scope)
            children = (condition,)
            if condition.status is Status.TRUE:
                return node("disapproval", "disapproval", Status.FAILED,
                            f"disapproved: {condition.explanation}", children)
        blocking, discounted = self._blockers(scope.ctx)
        facts = DisapprovalFacts(tuple(blocking), tuple(discounted))
        if blocking:
            who = join_words([_blocking_words(b) for b in blocking])
            return node("disapproval", "disapproval", Status.FAILED,
                        f"disapproved by {who}", children, facts=facts)
        return node("disapproval", "disapproval", Status.APPROVED,
                    "nobody has requested changes", children, facts=facts)

    def _blockers(self, ctx: Context) -> tuple[list[Counted], list[Discounted]]:
        timelines: dict[str, tuple[Actor, list[_Action]]] = {}
        # Only someone who blocked at some point can be blocking now.
        blocked: set[str] = set()
        order = 0

        def add(actor: Actor, action: _Action) -> None:
            key = fold(actor.login)
            timelines.setdefault(key, (actor, []))[1].append(action)
            if action.blocks:
                blocked.add(key)

        for review in ctx.reviews_in_order:
            order += 1
            if review.state == "CHANGES_REQUESTED" and self.by_review:
                add(review.author, _Action(review.submitted_at, order, True,
                                           "requested changes", review.commit_sha))
            elif review.state in ("APPROVED", "DISMISSED"):
                add(review.author, _Action(review.submitted_at, order, False, review.state))
            elif self.block_comments and self.block_comments.matches(review.body):
                add(review.author, _Action(review.submitted_at, order, True, "block comment"))
        if self.block_comments or self.unblocking:
            for comment in ctx.comments_in_order:
                order += 1
                if self.block_comments and self.block_comments.matches(comment.body):
                    add(comment.author, _Action(comment.created_at, order, True, "block comment",
                                                review=False))
                elif (self.unblocking and not comment.edited
                      and self.unblocking.matches(comment.body)):
                    add(comment.author, _Action(comment.created_at, order, False, "approved",
                                                review=False))

        blocking: list[Counted] = []
        discounted: list[Discounted] = []
        for key, (actor, actions) in timelines.items():
            if key not in blocked:
                continue
            latest = _latest(actions)
            if not latest.blocks:
                continue
            login = actor.login
            problem = self._problem(actor, ctx)
            if problem is not None:
                discounted.append(Discounted(login, problem[0], problem[1], latest.sha, latest.at))
                continue
            via = self.approvers.qualifies(login, ctx)
            if not via:
                discounted.append(Discounted(
                    login, f"{latest.method} but is not one of {self.approvers.describe()}",
                    "not-eligible", latest.sha, latest.at,
                ))
                continue
            blocking.append(Counted(login, latest.method, latest.at, latest.sha, via))
        blocking.sort(key=lambda b: b.at)
        return blocking, discounted

    @staticmethod
    def _problem(actor: Actor, ctx: Context) -> tuple[str, DiscountCode] | None:
        if fold(actor.login).removesuffix("[bot]") in ctx.bot_logins:
            return "is this bot", "bot"
        if not ctx.has_permission(actor.login, "read"):
            return "has no read access to the repository", "no-access"
        return None


def _latest(actions: list[_Action]) -> _Action:
    """The action that decides: the last one in time; of a review and a comment in the
    same second (whose order nobody knows), the blocking one."""
    last = max(action.at for action in actions)
    tied = [action for action in actions if action.at == last]
    candidates = [
        max(same, key=lambda a: a.order)
        for same in ([a for a in tied if a.review], [a for a in tied if not a.review])
        if same
    ]
    return next((a for a in candidates if a.blocks), candidates[0])


def _blocking_words(blocker: Counted) -> str:
    if blocker.method == "requested changes" and blocker.sha:
        return f"{blocker.login} (requested changes on {short_sha(blocker.sha)})"
    return f"{blocker.login} ({blocker.method})"
