"""The forge contract: what every adapter must do through the worker-facing protocol,
run against the fake GitHub and the fake GitLab alike.

Read a PR (head, base, state); read the policy from the base branch, never the
PR's own copy; read a snapshot with only what the policy's needs ask for;
publish a verdict, and publish nothing when the same verdict is published
again; merge pinned to the evaluated SHA (a moved head is refused as
`head_moved` and nothing is merged); converse (a confirmed comment, the
commenter's role, a reaction, a reply); deploy once (a method the forge
supports creates one deployment, one it does not is refused without a
request). Each assertion is on what the fake forge saw. A new forge passes
this suite with its own fake and a `ForgeSide` for it (`support.contract`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import github_helpers
import gitlab_helpers
import pytest
from support.contract import APPROVER, AUTHOR, NUMBER, REPO, ForgeSide, GitHubSide, GitLabSide
from support.forge_rig import Clock, migrated_store
from support.policies import ONE_APPROVAL

from bot.core.policy.loader import load_policy
from bot.core.policy.needs import SnapshotNeeds
from bot.pipeline.deploy import DeployStep, MergedPull
from bot.store import heads

OTHER_POLICY = "version: 1\n"
"""What the PR's own copy of the policy file says: it never governs the PR."""
DETAILS = "https://gatebot.example/acme/api/7"


@pytest.fixture(params=["github", "gitlab"])
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ForgeSide]:
    if request.param == "github":
        fake = request.getfixturevalue("fake_github")
        settings = github_helpers.settings_for(fake, tmp_path)
        with migrated_store(settings) as store:
            yield GitHubSide(github_helpers.Rig(fake, store, settings, Clock()))
            fake.assert_all_valid()
    else:
        fake = request.getfixturevalue("fake_gitlab")
        settings = gitlab_helpers.settings_for(fake, tmp_path)
        with migrated_store(settings) as store:
            yield GitLabSide(gitlab_helpers.Rig(fake, store, settings, Clock()))
            fake.assert_clean()


def ready(side: ForgeSide, policy: str = ONE_APPROVAL) -> str:
    """PR 7 by alice from `feature` into `main`, approved by mia: its head SHA."""
    side.repository(policy)
    head = side.open_pull()
    side.approve()
    return head


def writes(side: ForgeSide, mark: int) -> list[str]:
    """What the adapter wrote to the forge since `mark` (authenticating and a query are
    no writes)."""
    sent = [side.route_of(r) for r in side.rig.fake.requests_since(mark) if r.method != "GET"]
    return [name for name in sent if name not in side.authentication | side.pull_query]


def reads(side: ForgeSide, mark: int) -> set[str]:
    return {side.route_of(r) for r in side.rig.fake.requests_since(mark)}


# -- reading -------------------------------------------------------------------------


def test_a_pull_is_read_with_its_head_base_and_state(side):
    head = ready(side)
    with side.rig.open(NUMBER) as ev:
        pull = ev.pull()
        assert ev.pull() is pull  # one read per evaluation
    assert (pull.number, pull.base_ref, pull.head_ref, pull.head_sha) == (
        NUMBER, "main", "feature", head,
    )
    assert (pull.state, pull.merged, pull.merge_sha) == ("open", False, None)


def test_the_policy_is_read_from_the_base_branch_not_from_the_pull(side):
    side.repository(ONE_APPROVAL)
    side.open_pull(contents={side.policy_path: OTHER_POLICY})
    with side.rig.open(NUMBER) as ev:
        sources = ev.policy_sources()
        own = ev.file_at(side.policy_path, ev.pull().head_sha)
    assert sources.policy is not None and sources.error is None
    assert (sources.policy.origin, sources.policy.text) == ("repository", ONE_APPROVAL)
    assert sources.policy.location == f"acme/api:{side.policy_path}@main"
    assert own == OTHER_POLICY


def heard_push(side: ForgeSide, sha: str) -> None:
    """The bot heard `sha`'s push (its delivery arrived), so it knows who pushed it."""
    with side.rig.store.begin() as conn:
        heads.record(conn, side.name, REPO, sha, datetime.now(UTC), pushed=True, pusher=AUTHOR)


def test_a_snapshot_reads_only_what_the_needs_ask_for(side):
    head = ready(side)
    # With a push the bot never heard of, a forge may read its own push records (GitLab's
    # "added commits" notes sit among the comments); with every push heard, it reads none.
    heard_push(side, head)
    side.add_comment(APPROVER, "LGTM")
    mark = side.rig.fake.mark()
    with side.rig.open(NUMBER) as ev:
        bare = ev.snapshot(SnapshotNeeds())
    sent = reads(side, mark)
    assert not sent & side.comment_reads and not sent & side.status_reads
    assert writes(side, mark) == []
    assert (bare.number, bare.head_sha, bare.base_ref, bare.author.login) == (
        NUMBER, head, "main", AUTHOR,
    )
    assert [(r.author.login, r.state) for r in bare.reviews] == [(APPROVER, "APPROVED")]
    assert bare.comments == () and bare.checks == ()
    assert bare.bot.logins and bare.bot.context_prefix == "gatebot"

    mark = side.rig.fake.mark()
    with side.rig.open(NUMBER) as ev:
        full = ev.snapshot(SnapshotNeeds(comments=True, checks=True))
    sent = reads(side, mark)
    # Read on demand, or with the PR in its one query (GitHub).
    assert (sent & side.comment_reads and sent & side.status_reads) or sent & side.pull_query
    assert [(c.author.login, c.body) for c in full.comments] == [(APPROVER, "LGTM")]


# -- publishing ----------------------------------------------------------------------


def test_a_verdict_is_published_and_not_again_while_unchanged(side):
    head = ready(side)
    first = side.rig.evaluate(NUMBER)
    assert first.decision.state == "success"
    assert first.outcome is not None and first.outcome.status_posted
    assert first.outcome.context == "gatebot: main"
    bot = side.statuses(head)[-1].author
    assert [(s.context, s.state) for s in side.statuses(head)] == [("gatebot: main", "success")]

    mark = side.rig.fake.mark()
    again = side.rig.evaluate(NUMBER)
    assert again.outcome is not None and again.outcome.unchanged
    assert writes(side, mark) == []
    assert len(side.statuses(head)) == 1

    # A changed verdict is published.
    pushed = side.push()
    later = side.rig.evaluate(NUMBER)
    assert later.decision.head_sha == pushed
    assert later.outcome is not None and not later.outcome.unchanged
    assert [(s.context, s.author) for s in side.statuses(pushed)] == [("gatebot: main", bot)]


def test_a_verdict_on_a_commit_the_pull_left_is_published_only_on_change(side):
    head = ready(side)
    first = side.rig.evaluate(NUMBER, details_url=DETAILS)
    side.push()
    mark = side.rig.fake.mark()
    with side.rig.open(NUMBER) as ev:
        outcome = ev.publish_commit(first.decision, "main", details_url=DETAILS)
    assert outcome.context == "gatebot: main"
    # The verdict was there already, written by the bot: nothing is written.
    assert outcome.unchanged and writes(side, mark) == []
    assert [s.state for s in side.statuses(head)] == ["success"]


# -- merging -------------------------------------------------------------------------


def test_a_merge_is_pinned_to_the_evaluated_head(side):
    head = ready(side)
    with side.rig.open(NUMBER) as ev:
        state = ev.merge_state()
        assert (state.head_sha, state.base_ref, state.state, state.merged) == (
            head, "main", "open", False,
        )
        assert "merge" in ev.allowed_merge_methods()
        answer = ev.merge(head, "merge", "Change (#7)", None)
    assert answer.kind == "merged" and answer.merge_sha
    assert side.merged_shas() == [head]
    with side.rig.open(NUMBER) as ev:
        after = ev.merge_state()
    assert (after.merged, after.merge_sha) == (True, answer.merge_sha)


def test_a_moved_head_is_refused_and_nothing_is_merged(side):
    judged = ready(side)
    side.push()
    with side.rig.open(NUMBER) as ev:
        answer = ev.merge(judged, "merge", None, None)
    assert answer.kind == "head_moved"
    assert side.merged_shas() == []


# -- conversing ----------------------------------------------------------------------


def test_a_command_comment_is_confirmed_and_its_author_known(side):
    ready(side)
    comment = side.add_comment(APPROVER, "/gate status")
    with side.rig.open(NUMBER) as ev:
        confirmed = ev.confirmed_comment(comment)
        commenter = ev.commenter(APPROVER, [])
        stranger = ev.commenter("stranger", [])
        bot = ev.bot_login
    assert confirmed is not None
    assert (confirmed.comment_id, confirmed.author, confirmed.body) == (
        comment.comment_id, APPROVER, "/gate status",
    )
    assert (commenter.login, commenter.permission, commenter.is_bot) == (APPROVER, "write", False)
    assert stranger.permission is None
    assert bot


def test_a_command_is_answered_with_a_reaction_and_a_reply(side):
    ready(side)
    comment = side.add_comment(APPROVER, "/gate status")
    with side.rig.open(NUMBER) as ev:
        ev.react(comment.comment_id, "ran")
        ev.react(comment.comment_id, "ran")  # already there: no error, no second one
        reply = ev.comment("The gate is passing.")
    assert len(side.reactions(comment.comment_id)) == 1
    assert side.bot_comments() == ["The gate is passing."]
    assert reply


# -- deploying -----------------------------------------------------------------------


def _deploy(side: ForgeSide, entries: str) -> str:
    """`/gate deploy` twice for the merge of PR 7: what the second one says."""
    ready(side, ONE_APPROVAL)
    loaded = load_policy(f"{ONE_APPROVAL}deploy:\n{entries}")
    assert loaded.ok, loaded.problems
    policy = loaded.policy
    step = DeployStep(side.rig.store, side.rig.clock, {})
    merged = MergedPull(side.rig.key(NUMBER), "main", side.base_sha(), side.base_sha(), "main")
    with side.rig.open(NUMBER) as ev:
        ev.pull()
        step.by_command(ev, policy, merged, None, APPROVER)
        return step.by_command(ev, policy, merged, None, APPROVER)


def test_a_deploy_method_the_forge_supports_deploys_once(side):
    again = _deploy(side, side.native_deploy)
    assert "already handled (deployed); nothing sent again" in again
    assert side.deploys_made() == 1
    [said] = side.bot_comments()
    assert said.startswith("Deploying ")  # followed to its end, edited in place


def test_a_deploy_method_the_forge_does_not_support_is_refused_unsent(side):
    mark = side.rig.fake.mark()
    again = _deploy(side, side.foreign_deploy)
    assert "already handled (failed); nothing sent again" in again
    assert side.deploys_made() == 0
    assert [w for w in writes(side, mark) if "comment" not in w and "notes" not in w] == []
    [said] = side.bot_comments()
    assert said.startswith("Could not deploy ")

