"""The visible-text scanner: commands a reader of the rendered comment cannot see never run.

`bot.core.visible_text` decides which line starts are plain text; these tests
go through `parse_commands`, which only reads those lines.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import Command, parse_commands
from bot.core.visible_text import ascii_lower, visible_line_starts


def summary(body: str, **kwargs) -> list[tuple[str, str, int]]:
    """(name, args, line) per command; (kind, word, line) per error."""
    out = []
    for item in parse_commands(body, **kwargs):
        if isinstance(item, Command):
            out.append((item.name, item.args, item.line))
        else:
            out.append((item.kind, item.word, item.line))
    return out


COMMAND_LINES = st.lists(
    st.sampled_from(["/gate merge", "/gate deploy prod", "@gatebot hold", "/gate", "/gate zzz"]),
    min_size=1,
    max_size=5,
).map("\n".join)

QUOTES_AND_CODE = [
    ("blockquote", "> /gate merge", []),
    ("blockquote_without_space", ">/gate merge", []),
    ("nested_blockquote", "> > /gate merge", []),
    ("indented_blockquote", "   > /gate merge", []),
    ("lazy_continuation_of_a_quote", "> I said\n/gate merge", []),
    ("after_a_quote_and_a_blank_line", "> I said\n\n/gate merge", [("merge", "", 3)]),
    ("after_an_empty_quote_line", ">\n/gate merge", [("merge", "", 2)]),
    ("backtick_fence", "```\n/gate merge\n```\n/gate hold", [("hold", "", 4)]),
    ("tilde_fence", "~~~\n/gate merge\n~~~\n/gate hold", [("hold", "", 4)]),
    ("fence_with_info_string", "```console\n$ /gate merge\n/gate merge\n```", []),
    ("fence_never_closed", "```\n/gate merge", []),
    ("fence_never_closed_hides_everything_after", "```\nx\n\n\n/gate merge", []),
    ("shorter_closer_does_not_close", "````\n```\n/gate merge\n````\n/gate hold",
     [("hold", "", 5)]),
    ("other_fence_character_does_not_close", "```\n~~~\n/gate merge", []),
    ("closer_indented_four_spaces_does_not_close", "```\n    ```\n/gate merge", []),
    ("indented_fence", "   ```\n/gate merge\n   ```\n/gate hold", [("hold", "", 4)]),
    ("two_backticks_are_not_a_fence", "``\n/gate merge", [("merge", "", 2)]),
    ("fence_inside_a_quote_ends_with_the_quote", "> ```\n> /gate merge\n\n/gate hold",
     [("hold", "", 4)]),
    ("fence_inside_a_list_item", "- ```\n  /gate merge\n  ```\n/gate hold", [("hold", "", 4)]),
    ("fence_inside_a_list_item_ends_with_the_item", "1. ```\n   /gate merge\n/gate hold",
     [("hold", "", 3)]),
    ("indented_code_at_the_start", "    /gate merge", []),
    ("indented_code_after_a_blank_line", "text\n\n    /gate merge", []),
    ("indented_code_with_a_tab", "\t/gate merge", []),
    ("indented_code_spans_blank_lines", "    code\n\n    /gate merge", []),
    ("indented_line_continuing_a_paragraph", "text\n    /gate merge", [("merge", "", 2)]),
    ("indented_code_after_a_heading", "# Title\n    /gate merge", []),
    ("three_spaces_is_not_code", "text\n\n   /gate merge", [("merge", "", 3)]),
    ("inline_code_on_the_line", "`/gate merge`", []),
    ("inline_code_carried_over_from_the_previous_line", "see `x\n/gate merge` y", []),
    ("double_backtick_code_span", "`` a ` b\n/gate merge ``", []),
    ("unmatched_backtick_does_not_hide", "don`t\n/gate merge", [("merge", "", 2)]),
    ("escaped_backtick_opens_no_code_span", "\\`x\n/gate merge\n`", [("merge", "", 2)]),
    ("code_span_ends_at_a_blank_line", "a `b\n\n/gate merge\n`", [("merge", "", 3)]),
    ("code_span_closed_before_the_line", "`x`\n/gate merge", [("merge", "", 2)]),
]

HIDDEN = [
    ("html_comment_on_one_line", "<!-- /gate merge -->", []),
    ("html_comment_over_lines", "<!--\n/gate merge\n-->\n/gate hold", [("hold", "", 4)]),
    ("html_comment_never_closed", "<!--\n/gate merge", []),
    ("html_comment_opened_mid_paragraph", "note <!--\n/gate merge\n-->", []),
    ("html_comment_inside_a_quote_hides_what_follows", "> <!--\n\n/gate merge", []),
    ("html_comment_closed_before_the_line", "<!-- x -->\n/gate merge", [("merge", "", 2)]),
    ("html_comment_inside_code_is_literal", "`<!--`\n/gate merge", [("merge", "", 2)]),
    ("html_comment_inside_a_fence_is_literal", "```\n<!--\n```\n/gate merge",
     [("merge", "", 4)]),
    ("processing_instruction", "<?\n/gate merge\n?>", []),
    ("script_element", "<script>\n/gate merge\n</script>\n/gate hold", [("hold", "", 4)]),
    ("style_element_never_closed", "<style>\n\n/gate merge", []),
    ("pre_element", "<PRE>\n/gate merge\n</pre>\n\n/gate hold", [("hold", "", 5)]),
    ("attribute_value", '<img alt="\n/gate merge\n">\n/gate hold', [("hold", "", 4)]),
    ("closed_tag_does_not_hide", "<b>note</b>\n/gate merge", [("merge", "", 2)]),
    ("details_block_does_not_hide", "<details>\n<summary>x</summary>\n\n/gate merge\n</details>",
     [("merge", "", 4)]),
    ("image_alt_text", "![\n/gate merge\n](x.png)", []),
    ("link_title", '[docs](https://example.com "\n/gate merge\n")', []),
    ("link_reference_definition_title", "[x]: /url '\n/gate merge\n'", []),
    ("link_closed_before_the_line", "[docs](https://example.com)\n/gate merge",
     [("merge", "", 2)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in QUOTES_AND_CODE],
)
def test_quotes_and_code_are_ignored(body, expected):
    assert summary(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in HIDDEN],
)
def test_text_github_hides_is_ignored(body, expected):
    assert summary(body) == expected


@given(COMMAND_LINES, st.sampled_from(["```", "~~~", "````"]))
def test_commands_in_a_fence_never_run(commands, fence):
    assert parse_commands(f"{fence}\n{commands}\n{fence}", mentions=["gatebot"]) == []


@given(COMMAND_LINES)
def test_quoted_commands_never_run(commands):
    quoted = "\n".join("> " + line for line in commands.split("\n"))
    assert parse_commands(quoted, mentions=["gatebot"]) == []


@given(COMMAND_LINES)
def test_commands_in_an_html_comment_never_run(commands):
    assert parse_commands(f"<!--\n{commands}\n-->", mentions=["gatebot"]) == []


def test_visible_line_starts_numbers_lines_from_one_and_skips_hidden_ones():
    text = "intro\n> quoted\n\n```\ncode\n```\n<!--\nhidden\n-->\n\nshown"
    assert list(visible_line_starts(text)) == [(1, "intro"), (7, "<!--"), (11, "shown")]


def test_ascii_lower_folds_only_ascii_letters():
    assert ascii_lower("GATE \u212a \u0130") == "gate \u212a \u0130"
