"""RE2 regular expressions for policy patterns: linear time on attacker input.

PR titles and comment bodies are written by whoever opens the PR, so every
policy regex runs on RE2 (no backtracking). Patterns are searched, not
anchored, and case-sensitive unless they say `(?i)`.
"""

from __future__ import annotations

from functools import lru_cache

import re2

_OPTIONS = re2.Options()
# RE2 otherwise writes every rejected pattern to stderr through absl logging.
_OPTIONS.log_errors = False


class RegexError(ValueError):
    """The pattern is not valid RE2 syntax; the message says why."""


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re2._Regexp:
    """Compile `pattern` with RE2, raising RegexError with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(f"`{pattern}` is not a valid RE2 regular expression: {reason}") from None


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches anywhere in `text`."""
    return compile_regex(pattern).search(text) is not None
