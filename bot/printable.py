"""Text from the store made safe to print on a terminal.

Audit entries carry text written by PR authors and commenters (override
reasons, command arguments, logins, branch names). Printed raw, an escape
sequence in them could clear the screen, rewrite earlier lines or hide
text, and a newline could forge a whole audit line. `printable` shows every
control character — C0, DEL, C1, and the Unicode bidirectional controls that
reorder what is displayed — as a visible escape (`\\x1b`, `\\n`, `\\u202e`),
and leaves all other text as it is.
"""

from __future__ import annotations

import unicodedata

# Marks and isolates that change the display order (the "Trojan Source" set).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character replaced by a visible escape."""
    return "".join(
        _escape(char)
        if char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc"
        else char
        for char in text
    )
