"""Comment commands through the worker against the fake GitHub: who may run each command,
what each one does to the gate, the merge and the deploys, and how it is answered.

Comments reach the store as the routing puts them there (`commands.receive`); the
pipeline parses, authorises, acts, reacts and replies over real HTTP."""

from __future__ import annotations

import pytest
from github_helpers import ONE_APPROVAL, REPO, Rig, rig_fixture  # noqa: F401

from bot.pipeline.commands import RATE_LIMIT, CommandStep
from bot.pipeline.deploy import DeployStep
from bot.pipeline.errors import ForgeUnavailable
from bot.pipeline.merge import MergeStep
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.pull import PullPipeline
from bot.providers.github.policy_source import POLICY_PATHS
from bot.store import commands, holds, merges, overrides, utcnow
from bot.worker import Outcome

POLICY = ONE_APPROVAL

DEPLOYING = POLICY + """\
deploy:
  - name: production
    branches: [main]
    environment: prod
    via:
      github_deployment: {}
"""

ROLES = {
    "rita": "read", "tom": "triage", "wes": "write", "tess": "write", "max": "maintain",
    "ada": "admin",
}


def pipeline(rig: Rig) -> PullPipeline:
    operator = OperatorConfig()
    return PullPipeline(
        rig.forge,
        rig.store,
        operator,
        POLICY_PATHS,
        lambda key, sha: None,
        merging=MergeStep(rig.store, rig.clock, lock_seconds=30),
        deploying=DeployStep(rig.store, rig.clock, operator.targets),
        commands=CommandStep(rig.store, rig.clock),
    )


def run(rig: Rig, pipe: PullPipeline, number: int = 7) -> Outcome:
    return rig.settle(pipe, number)


def open_pr(rig: Rig, text: str = POLICY, number: int = 7, **options):
    """A PR in a repository where each of ROLES has its role.

    The worker's clock runs two seconds behind the fake's: GitHub dates comments to
    the second, and an override counts only for a head seen before its comment.
    """
    if REPO.lower() not in rig.fake.world.repos:
        rig.fake.add_repo(REPO, files={".github/gatebot.yml": text, "src/app.py": "1\n"})
        for login, role in ROLES.items():
            rig.fake.set_role(REPO, login, role)
        rig.clock.advance(seconds=-2)
    return rig.fake.open_pr(REPO, number, author="alice",
                            contents={f"src/f{number}.py": "2\n"}, **options)


def say(rig: Rig, who: str, body: str, number: int = 7):
    """`who` comments on the PR; the routing records it."""
    comment = rig.fake.add_comment(REPO, number, who, body)
    with rig.store.begin() as conn:
        commands.receive(conn, rig.key(number), comment.id, author=who, body=body,
                         created_at=comment.created_at, installation_id=rig.installation(),
                         now=utcnow())
    return comment


def replies_to(rig: Rig, who: str, number: int = 7) -> list[str]:
    return [c.body for c in rig.fake.comments(REPO, number)
            if c.user == rig.fake.bot_login and c.body.startswith(f"@{who} ")]


def bot_comments(rig: Rig, number: int = 7) -> list[str]:
    return [c.body for c in rig.fake.comments(REPO, number) if c.user == rig.fake.bot_login]


def reactions(rig: Rig, comment) -> list[str]:
    return sorted(r.content for r in rig.fake.reactions(REPO, comment.id))


def gate(rig: Rig, sha: str) -> tuple[str, str]:
    (status,) = [s for s in rig.fake.statuses(REPO, sha) if s.context == "gatebot: main"][-1:]
    return status.state, status.description


# -- who may run what -------------------------------------------------------------------

CASES = [
    # command, allowed, refused, the permission a refusal names
    ("help", "rita", None, None),
    ("status", "rita", None, None),
    ("recheck", "rita", None, None),
    ("merge", "wes", "tom", "write permission or above"),
    ("cancel", "wes", "tom", "write permission or above"),
    ("hold", "wes", "tom", "write permission or above"),
    ("unhold", "wes", "tom", "write permission or above"),
    ("deploy", "max", "wes", "maintain permission or above"),
    ("override urgent fix", "ada", "max", "admin permission"),
]


@pytest.mark.parametrize(("command", "allowed", "refused", "needed"), CASES,
                         ids=[c[0].split()[0] for c in CASES])
def test_each_command_runs_for_an_allowed_user_and_is_refused_naming_the_need(
    rig, command, allowed, refused, needed
):
    open_pr(rig)
    pipe = pipeline(rig)
    assert run(rig, pipe) is Outcome.DONE
    ok = say(rig, allowed, f"/gate {command}")
    assert run(rig, pipe) is Outcome.DONE
    assert reactions(rig, ok) == ["+1"]
    assert not any("may not run" in body for body in replies_to(rig, allowed))
    if refused is None:
        outsider = say(rig, "nobody-here", f"/gate {command}")
        assert run(rig, pipe) is Outcome.DONE
        assert reactions(rig, outsider) == ["-1"]
        (refusal,) = replies_to(rig, "nobody-here")
        assert "needs read permission or above (you have no permission)" in refusal
        return
    no = say(rig, refused, f"/gate {command}")
    assert run(rig, pipe) is Outcome.DONE
    assert reactions(rig, no) == ["-1"]
    (refusal,) = replies_to(rig, refused)
    name = command.split()[0]
    assert refusal == (
        f"@{refused} may not run `{name}`: it needs {needed} "
        f"(you have {ROLES[refused]} permission)"
    )
    with rig.store.begin() as conn:
        logged = [(e.login, e.command, e.outcome) for e in commands.audit_entries(conn)]
    assert (allowed, name, "ran") in logged and (refused, name, "refused") in logged


def test_a_policy_entry_replaces_the_default_with_a_team_or_a_user(rig):
    text = POLICY + """\
commands:
  allow:
    hold: {teams: [acme/release]}
    override: {users: [tom]}
"""
    open_pr(rig, text)
    rig.fake.add_team("acme", "release", members=["rita"])
    pipe = pipeline(rig)
    run(rig, pipe)
    by_team = say(rig, "rita", "/gate hold")
    by_writer = say(rig, "wes", "/gate unhold")  # unhold keeps its default: write
    by_user = say(rig, "tom", "/gate override ship it")
    by_admin = say(rig, "ada", "/gate override also me")
    run(rig, pipe)
    assert reactions(rig, by_team) == ["+1"]
    assert reactions(rig, by_writer) == ["+1"]
    assert reactions(rig, by_user) == ["+1"]
    assert reactions(rig, by_admin) == ["-1"]
    (refusal,) = replies_to(rig, "ada")
    assert "it needs being tom" in refusal


# -- what the parser lets through ---------------------------------------------------------

def test_commands_in_code_blocks_and_quotes_do_nothing_and_get_no_answer(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    quoted = say(rig, "wes", "> /gate hold\n\nquoting the docs")
    fenced = say(rig, "wes", "try:\n\n```\n/gate hold\n```\n")
    inline = say(rig, "wes", "run `/gate hold` when needed")
    run(rig, pipe)
    for comment in (quoted, fenced, inline):
        assert reactions(rig, comment) == []
    assert bot_comments(rig) == []
    state, description = gate(rig, rig.fake.pr(REPO, 7).head_sha)
    assert "hold" not in description


def test_two_commands_in_one_comment_are_each_run_and_answered_in_one_reply(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    both = say(rig, "wes", "/gate hold\n/GATE STATUS")
    run(rig, pipe)
    assert reactions(rig, both) == ["+1"]
    (reply,) = replies_to(rig, "wes")
    assert "on hold by wes" in reply  # the status reply already shows the hold
    state, description = gate(rig, rig.fake.pr(REPO, 7).head_sha)
    assert state == "pending" and "on hold by wes" in description


def test_an_unknown_command_gets_a_did_you_mean_and_a_confused_reaction(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    typo = say(rig, "wes", "/gate mrege")
    run(rig, pipe)
    assert reactions(rig, typo) == ["confused"]
    (reply,) = replies_to(rig, "wes")
    assert "did you mean `/gate merge`" in reply.lower()


def test_comments_of_bots_never_run_commands_and_get_no_answer(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    rig.fake.set_role(REPO, "ci-runner[bot]", "admin")
    from_bot = say(rig, "ci-runner[bot]", "/gate override from a bot")
    run(rig, pipe)
    assert reactions(rig, from_bot) == [] and bot_comments(rig) == []
    with rig.store.begin() as conn:
        assert overrides.for_pull(conn, rig.key(7)) == []


def test_cheap_commands_are_rate_limited_per_pull_request(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    asked = [say(rig, "rita", "/gate status") for _ in range(RATE_LIMIT + 1)]
    run(rig, pipe)
    assert [reactions(rig, c) for c in asked] == [["+1"]] * RATE_LIMIT + [["eyes"]]
    assert len(replies_to(rig, "rita")) == RATE_LIMIT
    rig.clock.advance(minutes=11)
    later = say(rig, "rita", "/gate status")
    run(rig, pipe)
    assert reactions(rig, later) == ["+1"]
    # Writers' commands are not limited by the cheap ones.
    held = say(rig, "wes", "/gate hold")
    run(rig, pipe)
    assert reactions(rig, held) == ["+1"]


# -- what the commands do ---------------------------------------------------------------------

def test_merge_arms_says_what_is_missing_then_merges_the_approved_head(rig):
    pr = open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    armed = say(rig, "wes", "/gate merge")
    run(rig, pipe)
    assert reactions(rig, armed) == ["+1"] and rig.fake.merges == []
    (reply,) = replies_to(rig, "wes")
    assert "Merge armed" in reply and "approval" in reply
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    run(rig, pipe)
    (merge,) = rig.fake.merges
    assert merge.requested_sha == pr.head_sha and merge.method == "merge"
    with rig.store.begin() as conn:
        (entry,) = [e for e in merges.audit(conn) if e.outcome == "merged"]
    assert entry.armed_by == "wes"


def test_merge_of_a_passing_pr_merges_now_and_cancel_disarms(rig):
    open_pr(rig)
    open_pr(rig, number=8)
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    pipe = pipeline(rig)
    run(rig, pipe, 7)
    run(rig, pipe, 8)
    say(rig, "wes", "/gate merge")
    run(rig, pipe, 7)
    assert [m.number for m in rig.fake.merges] == [7]
    assert replies_to(rig, "wes") == []  # the merge comment says it all
    say(rig, "wes", "/gate merge", number=8)
    cancel = say(rig, "max", "/gate cancel", number=8)
    run(rig, pipe, 8)
    assert reactions(rig, cancel) == ["+1"]
    rig.fake.add_review(REPO, 8, "max", "APPROVED")
    run(rig, pipe, 8)
    assert [m.number for m in rig.fake.merges] == [7]


def test_hold_blocks_an_armed_merge_until_unhold(rig):
    open_pr(rig)
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    pipe = pipeline(rig)
    run(rig, pipe)
    say(rig, "max", "/gate hold")
    say(rig, "wes", "/gate merge")
    run(rig, pipe)
    assert rig.fake.merges == []
    state, description = gate(rig, rig.fake.pr(REPO, 7).head_sha)
    assert state == "pending" and "on hold by max" in description
    (reply,) = replies_to(rig, "wes")
    assert "Merge armed" in reply and "on hold by max" in reply
    say(rig, "max", "/gate unhold")
    run(rig, pipe)
    assert [m.number for m in rig.fake.merges] == [7]


def test_a_writer_cannot_lift_a_maintainers_hold_and_is_told_whose_remain(rig):
    open_pr(rig)
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    pipe = pipeline(rig)
    run(rig, pipe)
    say(rig, "max", "/gate hold")
    say(rig, "wes", "/gate hold")
    run(rig, pipe)
    unhold = say(rig, "tess", "/gate unhold")  # another writer
    run(rig, pipe)
    assert reactions(rig, unhold) == ["+1"]
    (reply,) = replies_to(rig, "tess")
    assert "Lifted the hold of wes." in reply
    assert "Still on hold by max (maintain)" in reply
    state, description = gate(rig, rig.fake.pr(REPO, 7).head_sha)
    assert state == "pending" and "on hold by max" in description and "wes" not in description
    assert rig.fake.merges == []

    # A maintainer (or an admin) may lift it.
    say(rig, "ada", "/gate unhold")
    run(rig, pipe)
    assert replies_to(rig, "ada") == []  # nothing left to say: the reaction says it
    assert gate(rig, rig.fake.pr(REPO, 7).head_sha)[0] == "success"


def test_the_author_cannot_lift_a_maintainers_hold_on_their_own_pull_request(rig):
    open_pr(rig)
    rig.fake.set_role(REPO, "alice", "write")
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    pipe = pipeline(rig)
    run(rig, pipe)
    say(rig, "max", "/gate hold")
    run(rig, pipe)
    say(rig, "alice", "/gate unhold\n/gate merge")
    run(rig, pipe)
    assert rig.fake.merges == []
    assert "on hold by max" in gate(rig, rig.fake.pr(REPO, 7).head_sha)[1]
    (reply,) = replies_to(rig, "alice")
    assert "Still on hold by max (maintain)" in reply and "Lifted" not in reply

    # Their own hold, the author may always lift.
    say(rig, "alice", "/gate hold")
    run(rig, pipe)
    say(rig, "alice", "/gate unhold")
    run(rig, pipe)
    with rig.store.begin() as conn:
        assert [h.by for h in holds.for_pull(conn, rig.key(7))] == ["max"]


def test_override_passes_this_head_only_and_a_push_ends_it(rig):
    sha = open_pr(rig).head_sha
    pipe = pipeline(rig)
    run(rig, pipe)
    assert gate(rig, sha)[0] == "pending"
    say(rig, "ada", "/gate override hotfix for the outage")
    run(rig, pipe)
    state, description = gate(rig, sha)
    assert state == "success" and description.startswith("overridden by ada")
    (reply,) = replies_to(rig, "ada")
    assert f"Override recorded for `{sha[:7]}" in reply and "Any push ends it" in reply
    runs_of = rig.fake.check_runs(REPO, sha)
    assert "overridden by ada" in runs_of[-1].output["summary"]
    new_head = rig.fake.push(REPO, 7, pusher="alice")
    run(rig, pipe)
    assert gate(rig, new_head)[0] == "pending"
    with rig.store.begin() as conn:
        (kept,) = overrides.audit_entries(conn)
    assert (kept.sha, kept.by, kept.reason) == (sha, "ada", "hotfix for the outage")


def test_an_override_written_before_the_head_was_pushed_is_not_applied(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    comment = rig.fake.add_comment(REPO, 7, "ada", "/gate override too early")
    new_head = rig.fake.push(REPO, 7, pusher="alice")
    rig.clock.advance(seconds=3)
    run(rig, pipe)  # the bot sees the new head after the comment was written
    with rig.store.begin() as conn:
        commands.receive(conn, rig.key(7), comment.id, author="ada", body=comment.body,
                         created_at=comment.created_at, installation_id=rig.installation(),
                         now=utcnow())
    run(rig, pipe)
    assert gate(rig, new_head)[0] == "pending"
    (reply,) = replies_to(rig, "ada")
    assert "was not applied" in reply


def test_deploy_of_a_merge_that_bypassed_the_gate_ships_once_however_often_asked(rig):
    open_pr(rig, DEPLOYING)
    pipe = pipeline(rig)
    run(rig, pipe)
    merge_sha = rig.fake.merge_pr(REPO, 7, by="max")
    run(rig, pipe)
    assert rig.fake.deployments == []
    (refusal,) = bot_comments(rig)
    assert "/gate deploy production" in refusal
    first = say(rig, "max", "/gate deploy production")
    run(rig, pipe)
    second = say(rig, "max", "/gate deploy")
    run(rig, pipe)
    (deployment,) = rig.fake.deployments
    assert deployment.sha == merge_sha and deployment.environment == "prod"
    assert reactions(rig, first) == ["+1"] and reactions(rig, second) == ["+1"]
    (again,) = replies_to(rig, "max")
    assert "already handled (deployed)" in again
    unknown = say(rig, "max", "/gate deploy staging")
    run(rig, pipe)
    assert "No deploy entry named `staging`" in replies_to(rig, "max")[-1]
    assert reactions(rig, unknown) == ["+1"] and len(rig.fake.deployments) == 1


def test_deploy_on_a_merge_into_another_base_follows_the_default_branchs_policy(rig):
    """A branch's own policy lets anyone deploy its merges: `/gate deploy` on a PR
    merged into it is judged by the default branch's policy, which declares no such
    deploy and asks for maintain permission."""
    open_pr(rig, DEPLOYING)
    rig.fake.add_branch(REPO, "evil-base", "main")
    own = DEPLOYING.replace("branches: [main]", "branches: [evil-base]") + (
        "commands:\n  allow:\n    deploy: {permission: read}\n"
    )
    rig.fake.commit(REPO, "evil-base", {".github/gatebot.yml": own})
    rig.fake.open_pr(REPO, 9, base="evil-base", author="alice",
                     contents={"src/evil.py": "1\n"})
    pipe = pipeline(rig)
    run(rig, pipe, 9)
    rig.fake.merge_pr(REPO, 9, by="wes")
    run(rig, pipe, 9)
    asked = say(rig, "rita", "/gate deploy production", number=9)
    run(rig, pipe, 9)
    assert rig.fake.deployments == []
    assert reactions(rig, asked) == ["-1"]
    assert "maintain permission or above" in replies_to(rig, "rita", 9)[-1]
    allowed = say(rig, "max", "/gate deploy production", number=9)
    run(rig, pipe, 9)
    assert rig.fake.deployments == []
    assert reactions(rig, allowed) == ["+1"]
    assert "No deploy entry named `production`" in replies_to(rig, "max", 9)[-1]


def test_deploy_on_an_open_pull_request_ships_nothing(rig):
    open_pr(rig, DEPLOYING)
    pipe = pipeline(rig)
    run(rig, pipe)
    say(rig, "max", "/gate deploy")
    run(rig, pipe)
    assert rig.fake.deployments == []
    (reply,) = replies_to(rig, "max")
    assert "Nothing to deploy yet" in reply


def test_help_lists_every_command_with_the_policys_permissions(rig):
    open_pr(rig, POLICY + "commands:\n  prefix: /bot\n  allow:\n    deploy: {users: [wes]}\n")
    pipe = pipeline(rig)
    run(rig, pipe)
    ignored = say(rig, "rita", "/gate help")  # not this repository's prefix
    asked = say(rig, "rita", "/bot help")
    run(rig, pipe)
    assert reactions(rig, ignored) == [] and reactions(rig, asked) == ["+1"]
    (reply,) = replies_to(rig, "rita")
    assert "`/bot deploy [name]`" in reply and "Needs being wes." in reply
    assert "`/bot override <reason>`" in reply and "Needs admin permission." in reply


def test_a_mention_of_the_app_works_as_the_prefix(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    slug = rig.fake.bot_login.removesuffix("[bot]")
    held = say(rig, "wes", f"@{slug} hold")
    run(rig, pipe)
    assert reactions(rig, held) == ["+1"]
    assert "on hold by wes" in gate(rig, rig.fake.pr(REPO, 7).head_sha)[1]


def test_a_lost_answer_is_given_later_without_running_the_command_twice(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    rig.fake.fail("reactions/create-for-issue-comment", status=502, times=20)
    both = say(rig, "wes", "/gate hold\n/gate status")
    with pytest.raises(ForgeUnavailable):
        run(rig, pipe)
    with rig.store.begin() as conn:
        (row,) = [c for c in commands.unanswered(conn, rig.key(7))]
    assert row.state == commands.ACTED
    rig.fake.clear_faults()
    run(rig, pipe)
    assert reactions(rig, both) == ["+1"]
    assert len(replies_to(rig, "wes")) == 1
    with rig.store.begin() as conn:
        held = [e for e in commands.audit_entries(conn) if e.command == "hold"]
        assert commands.unanswered(conn, rig.key(7)) == []
    assert len(held) == 1



def test_closing_a_pull_request_disarms_its_merge(rig):
    open_pr(rig)
    pipe = pipeline(rig)
    run(rig, pipe)
    say(rig, "wes", "/gate merge")
    run(rig, pipe)
    rig.fake.edit_pr(REPO, 7, state="closed")
    run(rig, pipe)
    rig.fake.edit_pr(REPO, 7, state="open")
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    run(rig, pipe)
    assert rig.fake.merges == []
    assert gate(rig, rig.fake.pr(REPO, 7).head_sha)[0] == "success"


def test_recheck_catches_up_with_what_no_webhook_told(rig):
    pr = open_pr(rig, POLICY + 'checks: ["ci / test"]\n')
    rig.fake.add_review(REPO, 7, "max", "APPROVED")
    pipe = pipeline(rig)
    run(rig, pipe)
    assert gate(rig, pr.head_sha)[0] == "pending"
    rig.fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion="success")  # event lost
    asked = say(rig, "rita", "/gate recheck")
    run(rig, pipe)
    assert reactions(rig, asked) == ["+1"] and replies_to(rig, "rita") == []
    assert gate(rig, pr.head_sha) == ("success", "approved: reviewed; ci / test passed (success)")
