"""Comment command parsing: what counts as a command line, and what it yields."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.commands import (
    COMMAND_NAMES,
    COMMANDS_BY_NAME,
    KNOWN_COMMANDS,
    MAX_BODY_CHARS,
    MAX_COMMANDS,
    MAX_ECHO_CHARS,
    Command,
    CommandError,
    parse_commands,
    usage,
)


def summary(body: str, **kwargs) -> list[tuple[str, str, int]]:
    """(name, args, line) per command; (kind, word, line) per error."""
    out = []
    for item in parse_commands(body, **kwargs):
        if isinstance(item, Command):
            out.append((item.name, item.args, item.line))
        else:
            out.append((item.kind, item.word, item.line))
    return out


def line_count(text: str) -> int:
    return len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


MERGE = [("merge", "", 1)]

GRAMMAR = [
    ("plain_command", "/gate merge", MERGE),
    ("upper_case_prefix_and_word", "/GATE MERGE", MERGE),
    ("mixed_case", "/Gate Merge", MERGE),
    ("leading_spaces", "   /gate merge", MERGE),
    ("trailing_whitespace", "/gate merge  \t", MERGE),
    ("tab_after_prefix", "/gate\tmerge", MERGE),
    ("nbsp_after_prefix", "/gate\u00a0merge", MERGE),
    ("several_spaces_after_prefix", "/gate    merge", MERGE),
    ("leading_nbsp_is_not_indentation", "\u00a0\u00a0\u00a0\u00a0/gate merge", MERGE),
    ("crlf_line_endings", "thanks!\r\n/gate merge\r\n", [("merge", "", 2)]),
    ("lone_cr_line_endings", "thanks!\r/gate merge", [("merge", "", 2)]),
    ("line_numbers_count_blank_lines", "a\n\n\n/gate merge", [("merge", "", 4)]),
    ("paragraph_continuation_line", "Looks good:\n/gate merge", [("merge", "", 2)]),
    ("several_commands_in_order", "/gate hold\nwait\n/gate unhold",
     [("hold", "", 1), ("unhold", "", 3)]),
    ("same_command_twice_is_returned_twice", "/gate recheck\n/gate recheck",
     [("recheck", "", 1), ("recheck", "", 2)]),
    ("not_at_line_start", "please /gate merge", []),
    ("prefix_glued_to_a_word", "/gatekeeper merge", []),
    ("prefix_glued_to_a_slash", "/gate/merge", []),
    ("prefix_case_insensitive_only_for_ascii", "/gat\u0130 merge", []),
    ("bare_prefix_means_help", "/gate", [("help", "", 1)]),
    ("bare_prefix_with_spaces_means_help", "/gate   ", [("help", "", 1)]),
    ("no_argument_command_with_trailing_words", "/gate merge please", [("usage", "merge", 1)]),
    ("help_with_a_topic_is_a_usage_error", "/gate help merge", [("usage", "help", 1)]),
    ("trailing_punctuation_is_an_unknown_word", "/gate merge.", [("unknown", "merge.", 1)]),
    ("unknown_word", "/gate merg", [("unknown", "merg", 1)]),
    ("unknown_word_is_lowercased", "/gate MERG", [("unknown", "merg", 1)]),
    ("override_with_reason", "/gate override flaky CI, see #12",
     [("override", "flaky CI, see #12", 1)]),
    ("override_reason_keeps_inner_spacing", "/gate OVERRIDE  a  b ", [("override", "a  b", 1)]),
    ("override_without_reason", "/gate override", [("usage", "override", 1)]),
    ("override_with_only_spaces", "/gate override  \u00a0 ", [("usage", "override", 1)]),
    ("deploy_without_name", "/gate deploy", [("deploy", "", 1)]),
    ("deploy_with_name", "/gate deploy production", [("deploy", "production", 1)]),
    ("deploy_name_with_all_allowed_characters", "/gate deploy eu-west_1.b",
     [("deploy", "eu-west_1.b", 1)]),
    ("deploy_name_with_upper_case", "/gate deploy Production", [("usage", "deploy", 1)]),
    ("deploy_name_starting_with_dash", "/gate deploy -prod", [("usage", "deploy", 1)]),
    ("deploy_name_with_slash", "/gate deploy prod/eu", [("usage", "deploy", 1)]),
    ("deploy_name_of_63_characters", "/gate deploy " + "a" * 63, [("deploy", "a" * 63, 1)]),
    ("deploy_name_of_64_characters", "/gate deploy " + "a" * 64, [("usage", "deploy", 1)]),
    ("deploy_with_two_names", "/gate deploy prod staging", [("usage", "deploy", 1)]),
]

MENTIONS = [
    ("mention", "@gatebot merge", MERGE),
    ("mention_any_case", "@GateBot MERGE", MERGE),
    ("mention_with_bot_suffix", "@gatebot[bot] merge", MERGE),
    ("mention_with_colon", "@gatebot: merge", MERGE),
    ("mention_with_comma", "@gatebot, merge", MERGE),
    ("bare_mention_means_help", "@gatebot", [("help", "", 1)]),
    ("mention_of_a_longer_login", "@gatebotx merge", []),
    ("mention_of_someone_else", "@alice merge", []),
    ("mention_mid_line", "thanks @gatebot merge", []),
    ("mention_in_a_quote", "> @gatebot merge", []),
    ("mention_and_prefix_together", "@gatebot hold\n/gate unhold", [("hold", "", 1), ("unhold", "", 2)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in GRAMMAR],
)
def test_command_grammar(body, expected):
    assert summary(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in MENTIONS],
)
def test_mentions_of_the_app(body, expected):
    assert summary(body, mentions=["gatebot"]) == expected


@pytest.mark.parametrize("name", [s.name for s in KNOWN_COMMANDS if s.arguments == "none"])
def test_every_command_without_arguments_parses(name):
    assert summary(f"/gate {name}") == [(name, "", 1)]


@pytest.mark.parametrize(
    "mentions", [["gatebot"], ["@gatebot"], ["gatebot[bot]"], ["GateBot"], ["alice", "gatebot"]]
)
def test_mention_spellings_all_answer_to_both_forms(mentions):
    body = "@gatebot merge\n@gatebot[bot] hold"
    assert summary(body, mentions=mentions) == [("merge", "", 1), ("hold", "", 2)]


def test_mentions_are_ignored_unless_configured():
    assert summary("@gatebot merge") == []


def test_custom_prefix_replaces_the_default():
    body = "!ship merge\n/gate hold\n!SHIP deploy prod"
    assert summary(body, prefix="!ship") == [("merge", "", 1), ("deploy", "prod", 3)]


@pytest.mark.parametrize("prefix", ["", "/ gate", "/gate\n"])
def test_invalid_prefix_is_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        parse_commands("/gate merge", prefix=prefix)


@pytest.mark.parametrize("mention", ["", "@", "[bot]", "gate bot"])
def test_invalid_mention_is_refused(mention):
    with pytest.raises(ValueError, match="mention"):
        parse_commands("/gate merge", mentions=[mention])


def test_command_carries_the_stripped_source_line():
    [item] = parse_commands("intro\n  /Gate Override  flaky runner \r\n")
    assert item == Command("override", "flaky runner", 2, "/Gate Override  flaky runner")


def test_override_without_reason_says_how_to_give_one():
    [item] = parse_commands("/gate override")
    assert item == CommandError(
        "usage",
        "override",
        "override needs a reason: `/gate override <reason>`",
        None,
        1,
        "/gate override",
    )


def test_usage_error_names_the_usage_with_the_configured_prefix():
    [item] = parse_commands("!ship merge now", prefix="!ship")
    assert item.message == "merge takes no arguments: `!ship merge`"


def test_deploy_usage_errors_name_the_usage():
    [two, bad] = parse_commands("/gate deploy a b\n/gate deploy PROD")
    assert two.message == "deploy takes at most one deploy name: `/gate deploy [name]`"
    assert bad.message.startswith("`PROD` is not a deploy name")
    assert bad.message.endswith("`/gate deploy [name]`")


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [("merg", "merge"), ("mrege", "merge"), ("stauts", "status"), ("halp", "help"),
     ("unhld", "unhold"), ("deplyo", "deploy"), ("overide", "override"), ("xyzzy", None)],
)
def test_unknown_command_suggests_the_closest_name(typed, suggestion):
    [item] = parse_commands(f"/gate {typed}")
    assert isinstance(item, CommandError)
    assert (item.kind, item.word, item.suggestion) == ("unknown", typed, suggestion)


def test_unknown_command_message_has_the_suggestion_and_every_known_command():
    [item] = parse_commands("/gate merg")
    assert item.message.startswith("Unknown command `merg`. Did you mean `/gate merge`?")
    for name in COMMAND_NAMES:
        assert f"`{name}`" in item.message


def test_unknown_command_without_a_close_name_suggests_nothing():
    [item] = parse_commands("/gate xyzzy")
    assert "Did you mean" not in item.message
    assert item.message.startswith("Unknown command `xyzzy`. Known commands: `help`")


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [("a``b`@alice", "```a``b`@alice```"), ("`merge`", "`` `merge` ``")],
)
def test_echoed_word_cannot_break_out_of_its_code_span(typed, quoted):
    [item] = parse_commands(f"/gate {typed}")
    assert item.message.startswith(f"Unknown command {quoted}.")


def test_echoed_word_is_cut_to_the_echo_limit():
    [item] = parse_commands("/gate " + "x" * 500)
    assert len(item.word) == MAX_ECHO_CHARS
    assert item.word.endswith("…")
    assert "x" * MAX_ECHO_CHARS not in item.message


def test_at_most_max_commands_are_returned():
    body = "/gate recheck\n" * (MAX_COMMANDS + 5)
    items = parse_commands(body)
    assert [i.line for i in items] == list(range(1, MAX_COMMANDS + 1))


def test_errors_count_towards_the_command_limit():
    body = "/gate nope\n" * MAX_COMMANDS + "/gate merge"
    assert all(isinstance(i, CommandError) for i in parse_commands(body))


def test_body_over_the_size_cap_is_not_parsed():
    body = "/gate merge\n" + "x" * MAX_BODY_CHARS
    assert parse_commands(body) == []


def test_body_at_the_size_cap_is_parsed():
    body = "/gate merge\n"
    body += "x" * (MAX_BODY_CHARS - len(body))
    assert summary(body) == MERGE


def test_results_are_frozen():
    [item] = parse_commands("/gate merge")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "deploy"  # type: ignore[misc]


def test_known_commands_are_listed_in_help_order_with_default_permissions():
    permissions = {spec.name: spec.permission for spec in KNOWN_COMMANDS}
    assert COMMAND_NAMES == (
        "help", "status", "recheck", "merge", "cancel", "hold", "unhold", "deploy", "override",
    )
    assert permissions == {
        "help": "read", "status": "read", "recheck": "read",
        "merge": "write", "cancel": "write", "hold": "write", "unhold": "write",
        "deploy": "maintain", "override": "admin",
    }
    assert all(spec.summary and "\n" not in spec.summary for spec in KNOWN_COMMANDS)


def test_known_commands_match_the_policy_file_command_names():
    from bot.core.policy.models import COMMAND_NAMES as POLICY_COMMAND_NAMES
    from bot.core.policy.models import PERMISSION_ORDER

    assert COMMAND_NAMES == POLICY_COMMAND_NAMES
    assert {spec.permission for spec in KNOWN_COMMANDS} <= set(PERMISSION_ORDER)


def test_usage_lines_use_the_given_prefix():
    assert usage("deploy") == "/gate deploy [name]"
    assert usage("override", "!ship") == "!ship override <reason>"
    assert COMMANDS_BY_NAME["merge"].usage == "merge"


ADVERSARIAL = {
    "backtick_runs_of_every_length": "".join("`" * k + " " for k in range(1, 360)) * 2,
    "one_backtick_per_line": "`\n" * (MAX_BODY_CHARS // 2),
    "unclosed_tags": "a <a " * (MAX_BODY_CHARS // 5),
    "unclosed_image_brackets": "![" * (MAX_BODY_CHARS // 2),
    "unclosed_link_destinations": "](" * (MAX_BODY_CHARS // 2),
    "headings_with_backticks": "# `\n" * (MAX_BODY_CHARS // 4),
    "quote_lines": "> a\n" * (MAX_BODY_CHARS // 4),
    "list_fences": "- ```\n" * (MAX_BODY_CHARS // 6),
    "backslashes": "\\" * MAX_BODY_CHARS,
    "command_lines": "/gate merge please\n" * (MAX_BODY_CHARS // 19),
}


@pytest.mark.parametrize("body", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_bodies_parse_to_at_most_the_command_cap(body):
    # Their parse time is measured by tests/bench/bench_commands.py, not here.
    body = ("/gate " + body)[:MAX_BODY_CHARS]
    results = parse_commands(body)
    assert len(results) <= MAX_COMMANDS
    assert all(1 <= item.line <= body.count("\n") + 1 for item in results)


MARKDOWN_PIECES = st.sampled_from([
    "/gate", "/GATE", " merge", " deploy", " override", " x", "@gatebot", "[bot]", "\n", "\r\n",
    "\r", "\n\n", "```", "~~~", "> ", "<!--", "-->", "`", "``", "    ", "\t", "\u00a0", "<a ",
    '"', "'", ">", "![", "](", ")", "[x]: ", "- ", "1. ", "# ", "===", "\\", "<script>",
    "</script>",
])
MARKDOWNISH = st.lists(MARKDOWN_PIECES | st.text(max_size=4), max_size=60).map("".join)
COMMAND_LINES = st.lists(
    st.sampled_from(["/gate merge", "/gate deploy prod", "@gatebot hold", "/gate", "/gate zzz"]),
    min_size=1,
    max_size=5,
).map("\n".join)


@settings(max_examples=400)
@given(MARKDOWNISH | st.text())
def test_any_text_parses_to_items_on_real_lines(body):
    items = parse_commands(body, mentions=["gatebot"])
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert len(items) <= MAX_COMMANDS
    for item in items:
        assert isinstance(item, Command | CommandError)
        assert 1 <= item.line <= line_count(body)
        assert item.raw == lines[item.line - 1].strip()


@given(COMMAND_LINES)
def test_each_visible_command_line_yields_one_item(commands):
    assert len(parse_commands(commands, mentions=["gatebot"])) == len(commands.split("\n"))
