"""Comment commands in the store, on SQLite and on PostgreSQL: the comment inbox and
its state machine, holds, overrides, armed merges, the command audit log, the
migration that adds them, and `gatebot audit` printing them among merges and deploys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from bot.keys import PullKey
from bot.store import Store, commands, deploys, holds, merge_arms, merges, migrate, overrides
from bot.store.commands import ACTED, ANSWERED, ANSWERING, PENDING
from bot.store.deploys import DeployKey

KEY = PullKey("github", "Acme/App", 7)
OTHER_PR = PullKey("github", "Acme/App", 8)
OTHER_REPO = PullKey("github", "Acme/Lib", 7)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHA = "c0ffee" + "0" * 34

COMMAND_TABLES = {"command_comments", "pull_holds", "pull_overrides", "merge_arms", "command_audit"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def receive(conn, comment_id: int, *, key: PullKey = KEY, minute: float = 0, **more) -> bool:
    fields = dict(
        author="ada",
        body="/gate merge",
        created_at=at(minute),
        installation_id=55,
        now=at(minute) + timedelta(seconds=2),
    )
    return commands.receive(conn, key, comment_id, **{**fields, **more})


def states(conn, key: PullKey = KEY) -> dict[int, str]:
    return {c.comment_id: c.state for c in commands.unanswered(conn, key)}


def stored_state(conn, comment_id: int) -> str:
    return conn.exec_driver_sql(
        f"SELECT state FROM command_comments WHERE comment_id = {comment_id}"
    ).scalar_one()


# -- the inbox ---------------------------------------------------------------------------


def test_a_comment_is_received_once_as_pending_with_what_it_said(store):
    with store.begin() as conn:
        assert receive(conn, 101, body="/gate hold\n/gate status", minute=1)
        # The same comment again (a redelivery) changes nothing, not even its body.
        assert not receive(conn, 101, body="something else", author="eve", minute=5)
        # Comment ids are per repository.
        assert receive(conn, 101, key=OTHER_REPO)
        (found,) = commands.unanswered(conn, KEY)
    assert found.key == KEY and found.comment_id == 101
    assert (found.author, found.body) == ("ada", "/gate hold\n/gate status")
    assert found.created_at == at(1) and found.received_at == at(1) + timedelta(seconds=2)
    assert found.installation_id == 55
    assert (found.state, found.outcomes, found.cheap, found.acted_at, found.reply_id) == (
        PENDING,
        None,
        0,
        None,
        None,
    )


def test_unanswered_lists_pending_and_acted_comments_oldest_first(store):
    with store.begin() as conn:
        receive(conn, 30, minute=2)
        receive(conn, 20, minute=2)  # same time as 30: the lower comment id first
        receive(conn, 40, minute=1)
        receive(conn, 10, minute=3)
        receive(conn, 50, minute=0, key=OTHER_PR)
        receive(conn, 60, minute=0, installation_id=None)
        assert commands.acted(conn, KEY, 20, outcomes="[]", cheap=0, now=at(4))
        assert commands.acted(conn, KEY, 10, outcomes="[]", cheap=0, now=at(4))
        assert commands.claim_answer(conn, KEY, 10, at(5))
        assert commands.acted(conn, KEY, 40, outcomes="[]", cheap=0, now=at(4))
        assert commands.claim_answer(conn, KEY, 40, at(5))
        commands.answered(conn, KEY, 40, None, at(6))
        found = commands.unanswered(conn, KEY)
    # 10 is being answered and 40 was answered: neither is listed.
    assert [c.comment_id for c in found] == [60, 20, 30]
    assert [c.state for c in found] == [PENDING, ACTED, PENDING]
    assert found[0].installation_id is None


def test_a_comment_goes_through_its_states_once(store):
    with store.begin() as conn:
        receive(conn, 5)
        # Nothing but acting moves a pending comment.
        assert not commands.claim_answer(conn, KEY, 5, at(1))
        commands.answered(conn, KEY, 5, 900, at(1))
        commands.release_answer(conn, KEY, 5, at(1))
        assert states(conn) == {5: PENDING}

        assert commands.acted(conn, KEY, 5, outcomes='[{"merge": "armed"}]', cheap=2, now=at(2))
        assert not commands.acted(conn, KEY, 5, outcomes="[]", cheap=9, now=at(3))
        (acted,) = commands.unanswered(conn, KEY)
        assert (acted.state, acted.outcomes, acted.cheap, acted.acted_at) == (
            ACTED,
            '[{"merge": "armed"}]',
            2,
            at(2),
        )
        # An acted comment is answered only after a claim.
        commands.answered(conn, KEY, 5, 900, at(3))
        assert states(conn) == {5: ACTED}

        assert commands.claim_answer(conn, KEY, 5, at(4))
        assert not commands.claim_answer(conn, KEY, 5, at(4))  # someone else has it
        assert states(conn) == {}
        assert stored_state(conn, 5) == ANSWERING
        # Posting failed: back to acted, and claimable again.
        commands.release_answer(conn, KEY, 5, at(5))
        assert states(conn) == {5: ACTED}
        assert commands.claim_answer(conn, KEY, 5, at(6))
        commands.answered(conn, KEY, 5, 900, at(7))
        # Answered is final.
        commands.release_answer(conn, KEY, 5, at(8))
        assert not commands.acted(conn, KEY, 5, outcomes="[]", cheap=0, now=at(8))
        assert not commands.claim_answer(conn, KEY, 5, at(8))
        assert states(conn) == {}
        assert not receive(conn, 5)
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT state, reply_id, outcomes FROM command_comments WHERE comment_id = 5"
        ).one()
    assert tuple(row) == (ANSWERED, 900, '[{"merge": "armed"}]')


def test_transitions_name_the_comment_of_the_pr(store):
    with store.begin() as conn:
        receive(conn, 5)
        receive(conn, 5, key=OTHER_REPO)
        assert not commands.acted(conn, OTHER_PR, 5, outcomes="[]", cheap=0, now=at(1))
        assert not commands.acted(conn, KEY, 6, outcomes="[]", cheap=0, now=at(1))
        assert commands.acted(conn, OTHER_REPO, 5, outcomes="[]", cheap=0, now=at(1))
        assert states(conn) == {5: PENDING}
        assert states(conn, OTHER_REPO) == {5: ACTED}


def test_an_answer_without_a_reply_is_answered_with_no_reply_id(store):
    with store.begin() as conn:
        receive(conn, 5)
        commands.acted(conn, KEY, 5, outcomes="[]", cheap=0, now=at(1))
        commands.claim_answer(conn, KEY, 5, at(1))
        commands.answered(conn, KEY, 5, None, at(2))
        assert states(conn) == {}
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT state, reply_id, body FROM command_comments WHERE comment_id = 5"
        ).one()
    assert tuple(row) == (ANSWERED, None, "")  # the body is not kept once answered


def test_cheap_since_sums_the_prs_comments_acted_on_in_the_window(store):
    with store.begin() as conn:
        for comment_id, minute, cheap in ((1, 0, 2), (2, 10, 1), (3, 20, 3)):
            receive(conn, comment_id, minute=minute)
            commands.acted(conn, KEY, comment_id, outcomes="[]", cheap=cheap, now=at(minute))
        commands.claim_answer(conn, KEY, 3, at(21))
        commands.answered(conn, KEY, 3, 77, at(22))  # answered comments still count
        receive(conn, 4, minute=30)  # pending: not acted on yet, not counted
        receive(conn, 9, key=OTHER_PR)
        commands.acted(conn, OTHER_PR, 9, outcomes="[]", cheap=5, now=at(15))

        assert commands.cheap_since(conn, KEY, at(0)) == 6  # the bound is inclusive
        assert commands.cheap_since(conn, KEY, at(0.5)) == 4
        assert commands.cheap_since(conn, KEY, at(10)) == 4
        assert commands.cheap_since(conn, KEY, at(20.5)) == 0
        assert commands.cheap_since(conn, OTHER_PR, at(0)) == 5
        assert commands.cheap_since(conn, OTHER_REPO, at(0)) == 0


def test_the_command_audit_log_is_filtered_like_the_others(store):
    with store.begin() as conn:
        commands.audit(conn, OTHER_REPO, 12, login="bob", command="hold", args="",
                       outcome="held", detail=None, now=at(9))
        commands.audit(conn, KEY, 11, login="ada", command="override", args="hotfix",
                       outcome="refused", detail="needs admin", now=at(3))
        commands.audit(conn, KEY, 13, login="cy", command="merge", args="",
                       outcome="armed", detail=None, now=at(12))
        everything = commands.audit_entries(conn)
        assert [e.comment_id for e in everything] == [11, 12, 13]
        first = everything[0]
        assert (first.provider, first.repo, first.number, first.login, first.command) == (
            "github",
            "Acme/App",
            7,
            "ada",
            "override",
        )
        assert (first.args, first.outcome, first.detail, first.at) == (
            "hotfix",
            "refused",
            "needs admin",
            at(3),
        )
        assert [e.comment_id for e in commands.audit_entries(conn, repo="acme/app")] == [11, 13]
        assert [e.comment_id for e in commands.audit_entries(conn, since=at(9))] == [12, 13]
        assert commands.audit_entries(conn, repo="acme/app", since=at(13)) == []


# -- holds ---------------------------------------------------------------------------------


def test_holds_are_one_per_person_whatever_the_letter_case(store):
    with store.begin() as conn:
        assert holds.hold(conn, KEY, by="Ada", at=at(2), comment_id=1, permission="admin")
        assert not holds.hold(conn, KEY, by="ada", at=at(3), comment_id=2, permission="admin")
        assert not holds.hold(conn, KEY, by="ADA", at=at(3), comment_id=3, permission="admin")
        assert holds.hold(conn, KEY, by="bob", at=at(1), comment_id=4, permission="write")
        assert holds.hold(conn, OTHER_PR, by="ada", at=at(1), comment_id=5, permission="admin")
        assert holds.for_pull(conn, KEY) == [
            holds.HoldRecord(by="bob", at=at(1), comment_id=4, permission="write"),
            holds.HoldRecord(by="Ada", at=at(2), comment_id=1, permission="admin"),
        ]
        assert holds.lift(conn, KEY, ["BOB"]) == 1
        assert [h.by for h in holds.for_pull(conn, KEY)] == ["Ada"]
        assert holds.lift(conn, KEY, ["ada"]) == 1
        assert holds.lift(conn, KEY, ["ada"]) == 0
        assert holds.lift(conn, KEY, []) == 0
        assert holds.for_pull(conn, KEY) == []
        assert [h.comment_id for h in holds.for_pull(conn, OTHER_PR)] == [5]
        assert holds.hold(conn, KEY, by="ada", at=at(4), comment_id=6, permission=None)
        assert holds.for_pull(conn, KEY)[0].permission is None


# -- overrides -----------------------------------------------------------------------------


def test_an_override_is_recorded_once_per_comment(store):
    with store.begin() as conn:
        assert overrides.record(conn, KEY, sha=SHA, by="root", reason="hotfix for the outage",
                                at=at(5), comment_id=21, now=at(6))
        assert not overrides.record(conn, KEY, sha="f" * 40, by="eve", reason="again",
                                    at=at(7), comment_id=21, now=at(8))
        assert overrides.record(conn, KEY, sha=SHA, by="sam", reason="second opinion",
                                at=at(1), comment_id=22, now=at(9))
        assert overrides.record(conn, OTHER_PR, sha=SHA, by="root", reason="elsewhere",
                                at=at(0), comment_id=23, now=at(2))
        found = overrides.for_pull(conn, KEY)
    assert found == [
        overrides.OverrideRecord(KEY, SHA, "sam", "second opinion", at(1), 22, at(9)),
        overrides.OverrideRecord(KEY, SHA, "root", "hotfix for the outage", at(5), 21, at(6)),
    ]


def test_override_audit_entries_follow_the_time_they_were_recorded(store):
    with store.begin() as conn:
        overrides.record(conn, KEY, sha=SHA, by="root", reason="a", at=at(5), comment_id=1,
                         now=at(6))
        overrides.record(conn, KEY, sha=SHA, by="root", reason="b", at=at(1), comment_id=2,
                         now=at(9))
        overrides.record(conn, OTHER_REPO, sha=SHA, by="root", reason="c", at=at(0),
                         comment_id=3, now=at(7))
        assert [o.reason for o in overrides.audit_entries(conn)] == ["a", "c", "b"]
        assert [o.reason for o in overrides.audit_entries(conn, repo="ACME/app")] == ["a", "b"]
        # `since` is about when the bot recorded them, not when the comment was written.
        assert [o.reason for o in overrides.audit_entries(conn, since=at(7))] == ["c", "b"]


# -- armed merges ----------------------------------------------------------------------------


def test_the_first_arming_of_a_merge_stands_until_disarmed(store):
    with store.begin() as conn:
        assert merge_arms.armed(conn, KEY) is None
        assert merge_arms.disarm(conn, KEY) is None
        assert merge_arms.arm(conn, KEY, by="ada", at=at(1), comment_id=31)
        assert not merge_arms.arm(conn, KEY, by="bob", at=at(2), comment_id=32)
        assert merge_arms.arm(conn, OTHER_PR, by="bob", at=at(2), comment_id=33)
        first = merge_arms.ArmedMerge(by="ada", at=at(1), comment_id=31)
        assert merge_arms.armed(conn, KEY) == first
        assert merge_arms.disarm(conn, KEY) == first
        assert merge_arms.armed(conn, KEY) is None
        assert merge_arms.disarm(conn, KEY) is None
        assert merge_arms.armed(conn, OTHER_PR).comment_id == 33
        assert merge_arms.arm(conn, KEY, by="bob", at=at(3), comment_id=34)
        assert merge_arms.armed(conn, KEY).by == "bob"


# -- the migration -----------------------------------------------------------------------------


def test_the_commands_migration_goes_down_to_deploys_and_up_again(store):
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_deploys")
        conn.commit()
        tables = set(inspect(conn).get_table_names())
    assert not tables & COMMAND_TABLES and "deploy_audit" in tables
    assert not store.is_current()
    store.migrate()
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= COMMAND_TABLES
    with store.begin() as conn:
        assert receive(conn, 1)


# -- gatebot audit -----------------------------------------------------------------------------


def test_gatebot_audit_prints_overrides_and_commands_among_merges_and_deploys(
    tmp_path, monkeypatch, capsys
):
    from bot.cli import main

    url = f"sqlite:///{tmp_path}/audit.sqlite3"
    found = Store(url)
    found.migrate()
    merge_sha = "d" * 40
    with found.begin() as conn:
        merges.record(conn, KEY, SHA, method="squash", armed_by="root", outcome="merged",
                      now=at(10), merge_sha=merge_sha)
        deploys.record(conn, DeployKey("github", KEY.repo, merge_sha, "production"), number=7,
                       method="github_deployment", outcome="deployed", now=at(11))
        overrides.record(conn, KEY, sha=SHA, by="root", reason="hotfix for the outage",
                         at=at(4), comment_id=41, now=at(5))
        commands.audit(conn, KEY, 41, login="root", command="override",
                       args="hotfix for the outage", outcome="recorded", detail=None, now=at(5))
        commands.audit(conn, KEY, 40, login="eve", command="deploy", args="production",
                       outcome="refused", detail="needs maintain", now=at(2))
        commands.audit(conn, OTHER_REPO, 42, login="bob", command="hold", args="",
                       outcome="held", detail=None, now=at(6))
    found.close()
    monkeypatch.setenv("GATEBOT_DATABASE_URL", url)

    assert main(["audit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "2026-03-02T09:02:00+00:00 Acme/App#7 command deploy production by eve: refused: "
        "needs maintain",
        "2026-03-02T09:05:00+00:00 Acme/App#7 command override hotfix for the outage by root: "
        "recorded",
        f"2026-03-02T09:05:00+00:00 Acme/App#7 {SHA[:12]} override by root: hotfix for the outage",
        "2026-03-02T09:06:00+00:00 Acme/Lib#7 command hold by bob: held",
        f"2026-03-02T09:10:00+00:00 Acme/App#7 {SHA[:12]} squash armed by root: merged -> "
        f"{merge_sha[:12]}",
        f"2026-03-02T09:11:00+00:00 acme/app#7 {merge_sha[:12]} deploy production "
        "(github_deployment): deployed",
    ]
    assert main(["audit", "--repo", "acme/lib"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[3]]
    assert main(["audit", "--repo", "Acme/App", "--since", "2026-03-02T09:05"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[1], lines[2], lines[4], lines[5]]
