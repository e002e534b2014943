"""A merge-queue group: success on its head commit only if every PR in it passes at its head.

GitHub's merge queue builds a commit holding several queued PRs and asks for
the required checks on it (`merge_group` `checks_requested`). The routing
records the group and marks it like a PR (`bot.store.merge_groups`). Its
members are not taken from its name: every commit between the group's base
and head is mapped to the PRs GitHub associates with it
(`bot.providers.github.merge_queue`), so the PRs ahead of it in the queue
are members too, and a commit that belongs to no PR fails the group. Each
member PR is read again (its head now, open or not) and judged by the
verdict the bot recorded for that PR at that head under the group's base
context:

- every member passes (a recorded `success`) → `success`;
- a member failed, is in error, or is not an open PR → `failure`, naming it;
- a commit of the group belongs to no open PR into the base, or the group
  cannot be read whole (no base commit, too many commits) → `failure`;
- a member has no verdict at its head yet, or a pending one → `pending`,
  naming it; such members are marked for evaluation, and when their verdict
  is posted the groups holding them are marked again (`GroupWaker`).

A member whose recorded verdict is report-only counts as passing (report
mode never blocks); a group of report-only members gets a neutral check run
only. The decision is built by `group_decision`, a pure function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from github import UnknownObjectException

from bot.core.gate import Decision
from bot.core.gate_state import GateState
from bot.core.policy.result import Status, join_words, node, short_sha
from bot.keys import Job, PullKey
from bot.providers.github.forge import PROVIDER, GitHubEvaluation, GitHubForge
from bot.providers.github.merge_queue import MAX_COMMITS
from bot.providers.publishing import context_for
from bot.store import Store, dirty, evaluations, merge_groups
from bot.store.group_members import requested_groups_with


@dataclass(frozen=True)
class Member:
    """One PR of a group as the bot finds it now."""

    number: int
    head_sha: str
    open: bool
    verdict: str | None
    """The state the bot recorded for this head under the group's context; None: none."""
    report_only: bool = False


def _judge(member: Member) -> tuple[GateState, str]:
    where = f"#{member.number} at {short_sha(member.head_sha)}"
    if not member.open:
        return GateState.FAILURE, f"#{member.number} is not an open pull request"
    if member.verdict is None:
        return GateState.PENDING, f"{where} has no verdict yet"
    if member.verdict == GateState.SUCCESS or member.report_only:
        return GateState.SUCCESS, f"{where} passes"
    if member.verdict == GateState.PENDING:
        return GateState.PENDING, f"{where} is still pending"
    return GateState.FAILURE, f"{where} does not pass ({member.verdict})"


def group_decision(
    head_sha: str,
    members: Sequence[Member],
    strays: Sequence[str] = (),
    unreadable: str | None = None,
) -> Decision:
    """The verdict on a group's head commit from its members' verdicts, the commits
    that belong to no PR (`strays`) and why the group could not be read, if so."""
    judged: list[tuple[str, str, GateState, str]] = [
        ("pull", f"#{m.number}", *_judge(m)) for m in members
    ]
    judged += [
        ("commit", short_sha(sha), GateState.FAILURE,
         f"commit {short_sha(sha)} in the merge group belongs to no open pull request")
        for sha in strays
    ]
    if unreadable is not None:
        judged.append(("group", "merge group", GateState.FAILURE, unreadable))
    if not judged:
        sentence = "the merge group names no pull request the bot can judge"
        root = node("gate", "gate", Status.FAILED, sentence)
        return Decision(GateState.FAILURE, sentence, root, head_sha, False, False, False, False,
                        blockers=(sentence,))
    state = max(level for _, _, level, _ in judged)
    children = tuple(
        node(kind, label, level.status, sentence) for kind, label, level, sentence in judged
    )
    if state is GateState.SUCCESS:
        description = (
            f"every PR in the merge group passes at its head: "
            f"{join_words([f'#{m.number}' for m in members])}"
        )
        blockers: tuple[str, ...] = ()
    else:
        blockers = tuple(sentence for _, _, level, sentence in judged if level == state)
        description = "; ".join(blockers)
    report_only = bool(members) and not strays and unreadable is None and all(
        m.report_only for m in members
    )
    root = node("gate", "gate", state.status, description, children)
    return Decision(
        state=state,
        description=description,
        explanation=root,
        head_sha=head_sha,
        merge_allowed=False,
        auto_merge=False,
        deploy_allowed=False,
        report_only=report_only,
        blockers=blockers,
    )


@dataclass
class MergeGroupPipeline:
    """Judges one merge group per call (a job whose key is a `GroupKey`)."""

    forge: GitHubForge
    store: Store

    def __call__(self, job: Job) -> str:
        with self.store.begin() as conn:
            group = merge_groups.for_key(conn, job.key)
        if group is None or group.state != merge_groups.REQUESTED:
            return "merge group is gone: nothing posted"
        installation = group.installation_id or job.access
        base_ref = group.base_ref.removeprefix("refs/heads/")
        context = context_for(base_ref)
        with self.forge.evaluation(job.key, installation) as ev:
            numbers, strays, unreadable = self._contents(ev, group, base_ref)
            members = [self._member(ev, number, context) for number in numbers]
            self._mark_unjudged(group.repo, installation, members)
            decision = group_decision(group.head_sha, members, strays, unreadable)
            if not job.lease.extend():
                return f"{decision.state}: lease lost before publishing, nothing posted"
            outcome = ev.publish_commit(decision, base_ref, details_url=None)
        written = "unchanged" if outcome.unchanged else "posted"
        return (
            f"merge group {short_sha(group.head_sha)} ({outcome.context}): {decision.state},"
            f" {written}"
        )

    def _contents(
        self, ev: GitHubEvaluation, group: merge_groups.MergeGroup, base_ref: str
    ) -> tuple[tuple[int, ...], tuple[str, ...], str | None]:
        """The group's members (found in its commits, and named by its webhook), the
        commits that belong to no PR, and why the group cannot be read, if so."""
        if group.base_sha is None:
            return group.pull_numbers, (), "the merge group names no base commit to compare with"
        contents = ev.merge_group_contents(base_ref, group.base_sha, group.head_sha)
        if contents.truncated:
            return group.pull_numbers, (), (
                f"the merge group holds more than {MAX_COMMITS} commits: it cannot be checked"
            )
        numbers = tuple(sorted(set(group.pull_numbers) | set(contents.pulls)))
        if numbers != group.pull_numbers:
            # So the group is woken when any of its members gets a new verdict.
            with self.store.begin() as conn:
                merge_groups.set_members(conn, group.id, numbers, self.forge.clock())
        return numbers, contents.strays, None

    def _member(self, ev: GitHubEvaluation, number: int, context: str) -> Member:
        try:
            head = ev.other_pull(number)
        except UnknownObjectException:
            # A number the group's commit names but the repository does not have:
            # judged (a failure), not retried for ever.
            return Member(number=number, head_sha="", open=False, verdict=None)
        with self.store.begin() as conn:
            posted = evaluations.last(conn, PROVIDER, ev.key.repo, head.head_sha, context)
        if posted is not None and posted.number != number:
            posted = None  # a verdict on the same commit for another PR says nothing of this one
        return Member(
            number=number,
            head_sha=head.head_sha,
            open=head.state == "open",
            verdict=posted.state if posted is not None else None,
            report_only=posted.report_only if posted is not None else False,
        )

    def _mark_unjudged(self, repo: str, installation: int | None, members: list[Member]) -> None:
        """Members without a verdict at their head get evaluated (then wake the group)."""
        waiting = [m for m in members if m.open and m.verdict is None]
        if not waiting:
            return
        now = self.forge.clock()
        with self.store.begin() as conn:
            for member in waiting:
                dirty.mark(conn, PullKey(PROVIDER, repo, member.number), now, installation)


@dataclass
class GroupWaker:
    """After a PR's verdict changed, marks the waiting merge groups that hold it."""

    store: Store
    clock: Callable[[], datetime]

    def __call__(self, key: PullKey) -> int:
        now = self.clock()
        with self.store.begin() as conn:
            groups = requested_groups_with(conn, key.provider, key.repo, key.number)
            for group in groups:
                dirty.mark(conn, group.key, now, group.installation_id)
        return len(groups)
