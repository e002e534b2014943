"""`gatebot audit`: other people's text is printed escaped, never raw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.cli import main
from bot.keys import PullKey
from bot.printable import printable
from bot.store import commands, deploy_outcomes, deploys, overrides
from bot.store.deploys import DeployKey

KEY = PullKey("github", "acme/api", 7)
AT = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def test_control_characters_in_every_field_are_escaped(store, monkeypatch, capsys):
    with store.begin() as conn:
        overrides.record(
            conn, KEY, sha="a" * 40, by="mal\x07lory",
            reason="\x1b[2J\x1b[Hall clear\n2026-11-28T14:00:00 acme/api#7 nothing to see",
            at=AT, comment_id=1, now=AT,
        )
        commands.audit(
            conn, KEY, 2, login="mallory", command="hold", args="\x1b]0;pwned\x07 \u202eevil",
            outcome="held", detail=None, now=AT,
        )
    monkeypatch.setenv("GATEBOT_DATABASE_URL", store.url)
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    command, override = out.splitlines()  # the newline did not forge a third line
    assert command.endswith("command hold \\x1b]0;pwned\\x07 \\u202eevil by mallory: held")
    assert override.endswith(
        "override by mal\\x07lory: \\x1b[2J\\x1b[Hall clear\\n"
        "2026-11-28T14:00:00 acme/api#7 nothing to see"
    )


def test_each_deploy_of_a_merged_pr_shows_how_it_ended(store, monkeypatch, capsys):
    key = DeployKey("github", "acme/api", "b" * 40, "production")
    with store.begin() as conn:
        deploys.open_intent(conn, key, number=7, method="github_deployment",
                            environment="prod", now=AT)
        deploys.settle(conn, key, deploys.DEPLOYED, AT, reference="9")
        deploys.record(conn, key, number=7, method="github_deployment", outcome="deployed",
                       now=AT)
        deploy_outcomes.start(conn, key, number=7, method="github_deployment",
                              environment="prod", now=AT, reference="9")
        deploy_outcomes.end(conn, key, deploy_outcomes.SUCCEEDED, AT + timedelta(seconds=192),
                            link="https://ci.example/run/9")
    monkeypatch.setenv("GATEBOT_DATABASE_URL", store.url)
    assert main(["audit", "--repo", "acme/api"]) == 0
    deployed, succeeded = capsys.readouterr().out.splitlines()
    assert deployed.endswith("acme/api#7 bbbbbbbbbbbb deploy production (github_deployment): "
                             "deployed")
    assert succeeded == (
        "2026-11-28T14:03:12+00:00 acme/api#7 bbbbbbbbbbbb deploy production "
        "(github_deployment): succeeded https://ci.example/run/9: after 192 s"
    )


def test_printable_keeps_ordinary_text():
    assert printable("Ship it — ça marche 🚀 (#12)") == "Ship it — ça marche 🚀 (#12)"
    assert printable("a\tb\r\x00\x7f\x9b") == "a\\tb\\r\\x00\\x7f\\x9b"
