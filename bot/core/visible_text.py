"""Which text of a Markdown comment a reader sees: the line starts GitHub shows as plain text.

`visible_line_starts(text)` yields ``(number, line)`` for each line of `text`
whose start a reader of the rendered comment sees as ordinary text. The
comment grammar (`bot.core.commands`) looks for commands only on those lines.

Ignored: block quotes (``>`` lines and the lazy lines that continue a quoted
paragraph), fenced code (````` and ``~~~``; a fence never closed runs to the
end of the comment), indented code (4+ columns after a blank line or at the
start), inline code spans that carry over from a previous line, and
everything GitHub hides: HTML comments, processing instructions and
declarations, the contents of ``<script>``, ``<style>`` and similar elements
(and of ``<pre>`` and ``<code>``, which show as code), attribute values, image
alt text, link destinations and titles, and link reference definitions. Where
the renderer is hard to predict (an unclosed ``<!--``, a ``<`` that may open a
tag), the scanner errs towards ignoring: a command the user sees but the bot
ignores gets no reaction and is simply posted again, whereas a hidden command
that runs is a surprise with someone else's permissions.

Comment bodies are attacker input: the work is linear in the size of the
text. No regular expression with backtracking runs on it, and every scan
moves forward.

Lines are split on ``\\n`` only (callers turn ``\\r\\n`` and lone ``\\r`` into
``\\n`` first); line numbers are 1-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """`text` with only the ASCII letters lowercased.

    str.lower() can change a string's length ("İ") and folds look-alikes
    (Kelvin sign -> "k"); positions must line up and triggers must be plain.
    """
    return text.translate(_ASCII_LOWER)


def visible_line_starts(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) for each line of `text` whose start a reader sees as plain text."""
    return _VisibleLines(text, ascii_lower(text)).line_starts()


# Elements whose content GitHub drops or shows as code: a command inside
# them is hidden or quoted, never plain text.
_CONCEALING_ELEMENTS = frozenset({
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
    "noscript", "plaintext", "template", "svg", "math", "pre", "code",
})
# A character class only: the search cannot backtrack.
_INLINE_SPECIAL = re.compile(r"[\\`<!\[\]]")


Container = Literal["top", "quote", "list"]


@dataclass
class _Fence:
    char: str
    length: int
    container: Container
    indent: int


class _BacktickRuns:
    """Maximal backtick runs by length, to find a code span's closer in O(1) amortised.

    Lookups come with ever-increasing positions, so each length keeps a
    cursor that only moves forward.
    """

    def __init__(self, text: str) -> None:
        self._runs: dict[int, list[int]] = {}
        self._cursor: dict[int, int] = {}
        i = text.find("`")
        while i >= 0:
            j = i
            while j < len(text) and text[j] == "`":
                j += 1
            self._runs.setdefault(j - i, []).append(i)
            i = text.find("`", j)

    def next_run(self, length: int, after: int, before: int) -> int | None:
        runs = self._runs.get(length)
        if runs is None:
            return None
        k = self._cursor.get(length, 0)
        while k < len(runs) and runs[k] < after:
            k += 1
        self._cursor[length] = k
        return runs[k] if k < len(runs) and runs[k] < before else None


class _VisibleLines:
    """A forward-only model of how GitHub renders a comment, line by line.

    Block structure (quotes, fences, indented code) is decided per line;
    inline constructs that can run over several lines (code spans, HTML,
    image alt text, link destinations) are tracked as absolute positions or
    small counters. A paragraph break ends inline constructs, except raw
    HTML, which the browser-side parse carries on.
    """

    def __init__(self, text: str, lowered: str) -> None:
        self.text = text
        self.lowered = lowered
        self.backticks = _BacktickRuns(text)
        self.fence: _Fence | None = None
        self.indented_code = False
        self.paragraph = False
        self.quote_paragraph = False
        self.definition = False
        self.hidden_until = 0
        self.code_until = 0
        self.paragraph_end = 0
        self.in_tag = False
        self.tag_quote = ""
        self.tag_after_equals = False
        self.tag_outlives_paragraph = False
        self.alt_depth = 0
        self.destination_depth = 0
        self.destination_quote = ""

    def line_starts(self) -> Iterator[tuple[int, str]]:
        """(number, line) for each line whose start a reader sees as plain text."""
        lines = self.text.split("\n")
        blank_after = _next_blank_starts(lines)
        start = 0
        for number, line in enumerate(lines, start=1):
            self.paragraph_end = blank_after[number - 1]
            if self._plain_line_start(line, start, start + len(line)):
                yield number, line
            start += len(line) + 1

    # Block structure ---------------------------------------------------------

    def _plain_line_start(self, line: str, start: int, end: int) -> bool:
        if self.hidden_until > start:
            self._scan(start, end, block_start=-1)
            self.paragraph = self.quote_paragraph = False
            return False
        if self.fence is not None:
            if self._fence_goes_on(line):
                return False
            self._end_paragraph()
        if _is_blank(line):
            self.paragraph = self.quote_paragraph = False
            self._end_paragraph()
            return False
        columns, offset = _indentation(line)
        if columns >= 4 and (self.indented_code or not self.paragraph):
            self.indented_code = True
            return False
        self.indented_code = False
        if columns <= 3 and self._opens_block(line, start, end, offset):
            return False
        if self.quote_paragraph:
            self._scan(start + offset, end, block_start=-1)
            return False
        return self._text_line(line, start, end, columns, offset)

    def _fence_goes_on(self, line: str) -> bool:
        """Whether `line` is still inside the open fence (closing it if it closes it)."""
        fence = self.fence
        assert fence is not None
        content = line
        if fence.container == "quote":
            content_at = _quote_content_offset(line)
            if content_at is None:
                self.fence = None
                return False
            content = line[content_at:]
        columns, offset = _indentation(content)
        deepest_closer = 3
        if fence.container == "list":
            if not _is_blank(line) and columns < fence.indent:
                self.fence = None
                return False
            deepest_closer = fence.indent + 3
        if columns <= deepest_closer and _closes_fence(content[offset:], fence):
            self.fence = None
            self.paragraph = False
        return True

    def _opens_block(self, line: str, start: int, end: int, offset: int) -> bool:
        """Handle a quote line or a fence opener; False for any other line."""
        content_at = _quote_content_offset(line)
        if content_at is not None:
            content = line[content_at:]
            stripped = content.lstrip(" \t")
            opener = _fence_opener(stripped)
            if opener is not None:
                self._open_fence(opener, "quote", 0)
            elif _is_blank(content):
                self.paragraph = self.quote_paragraph = False
                self._end_paragraph()
            else:
                if not self.quote_paragraph:
                    self._end_paragraph()
                block_start = start + len(line) - len(stripped)
                self._scan(start + content_at, end, block_start=block_start)
                self.paragraph = self.quote_paragraph = True
            return True
        opener = _fence_opener(line[offset:])
        if opener is not None:
            self._open_fence(opener, "top", _indentation(line)[0])
            return True
        listed = _list_item_fence(line)
        if listed is not None:
            opener, content_indent = listed
            self._open_fence(opener, "list", content_indent)
            return True
        return False

    def _open_fence(self, opener: tuple[str, int], container: Container, indent: int) -> None:
        char, length = opener
        self.fence = _Fence(char, length, container, indent)
        self.paragraph = self.quote_paragraph = False
        self._end_paragraph()

    def _text_line(self, line: str, start: int, end: int, columns: int, offset: int) -> bool:
        if not self.paragraph:
            self._end_paragraph()
        plain = (
            self.code_until <= start
            and not self.in_tag
            and self.alt_depth == 0
            and self.destination_depth == 0
            and not self.definition
        )
        content = line[offset:]
        ends_paragraph = (
            _is_atx_heading(content)
            or _is_thematic_break(content)
            or (self.paragraph and _is_setext_equals(content))
        )
        if not self.paragraph and columns <= 3 and content.startswith("[") and "]:" in content:
            self.definition = True
        self._scan(start + offset, end, block_start=start + offset if columns <= 3 else -1)
        self.paragraph = not ends_paragraph
        if ends_paragraph:
            self._end_paragraph()
        return plain

    def _end_paragraph(self) -> None:
        self.code_until = 0
        self.alt_depth = 0
        self.destination_depth = 0
        self.destination_quote = ""
        self.definition = False
        if self.in_tag and not self.tag_outlives_paragraph:
            self.in_tag = False

    # Inline constructs -------------------------------------------------------

    def _scan(self, i: int, end: int, block_start: int) -> None:
        """Advance the inline state over text[i:end] (one line's content)."""
        text = self.text
        i = max(i, self.hidden_until, self.code_until)
        while i < end:
            if self.in_tag:
                i = self._scan_tag(i, end)
                continue
            if self.destination_depth:
                i = self._scan_destination(i, end)
                continue
            found = _INLINE_SPECIAL.search(text, i, end)
            if found is None:
                return
            i = found.start()
            c = text[i]
            if c == "\\":
                i += 2
            elif c == "`":
                i = self._backticks(i)
            elif c == "<":
                i = self._angle(i, at_block_start=i == block_start)
            elif c == "!":
                if text.startswith("[", i + 1):
                    self.alt_depth += 1
                    i += 1
                i += 1
            elif c == "[":
                if self.alt_depth:
                    self.alt_depth += 1
                i += 1
            else:
                if self.alt_depth:
                    self.alt_depth -= 1
                if text.startswith("(", i + 1):
                    self.destination_depth = 1
                    i += 1
                i += 1

    def _backticks(self, i: int) -> int:
        text = self.text
        j = i
        while j < len(text) and text[j] == "`":
            j += 1
        closer = self.backticks.next_run(j - i, after=j, before=self.paragraph_end)
        if closer is None:
            return j
        self.code_until = closer + (j - i)
        return self.code_until

    def _angle(self, i: int, *, at_block_start: bool) -> int:
        lowered = self.lowered
        if lowered.startswith("<!--", i):
            return self._hide_through("-->", i + 4)
        if lowered.startswith("<?", i):
            return self._hide_through("?>", i + 2)
        if lowered.startswith("<![cdata[", i):
            return self._hide_through("]]>", i + 9)
        if lowered.startswith("<!", i) and lowered[i + 2 : i + 3].isalpha():
            return self._hide_through(">", i + 2)
        name_at = i + 2 if lowered.startswith("</", i) else i + 1
        name_end = name_at
        while name_end < len(lowered) and (
            lowered[name_end].isascii() and (lowered[name_end].isalnum() or lowered[name_end] == "-")
        ):
            name_end += 1
        if name_end == name_at or not lowered[name_at].isalpha():
            return i + 1
        name = lowered[name_at:name_end]
        opening = name_at == i + 1
        if opening and name in _CONCEALING_ELEMENTS and lowered[name_end : name_end + 1] in (
            "", " ", "\t", "\n", ">", "/"
        ):
            closing = lowered.find("</" + name, name_end)
            return self._hide_through(">", closing) if closing >= 0 else self._hide_all()
        self.in_tag = True
        self.tag_quote = ""
        self.tag_after_equals = False
        self.tag_outlives_paragraph = at_block_start
        return name_end

    def _hide_through(self, terminator: str, search_from: int) -> int:
        found = self.lowered.find(terminator, search_from)
        if found < 0:
            return self._hide_all()
        self.hidden_until = found + len(terminator)
        return self.hidden_until

    def _hide_all(self) -> int:
        self.hidden_until = len(self.text)
        return self.hidden_until

    def _scan_tag(self, i: int, end: int) -> int:
        text = self.text
        while i < end:
            if self.tag_quote:
                closing = text.find(self.tag_quote, i, end)
                if closing < 0:
                    return end
                self.tag_quote = ""
                self.tag_after_equals = False
                i = closing + 1
                continue
            c = text[i]
            if c == ">":
                self.in_tag = False
                return i + 1
            if c == "=":
                self.tag_after_equals = True
            elif self.tag_after_equals and c in "\"'":
                self.tag_quote = c
            elif not c.isspace():
                self.tag_after_equals = False
            i += 1
        return i

    def _scan_destination(self, i: int, end: int) -> int:
        text = self.text
        while i < end:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if self.destination_quote:
                if c == self.destination_quote:
                    self.destination_quote = ""
            elif c in "\"'":
                self.destination_quote = c
            elif c == "(":
                self.destination_depth += 1
            elif c == ")":
                self.destination_depth -= 1
                if self.destination_depth == 0:
                    return i + 1
            i += 1
        return i


# --- line classification helpers --------------------------------------------


def _next_blank_starts(lines: list[str]) -> list[int]:
    """For each line, where the next blank line starts (or the text's end)."""
    starts: list[int] = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    result = [0] * len(lines)
    following = position - 1
    for k in range(len(lines) - 1, -1, -1):
        result[k] = following
        if _is_blank(lines[k]):
            following = starts[k]
    return result


def _is_blank(line: str) -> bool:
    return not line.strip(" \t")


def _indentation(line: str) -> tuple[int, int]:
    """(columns, characters) of leading spaces and tabs; tabs stop every 4 columns."""
    columns = offset = 0
    while offset < len(line) and line[offset] in " \t":
        columns = columns + 4 - columns % 4 if line[offset] == "\t" else columns + 1
        offset += 1
    return columns, offset


def _columns(text: str) -> int:
    """How many columns `text` spans from the line start; tabs stop every 4 columns."""
    columns = 0
    for c in text:
        columns = columns + 4 - columns % 4 if c == "\t" else columns + 1
    return columns


def _quote_content_offset(line: str) -> int | None:
    """Where a block quote line's content starts (after every `>`), or None."""
    i = 0
    quoted = False
    while True:
        j = i
        while j < len(line) and j - i < 3 and line[j] == " ":
            j += 1
        if j >= len(line) or line[j] != ">":
            return i if quoted else None
        quoted = True
        i = j + 1
        if i < len(line) and line[i] in " \t":
            i += 1


def _fence_opener(content: str) -> tuple[str, int] | None:
    if not content or content[0] not in "`~":
        return None
    char = content[0]
    length = len(content) - len(content.lstrip(char))
    if length < 3 or (char == "`" and "`" in content[length:]):
        return None
    return char, length


def _closes_fence(content: str, fence: _Fence) -> bool:
    length = len(content) - len(content.lstrip(fence.char))
    return length >= fence.length and _is_blank(content[length:])


def _list_item_fence(line: str) -> tuple[tuple[str, int], int] | None:
    """A fence opened inside a list item (``- ```...``), with the item's content column."""
    columns, i = _indentation(line)
    if columns > 3:
        return None
    listed = False
    while True:
        j = i
        if j < len(line) and line[j] in "-*+":
            j += 1
        else:
            while j < len(line) and j - i < 9 and line[j].isascii() and line[j].isdigit():
                j += 1
            if j == i or j >= len(line) or line[j] not in ".)":
                break
            j += 1
        k = j
        while k < len(line) and k - j < 4 and line[k] in " \t":
            k += 1
        if k == j:
            break
        listed = True
        i = k
    if not listed:
        return None
    opener = _fence_opener(line[i:])
    if opener is None:
        return None
    return opener, _columns(line[:i])


def _is_atx_heading(content: str) -> bool:
    hashes = len(content) - len(content.lstrip("#"))
    return 1 <= hashes <= 6 and (len(content) == hashes or content[hashes] in " \t")


def _is_thematic_break(content: str) -> bool:
    if not content or content[0] not in "-*_":
        return False
    marks = content.replace(" ", "").replace("\t", "")
    return len(marks) >= 3 and marks == content[0] * len(marks)


def _is_setext_equals(content: str) -> bool:
    marks = content.rstrip(" \t")
    return bool(marks) and marks == "=" * len(marks)
