"""The merge commit's title and message, from the policy's `merge` section (pure).

- `commit_title` fills the policy's template (`{title}`, `{number}`,
  `{head_ref}`, `{base_ref}`, `{author}`); the loader has already refused
  any other placeholder. Without a template the forge's default title is
  used (None).
- `commit_message`: `body` is the PR description without its HTML comments
  (templates leave `<!-- ... -->` hints there); `commits` lists the PR's
  commit messages; `empty` is nothing. Whatever the choice, every
  `Co-authored-by:` trailer found in the description or the commits is
  kept, once, at the end — a squash must not drop the co-authors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_TRAILER = re.compile(r"^\s*co-authored-by:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class PullFacts:
    """What the templates may name."""

    title: str
    number: int
    head_ref: str
    base_ref: str
    author: str
    body: str
    commit_messages: tuple[str, ...] = ()


def commit_title(template: str | None, pull: PullFacts) -> str | None:
    """The merge commit title, or None for the forge's default."""
    if template is None:
        return None
    values = {
        "title": pull.title,
        "number": str(pull.number),
        "head_ref": pull.head_ref,
        "base_ref": pull.base_ref,
        "author": pull.author,
    }
    # Values are inserted as they are: braces in a PR title are never re-read.
    title = template.format_map(values)
    return " ".join(title.split())


def strip_html_comments(text: str) -> str:
    """`text` without `<!-- ... -->` (an unclosed comment runs to the end)."""
    stripped = _HTML_COMMENT.sub("", text)
    return _BLANK_RUNS.sub("\n\n", stripped).strip()


def co_authors(texts: Sequence[str]) -> list[str]:
    """Every `Co-authored-by:` value in `texts`, first occurrence first, case-insensitively once."""
    seen: dict[str, str] = {}
    for text in texts:
        for match in _TRAILER.finditer(text):
            value = match.group(1)
            seen.setdefault(value.lower(), value)
    return list(seen.values())


def commit_message(mode: str, pull: PullFacts) -> str:
    """The merge commit message for `mode` (`body`, `commits` or `empty`), trailers kept."""
    body = strip_html_comments(pull.body)
    if mode == "body":
        text = _without_trailers(body)
    elif mode == "commits":
        text = "\n\n".join(
            f"* {_without_trailers(m).strip()}" for m in pull.commit_messages if m.strip()
        )
    elif mode == "empty":
        text = ""
    else:
        raise ValueError(f"unknown commit message mode {mode!r}")
    trailers = co_authors([body, *pull.commit_messages])
    lines = "\n".join(f"Co-authored-by: {t}" for t in trailers)
    if text and lines:
        return f"{text}\n\n{lines}"
    return text or lines


def _without_trailers(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", _TRAILER.sub("", text)).strip()
