"""What the bot replies to comment commands: the texts, from decisions and the policy."""

from __future__ import annotations

from factories import HEAD, at, check, make_snapshot, policy, review

from bot.core import replies
from bot.core.commands import KNOWN_COMMANDS
from bot.core.gate import decide
from bot.core.policy.evaluate import evaluate
from bot.core.snapshot import Hold, Override

REPO = policy("""
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1}
checks: ["ci / test"]
commands:
  prefix: /bot
  allow:
    deploy: {teams: [acme/release], users: [lee]}
""")


def decision(**overrides):
    snapshot = make_snapshot(**overrides)
    return decide(evaluate(REPO, snapshot), snapshot)


def test_help_names_every_command_with_the_policys_prefix_and_permissions():
    text = replies.help_text("/bot", REPO.commands)
    for spec in KNOWN_COMMANDS:
        assert f"`/bot {spec.usage}`" in text
    assert "Needs membership of acme/release or being lee." in text
    assert "`/bot merge` — Merge the pull request once the gate passes. Needs write permission " \
        "or above." in text
    assert "Needs admin permission." in text  # override keeps its default


def test_armed_lists_what_is_missing_and_notes_report_mode():
    pending = decision(reviews=(), checks=(check("ci / test", "failure"),))
    assert replies.armed_text(pending, auto=False) == (
        "Merge armed: the pull request is merged as soon as the gate passes. Still missing:\n\n"
        "- required check failed: ci / test failed (failure)\n"
        "- reviewed: needs 1 more approval from anyone with write permission or above"
    )
    held = decision(reviews=(review("bob"),), checks=(check("ci / test"),),
                    holds=(Hold(by="max", at=at(1)),))
    assert "on hold by max" in replies.armed_text(held, auto=True)
    assert "would merge it then anyway" in replies.armed_text(held, auto=True)


def test_cancel_says_nothing_when_it_simply_disarmed():
    assert replies.cancel_text(disarmed=True, auto=False) == ""
    assert replies.cancel_text(disarmed=False, auto=False) == (
        "No merge was armed on this pull request."
    )
    assert "use `hold`" in replies.cancel_text(disarmed=True, auto=True)


def test_override_reply_tells_applied_from_not_applied():
    given = Override(sha=HEAD, by="ada", reason="out *today*", at=at(5))
    applied = decision(reviews=(), overrides=(given,))
    text = replies.override_text(applied, HEAD, "ada", "out *today*")
    assert text.startswith(f"Override recorded for `{HEAD[:7]}` by @ada: out \\*today\\*.")
    early = Override(sha=HEAD, by="ada", reason="early", at=at(-5))
    refused = decision(reviews=(), overrides=(early,))
    assert "was not applied" in replies.override_text(refused, HEAD, "ada", "early")
    held = decision(reviews=(), overrides=(given,), holds=(Hold(by="max", at=at(1)),))
    assert "does not lift a draft or a hold" in replies.override_text(held, HEAD, "ada", "x")


def test_one_reply_names_its_author_once():
    assert replies.reply("wes", ["", ""]) == ""
    assert replies.reply("wes", ["a", "", "b"]) == "@wes a\n\nb"
    assert replies.reply("wes", ["@wes may not run `hold`: …"]) == "@wes may not run `hold`: …"


def test_unhold_names_whose_holds_remain_and_why():
    assert replies.unhold_text([], []) == "This pull request was not on hold."
    assert replies.unhold_text(["wes"], []) == ""
    assert replies.unhold_text(["wes", "tess"], [("max", "maintain"), ("old", None)]) == (
        "Lifted the holds of wes and tess. Still on hold by max (maintain) and old (admin): "
        "a hold can be lifted only by its author or by someone whose permission is at least "
        "the holder's."
    )
    assert replies.unhold_text([], [("max", "maintain")]).startswith("Still on hold by max")
