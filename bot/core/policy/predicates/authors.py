"""Predicates about people: who wrote the PR and who else contributed to it."""

from __future__ import annotations

from bot.core.policy.context import Context, fold
from bot.core.policy.models import ActorSet, AuthorPredicate
from bot.core.policy.needs import SnapshotNeeds
from bot.core.policy.predicates.base import Predicate, Scope
from bot.core.policy.result import PredicateFacts, Result, Status, join_words, node


def membership(ctx: Context, login: str, people: ActorSet) -> tuple[bool, str]:
    """Whether `login` is in the set, and a clause saying why (`is in acme/backend`)."""
    folded = fold(login)
    for user in people.users:
        if fold(user) == folded:
            return True, "is listed by name"
    for team in people.teams:
        if ctx.in_team(login, team):
            return True, f"is in {team}"
    for org in people.organizations:
        if ctx.in_organization(login, org):
            return True, f"is a member of {org}"
    return False, f"is not in {describe_people(people)}"


def describe_people(people: ActorSet) -> str:
    parts = [*people.users, *people.teams, *(f"organization {o}" for o in people.organizations)]
    return join_words(parts, "or")


class AuthorInPredicate(Predicate):
    key = "author"

    def __init__(self, model: AuthorPredicate) -> None:
        self.in_ = model.in_
        self.not_in = model.not_in

    def needs(self) -> SnapshotNeeds:
        # The author's memberships of the teams and organisations named on either side.
        sides = [side for side in (self.in_, self.not_in) if side is not None]
        return SnapshotNeeds.of_people(
            [team for side in sides for team in side.teams],
            [org for side in sides for org in side.organizations],
            author=bool(sides),
        )

    def evaluate(self, scope: Scope) -> Result:
        ctx = scope.ctx
        login = ctx.snapshot.author.login
        holds = True
        words: list[str] = []
        if self.in_ is not None:
            inside, why = membership(ctx, login, self.in_)
            holds = holds and inside
            words.append(why)
        if self.not_in is not None:
            inside, why = membership(ctx, login, self.not_in)
            holds = holds and not inside
            words.append(why)
        return node(
            "predicate", self.key, Status.TRUE if holds else Status.FALSE,
            f"the author {login} " + " and ".join(dict.fromkeys(words)),
            facts=PredicateFacts(evidence=(login,)),
        )


class OnlyContributorPredicate(Predicate):
    """`author_is_only_contributor`: every commit was written by the author and nobody else
    pushed. Committers without a forge account (rebases, web edits) are not people; update
    merges (recognised by content) and pushes of nothing but one do not count, nor do the
    bot's own commits and pushes."""

    key = "author_is_only_contributor"

    def __init__(self, expected: bool) -> None:
        self.expected = expected

    def needs(self) -> SnapshotNeeds:
        # Commits and pushers: always read.
        return SnapshotNeeds()

    def evaluate(self, scope: Scope) -> Result:
        only, why, truncated = self.fact(scope.ctx)
        holds = only == self.expected
        return node(
            "predicate", self.key, Status.TRUE if holds else Status.FALSE, why,
            facts=PredicateFacts(truncated=truncated),
        )

    @staticmethod
    def fact(ctx: Context) -> tuple[bool, str, bool]:
        snapshot = ctx.snapshot
        author = fold(snapshot.author.login)
        if snapshot.commits_truncated:
            return (
                False,
                f"taken as not the only contributor: the forge truncated the commit list "
                f"({len(snapshot.commits)} commits listed)",
                True,
            )
        for commit in snapshot.commits:
            if commit.is_update_merge:
                continue
            if commit.author is None:
                return False, f"commit {commit.sha[:7]} has an author with no account", False
            for login, what in ((commit.author, "authored"), (commit.committer, "committed")):
                if login is None or fold(login) == author or ctx.is_bot(login):
                    continue
                return False, f"{login} {what} {commit.sha[:7]}", False
        for pusher in snapshot.pushers:
            if fold(pusher) in ctx.update_merge_pushers:
                continue
            if fold(pusher) != author and not ctx.is_bot(pusher):
                return False, f"{pusher} pushed to the branch", False
        return True, f"{snapshot.author.login} is the only contributor", False
