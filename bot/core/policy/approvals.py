"""Approval rules: who counts, what they did, and what is still missing.

For each rule: if its `if` does not hold, it is skipped; otherwise every
person's actions are read in time order — approving reviews and, when the
rule opts in, approving comments (review bodies count as comments) — and a
later change request or dismissal by the same person revokes what came
before (a comment in the same second as a review is taken as written
before it: their order is unknown, and the revocation must win). A person then counts once, if they are eligible (`from`), are not a
bot, the author or a contributor (unless allowed), have at least read
access, and their latest approval is still valid: a review on the head (or
on a commit the head differs from only by update merges), a comment — or a
GitLab approval, which names no commit — given strictly after the head was
pushed; and whatever the method, given after the PR's last retarget. On top
of the count, `distinct_teams` asks for a matching of people to listed
teams, and `code_owners` for an owner's approval on every owned changed
file.

Every outcome is explained: who counted, who did not and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bot.core.policy.context import Context, MemoKey, fold
from bot.core.policy.models import ApprovalMethods, Rule, RuleOptions
from bot.core.policy.models import Approvers as ApproversModel
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates import GlobRegistry, Predicate, Scope, compile_predicates
from bot.core.policy.result import (
    ApprovalFacts,
    Counted,
    DiscountCode,
    Discounted,
    Result,
    Status,
    join_words,
    node,
    plural,
    short_sha,
)
from bot.core.regex import compile_regex
from bot.core.snapshot import Actor, Comment, Review

REVIEW_PREFIX = "review-"
"""A review body counts as the comment `review-<review id>`."""

_REVOKING = frozenset({"CHANGES_REQUESTED", "DISMISSED"})
_MAX_NAMED = 5  # discounted people named in a sentence; the facts list them all


class CommentMatcher:
    """Comment methods: a body equal to one of `exact` (trimmed) or matching a pattern."""

    def __init__(self, exact: Sequence[str], patterns: Sequence[str]) -> None:
        self.exact = frozenset(text.strip() for text in exact)
        self.pattern_texts = tuple(patterns)
        self.patterns = tuple(compile_regex(p) for p in patterns)
        self.key = (self.exact, self.pattern_texts)

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)

    def needs(self) -> SnapshotNeeds:
        """The comments (and review bodies) these methods match."""
        return SnapshotNeeds.of_comments(self.exact, self.pattern_texts)

    def matches(self, body: str) -> bool:
        if body.strip() in self.exact:
            return True
        return any(p.search(body) for p in self.patterns)

    @classmethod
    def of(cls, methods: ApprovalMethods) -> CommentMatcher:
        return cls(methods.comments, methods.comment_patterns)


@dataclass(frozen=True, slots=True)
class Approvers:
    """A rule's `from`, ready to test people; the alternatives qualify independently."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    permission: str | None = None
    code_owners: bool = False
    _folded_users: frozenset[str] = field(default=frozenset(), repr=False)
    _folded_teams: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    _folded_orgs: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, model: ApproversModel | None) -> Approvers:
        if model is None:
            return cls(permission="write")
        return cls(
            tuple(model.users), tuple(model.teams), tuple(model.organizations),
            model.permission, model.code_owners, frozenset(fold(u) for u in model.users),
            tuple((t, fold(t)) for t in model.teams),
            tuple((o, fold(o)) for o in model.organizations),
        )

    def qualifies(self, login: str, ctx: Context, folded: str | None = None) -> tuple[str, ...]:
        """What makes `login` eligible (team slugs, `user`, ...); empty when nothing does.
        `folded` is `fold(login)` when the caller has it already."""
        if folded is None:
            folded = fold(login)
        # Plain loops: tallies ask this of every reviewer for every distinct `from`.
        via: list[str] = []
        if folded in self._folded_users:
            via.append("user")
        for team, key in self._folded_teams:
            if ctx.in_team_folded(folded, key):
                via.append(team)
        for org, key in self._folded_orgs:
            if ctx.in_organization_folded(folded, key):
                via.append(f"organization {org}")
        if self.permission is not None and ctx.has_permission(login, self.permission):
            via.append(f"{self.permission} permission")
        if self.code_owners and folded in ctx.code_ownership.owner_logins:
            via.append("code owner")
        return tuple(via)

    def needs(self) -> SnapshotNeeds:
        """Memberships of the listed teams and organisations; CODEOWNERS for `code_owners`.
        Users and permissions need no declaration: every approver's permission is read."""
        people = SnapshotNeeds.of_people(self.teams, self.organizations)
        return people | SnapshotNeeds(codeowners=self.code_owners)

    def describe(self) -> str:
        parts = [*self.teams, *self.users, *(f"members of {o}" for o in self.organizations)]
        if self.permission is not None:
            parts.append(
                "anyone with admin permission" if self.permission == "admin"
                else f"anyone with {self.permission} permission or above"
            )
        if self.code_owners:
            parts.append("code owners")
        return join_words(parts, "or")


class _Action(NamedTuple):
    # Tuples rather than frozen dataclasses (here and in `_Judged`): one is made for
    # every review and every reviewer of every evaluation, and a tuple is several
    # times cheaper to build.
    at: datetime
    order: int
    revokes: bool
    method: str = ""
    sha: str | None = None
    comment: Comment | None = None
    """Set for comment-like approvals (comments and review bodies from comments)."""
    review_body: bool = False


@dataclass(slots=True)
class _Person:
    actor: Actor
    actions: list[_Action] = field(default_factory=list)


class _Judged(NamedTuple):
    """One person's standing for a rule before `from` is applied."""

    login: str
    folded: str
    position: int
    """Where the person first acted: equal approval times keep this order."""
    latest_sha: str | None
    latest_at: datetime | None
    final: Discounted | None = None
    """Discounted whatever `from` says: revoked, author, contributor, bot, no access."""
    valid: tuple[str, datetime, str | None] | None = None
    """(method, time, sha) of the approval that counts if the person is eligible."""
    problem: tuple[str, DiscountCode] | None = None
    """(reason, code) when no approval of theirs is valid any more."""


@dataclass(frozen=True, slots=True)
class Tally:
    """Who counted for a rule, who did not, and what is missing."""

    counted: tuple[Counted, ...]
    discounted: tuple[Discounted, ...]
    facts: ApprovalFacts
    missing_sentences: tuple[str, ...]

    @property
    def satisfied(self) -> bool:
        return not self.missing_sentences


class PreparedRule:
    """A rule compiled once per policy."""

    def __init__(self, rule: Rule, registry: GlobRegistry) -> None:
        self.name = rule.name
        self.description = rule.description
        self.if_: Predicate | None = (
            compile_predicates(rule.if_, registry, key="if") if rule.if_ is not None else None
        )
        self.conditions: Predicate | None = (
            compile_predicates(rule.requires.conditions, registry, key="conditions")
            if rule.requires.conditions is not None else None
        )
        self.required = rule.requires.approvals
        self.approvers = Approvers.of(rule.requires.from_)
        self.eligible_words = self.approvers.describe()
        self._not_one_of = f"is not one of {self.eligible_words}"
        approvers = self.approvers
        self._only_permission = approvers.permission is not None and not (
            approvers.users or approvers.teams or approvers.organizations
            or approvers.code_owners
        )
        self.distinct_teams = rule.requires.distinct_teams
        self.options: RuleOptions = rule.options
        self.by_review = rule.options.methods.review
        self.comments = CommentMatcher.of(rule.options.methods)
        options = rule.options
        # Memo keys: rules sharing methods and options share who-did-what; rules
        # sharing `from` share who qualifies.
        self._counting_key = MemoKey(
            "judged", self.by_review, self.comments.key, options.allow_author,
            options.allow_contributors, options.invalidate_on_push,
            options.ignore_update_merges, options.ignore_edited_comments,
        )
        self._approvers_key = MemoKey("via", self.approvers)
        self._tally_key = MemoKey("tally", self._counting_key, self.approvers, self.required,
                                  self.distinct_teams)

    def needs(self) -> SnapshotNeeds:
        """What the rule's conditions, approvers and methods read; the author's facts
        when their approval may count."""
        parts = [predicate.needs() for predicate in (self.if_, self.conditions)
                 if predicate is not None]
        parts += [self.approvers.needs(), self.comments.needs(),
                  SnapshotNeeds(author=self.options.allow_author)]
        return SnapshotNeeds.union(parts)

    # -- evaluation ------------------------------------------------------------

    def evaluate(self, scope: Scope) -> Result:
        children: list[Result] = []
        if self.if_ is not None:
            condition = self.if_.evaluate(scope)
            children.append(condition)
            if condition.status is Status.FALSE:
                return node("rule", self.name, Status.SKIPPED,
                            f"skipped: {condition.explanation}", tuple(children))
        unknown = [t for t in self.approvers.teams if scope.ctx.team_members(t) is None]
        if unknown:
            message = (
                f"team {join_words(unknown)} in `from` is unknown: check the name "
                "(org/team-slug) and that the app can read the organisation's teams"
            )
            return node("rule", self.name, Status.ERROR, message, tuple(children), error=message)
        pending: list[str] = []
        if self.conditions is not None:
            conditions = self.conditions.evaluate(scope)
            children.append(conditions)
            if conditions.status is Status.FALSE:
                pending.append(f"waiting for conditions: {conditions.explanation}")
        tally = self.tally(scope.ctx)
        if tally.satisfied and not pending:
            return node("rule", self.name, Status.APPROVED, _approved_sentence(tally),
                        tuple(children), facts=tally.facts)
        sentence = "; ".join([*tally.missing_sentences, *pending, *_discount_clauses(tally)])
        return node("rule", self.name, Status.PENDING, sentence, tuple(children),
                    facts=tally.facts)

    def tally(self, ctx: Context) -> Tally:
        """Who counts and what is missing; rules with the same requirements share it."""
        return ctx.memo(self._tally_key, lambda: self._tally(ctx))

    def _tally(self, ctx: Context) -> Tally:
        # What each person did, and whether it is still valid, depends only on the
        # rule's methods and options: rules that share them share that work.
        judged = ctx.memo(self._counting_key, lambda: self._judge_all(ctx))
        vias: dict[str, tuple[str, ...]] = ctx.memo(self._approvers_key, dict)
        qualifies = self.approvers.qualifies
        # The reason a person is not eligible, when it is the same for everyone.
        not_one_of = "" if self._only_permission else self._not_one_of
        counted: list[tuple[datetime, int, Counted]] = []
        discounted: list[Discounted] = []
        for person in judged:
            if person.final is not None:
                discounted.append(person.final)
                continue
            folded = person.folded
            via = vias.get(folded)
            if via is None:
                via = vias[folded] = qualifies(person.login, ctx, folded)
            if not via:
                discounted.append(Discounted(
                    person.login, not_one_of or self._ineligible_reason(person.login, ctx),
                    "not-eligible", person.latest_sha, person.latest_at,
                ))
            elif person.valid is not None:
                method, at, sha = person.valid
                counted.append((at, person.position, Counted(person.login, method, at, sha, via)))
            else:
                assert person.problem is not None
                discounted.append(Discounted(person.login, *person.problem,
                                             person.latest_sha, person.latest_at))
        # `judged` is in the discounted order already (see `_judge_all`); the counted
        # go by time, then by where each person first acted (positions are unique).
        counted.sort()
        return self._assess(ctx, tuple(c for _, _, c in counted), tuple(discounted))

    def _judge_all(self, ctx: Context) -> tuple[_Judged, ...]:
        """Everyone who approved or revoked, in the order their discounts are listed:
        by time (unknown last), then login. A person's discount always carries their
        login and `latest_at`, so every tally built from this list (a subsequence)
        comes out sorted without sorting it again."""
        judged = [judged for position, person in enumerate(self._actions(ctx).values())
                  if (judged := self._judge(person, position, ctx)) is not None]
        judged.sort(key=_discount_order)
        return tuple(judged)

    def _judge(self, person: _Person, position: int, ctx: Context) -> _Judged | None:
        """Everything about one person that does not depend on `from`."""
        login = person.actor.login
        actions = person.actions
        last_revoke = len(actions) - 1
        while last_revoke >= 0 and not actions[last_revoke].revokes:
            last_revoke -= 1
        approvals = actions[last_revoke + 1:]  # nothing after the last revocation revokes
        if not approvals:
            earlier = [a for a in person.actions[:last_revoke] if not a.revokes]
            if not earlier:
                return None
            revoker = person.actions[last_revoke]
            reason = ("requested changes after approving" if revoker.method == "CHANGES_REQUESTED"
                      else "had the approval dismissed")
            final = Discounted(login, reason, "revoked", earlier[-1].sha, revoker.at)
            return _Judged(login, fold(login), position, earlier[-1].sha, revoker.at, final=final)
        latest = approvals[-1]
        identity = self._identity_problem(person.actor, ctx)
        if identity is not None:
            final = Discounted(login, identity[0], identity[1], latest.sha, latest.at)
            return _Judged(login, fold(login), position, latest.sha, latest.at, final=final)
        # The latest approval that is still valid counts; if none is, the latest one
        # explains why.
        first_problem: tuple[str, DiscountCode] | None = None
        for action in reversed(approvals):
            problem = self._validity_problem(action, ctx)
            if problem is None:
                return _Judged(login, fold(login), position, latest.sha, latest.at,
                               valid=(action.method, action.at, action.sha))
            first_problem = first_problem or problem
        return _Judged(login, fold(login), position, latest.sha, latest.at, problem=first_problem)

    def _actions(self, ctx: Context) -> dict[str, _Person]:
        """Each person's approving and revoking actions, in time order."""
        people: dict[str, _Person] = {}
        order = 0

        def add(actor: Actor, action: _Action) -> None:
            key = fold(actor.login)
            person = people.get(key)
            if person is None:
                person = people[key] = _Person(actor)
            person.actions.append(action)

        for review in ctx.reviews_in_order:
            order += 1
            if review.state in _REVOKING:
                add(review.author, _Action(review.submitted_at, order, True, review.state))
            elif review.state == "APPROVED" and self.by_review:
                add(review.author, _Action(review.submitted_at, order, False, "review",
                                           sha=review.commit_sha))
            elif self.comments and review.body and self.comments.matches(review.body):
                # Review bodies count as comments (an approving review's body too, when
                # reviews themselves are not a method of this rule).
                body = review_comment(review)
                add(review.author, _Action(_written_at(body), order, False, "review body",
                                           sha=review.commit_sha, comment=body,
                                           review_body=True))
        if self.comments:
            for comment in ctx.comments_in_order:
                order += 1
                if self.comments.matches(comment.body):
                    add(comment.author, _Action(_written_at(comment), order, False, "comment",
                                                comment=comment))
        for person in people.values():
            person.actions.sort(key=_in_time_order)
        return people

    def _identity_problem(self, actor: Actor, ctx: Context) -> tuple[str, DiscountCode] | None:
        login = actor.login
        if ctx.is_bot(actor):
            return "is a bot; bots never count", "bot"
        if ctx.is_author(login):
            if not self.options.allow_author:
                return "is the author", "author"
        elif not self.options.allow_contributors:
            contribution = ctx.contribution_of(login, self.options.ignore_update_merges)
            if contribution is not None:
                if contribution.what == "pushed":
                    return "pushed to the branch, so counts as a contributor", "contributor"
                return (f"{contribution.what} {short_sha(contribution.sha)}, so counts as a "
                        "contributor", "contributor")
            if ctx.snapshot.commits_truncated:
                # Whoever wrote the commits past the forge's cut may be this person.
                listed = plural(len(ctx.snapshot.commits), "commit")
                return ("cannot be ruled out as a contributor: the forge truncated the commit "
                        f"list ({listed} listed)", "contributor")
        if not ctx.has_permission(login, "read"):
            return "has no read access to the repository", "no-access"
        return None

    def _ineligible_reason(self, login: str, ctx: Context) -> str:
        if self._only_permission:
            return (f"has {ctx.permission(login)} permission, below the required "
                    f"{self.approvers.permission}")
        return self._not_one_of

    def _validity_problem(self, action: _Action, ctx: Context) -> tuple[str, DiscountCode] | None:
        options = self.options
        if action.comment is None:
            wrote = "approved"
            retargeted = _retarget_problem(action.at, wrote, ctx)
            if retargeted is not None or not options.invalidate_on_push:
                return retargeted
            if action.sha is None:
                # GitLab's approvals name no commit: only their time can tie them to the head.
                return _push_problem(action.at, wrote, ctx, options.ignore_update_merges)
            chain = (ctx.update_merge_chain if options.ignore_update_merges
                     else (ctx.snapshot.head_sha,))
            if action.sha in chain:
                return None
            note = ""
            if ctx.snapshot.commits_truncated and options.ignore_update_merges:
                note = " (the commit list was truncated, so update merges cannot be confirmed)"
            elif options.ignore_update_merges and ctx.push_merge_note is not None:
                note = f" ({ctx.push_merge_note})"
            return f"approved {short_sha(action.sha)}, before the last push{note}", "stale"
        comment = action.comment
        wrote = "wrote a review body" if action.review_body else "commented"
        if comment.edited:
            editor = comment.edited_by
            what = "a review body" if action.review_body else "a comment"
            if options.ignore_edited_comments:
                return f"wrote {what} that was edited, and edited comments do not count", \
                    "edited"
            if editor is None:
                return f"wrote {what} edited by someone unknown", "edited"
            if fold(editor) != fold(comment.author.login):
                return f"wrote {what} edited by {editor}", "edited"
        retargeted = _retarget_problem(action.at, wrote, ctx)
        if retargeted is not None or not options.invalidate_on_push:
            return retargeted
        return _push_problem(action.at, wrote, ctx, options.ignore_update_merges)

    # -- counting --------------------------------------------------------------

    def _assess(
        self, ctx: Context, counted: tuple[Counted, ...], discounted: tuple[Discounted, ...]
    ) -> Tally:
        missing: list[str] = []
        need = self.required - len(counted)
        if need > 0:
            missing.append(
                f"needs {plural(need, 'more approval')} from {self.eligible_words}"
            )
        pairs: tuple[tuple[str, str], ...] = ()
        if self.distinct_teams:
            pairs = _match_teams(counted, self.approvers.teams, ctx)
            if len(pairs) < self.distinct_teams:
                got = (f"; so far {join_words([f'{p} for {t}' for t, p in pairs])}"
                       if pairs else "")
                missing.append(
                    f"needs approvals from {self.distinct_teams} different teams of "
                    f"{join_words(list(self.approvers.teams))}, one person per team{got}"
                )
        uncovered: list[str] = []
        uncovered_count = 0
        if self.approvers.code_owners:
            coverage, uncovered, uncovered_count = _coverage(ctx, counted)
            missing.extend(coverage)
        facts = ApprovalFacts(
            required=self.required,
            counted=counted,
            discounted=discounted,
            missing=max(need, 0),
            eligible=self.eligible_words,
            distinct_teams=self.distinct_teams,
            teams_covered=pairs,
            uncovered_files=tuple(uncovered),
            uncovered_count=uncovered_count,
        )
        return Tally(counted, discounted, facts, tuple(missing))


def _discount_order(judged: _Judged) -> tuple[bool, datetime | None, str]:
    return (judged.latest_at is None, judged.latest_at, judged.login)


def _in_time_order(action: _Action) -> tuple[datetime, int, int]:
    """Sort key of one person's actions. The forge orders reviews among themselves and
    comments among themselves, but a comment and a review in the same second come in no
    known order: the comment goes first, so a change request or dismissal in that second
    revokes it rather than being taken as withdrawn by it."""
    plain_comment = action.comment is not None and not action.review_body
    return (action.at, 0 if plain_comment else 1, action.order)


def _retarget_problem(at: datetime, wrote: str, ctx: Context) -> tuple[str, DiscountCode] | None:
    """An approval given before the PR's last retarget judged another diff: it never counts."""
    retargeted = ctx.base_changed_at
    if retargeted is None or at > retargeted:
        return None
    return (f"{wrote} before the PR was retargeted to {ctx.snapshot.base_ref}",
            "before-retarget")


def _push_problem(
    at: datetime, wrote: str, ctx: Context, ignore_update_merges: bool
) -> tuple[str, DiscountCode] | None:
    """An approval known only by its time counts if given strictly after the head was pushed."""
    reference = ctx.comment_reference_time(ignore_update_merges)
    if reference is None:
        return (f"{wrote}, but the push time of {short_sha(ctx.snapshot.head_sha)} "
                "is unknown", "push-time-unknown")
    if at > reference:
        return None
    if at == reference:
        return (f"{wrote} at the same time as the last push (ties do not count)",
                "before-push")
    note = (f" ({ctx.push_merge_note})"
            if ignore_update_merges and ctx.push_merge_note is not None else "")
    return f"{wrote} before the last push{note}", "before-push"


def review_comment(review: Review) -> Comment:
    """A review's body as the comment it counts as (`review-<id>`), edits included."""
    return Comment(id=f"{REVIEW_PREFIX}{review.id}", author=review.author, body=review.body,
                   created_at=review.submitted_at, edited=review.edited,
                   edited_by=review.edited_by, edited_at=review.edited_at)


def _written_at(comment: Comment) -> datetime:
    # An edited comment says what it says since its last edit.
    if comment.edited and comment.edited_at is not None:
        return max(comment.created_at, comment.edited_at)
    return comment.created_at


def _match_teams(
    counted: Sequence[Counted], teams: Sequence[str], ctx: Context
) -> tuple[tuple[str, str], ...]:
    """A maximum matching of listed teams to distinct approvers (one person per team).

    Augmenting paths (Kuhn's algorithm): a person in two teams counts for one,
    but the matching picks the team that lets the most teams be covered.
    """
    options = {c.login: [t for t in teams if ctx.in_team(c.login, t)] for c in counted}
    team_of: dict[str, str] = {}  # team -> person

    def augment(person: str, seen: set[str]) -> bool:
        for team in options[person]:
            if team in seen:
                continue
            seen.add(team)
            holder = team_of.get(team)
            if holder is None or augment(holder, seen):
                team_of[team] = person
                return True
        return False

    for person in options:
        if options[person]:
            augment(person, set())
    return tuple((team, team_of[team]) for team in teams if team in team_of)


def _coverage(ctx: Context, counted: Sequence[Counted]) -> tuple[list[str], list[str], int]:
    """Sentences for owned files no owner approved, the first such files, and their count."""
    if ctx.snapshot.files_truncated:
        return ([
            "code-owner approval cannot be checked: the forge truncated the file list "
            f"({len(ctx.snapshot.files)} files listed)"
        ], [], 0)
    ownership = ctx.code_ownership
    approvers = frozenset(fold(c.login) for c in counted)
    sentences: list[str] = []
    uncovered: list[str] = []
    count = 0
    for group in ownership.groups:
        if not group.logins.isdisjoint(approvers):
            continue
        count += len(group.paths)
        uncovered.extend(group.paths[: max(0, 3 - len(uncovered))])
        files = group.paths[0] if len(group.paths) == 1 else (
            f"{len(group.paths)} files such as {group.paths[0]}")
        owners = join_words(list(group.owners), "or")
        nobody = ""
        if not group.logins:
            nobody = f" (none of them can approve: {join_words(list(group.unresolved))} " \
                     "match no account)"
        sentences.append(f"needs a code owner's approval for {files} ({owners}){nobody}")
    return sentences, uncovered, count


def _approved_sentence(tally: Tally) -> str:
    if not tally.counted:
        if tally.facts.required == 0 and not tally.facts.uncovered_count:
            return "no approval required"
        return "approved"
    names = join_words([_counted_words(c) for c in tally.counted])
    return f"approved by {names}"


def _counted_words(counted: Counted) -> str:
    if counted.method == "review" and counted.sha:
        return f"{counted.login} ({short_sha(counted.sha)})"
    return f"{counted.login} ({counted.method})"


def _discount_clauses(tally: Tally) -> list[str]:
    clauses = [f"{d.login} {d.reason}" for d in tally.discounted[:_MAX_NAMED]]
    extra = len(tally.discounted) - _MAX_NAMED
    if extra > 0:
        clauses.append(f"{plural(extra, 'other person', 'other people')} did not count")
    return clauses
