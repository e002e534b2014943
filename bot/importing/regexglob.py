"""Regular expressions over paths and branch names, rewritten as gatebot globs.

policy-bot and bulldozer match files and branches with regular expressions;
gatebot matches them with globs. Only the regexes made of literal text,
`.*` / `.+`, `.`, the `^` / `$` anchors and groups of literal alternatives
(`^(main|master)$`) have an exact glob; anything else (classes, counted
repeats, `\\d`, flags) is refused, so the import never guesses.

Path globs follow gitignore (a matching directory also matches every file
under it); the conversions below rely on that: a trailing `.*` becomes a
trailing `*` because the files below are matched through their directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.core.globs import GlobError, validate_path_glob, validate_ref_glob

_MAX_ALTERNATIVES = 32
_ESCAPABLE = set(".-/_\\^$|()[]{}*+?# !@:=,~&%'\"<>`;")


class NoGlob(ValueError):
    """The regex has no exact glob; the message says what stands in the way."""


@dataclass(frozen=True)
class _Any:
    """`.*` (or `.+`): any run of characters, `/` included."""


@dataclass(frozen=True)
class _Dot:
    """`.` alone: any one character."""


_Token = str | _Any | _Dot


@dataclass(frozen=True)
class Globs:
    """The globs a regex became, and whether a lone `.` was read as `?`."""

    globs: tuple[str, ...]
    dot_as_question_mark: bool


def _split_top(regex: str, sep: str = "|") -> list[str]:
    parts, depth, current, i = [], 0, "", 0
    while i < len(regex):
        char = regex[i]
        if char == "\\" and i + 1 < len(regex):
            current += regex[i : i + 2]
            i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    return parts


def _expand(regex: str) -> list[str]:
    """The regex as alternatives without groups: `^(a|b)/x$` -> `^a/x$`, `^b/x$`."""
    pieces = _split_top(regex)
    if len(pieces) > 1:
        return [alt for piece in pieces for alt in _expand(piece)]
    start = _first_group(regex)
    if start is None:
        return [regex]
    end = _group_end(regex, start)
    inner = regex[start + 1 : end]
    if inner.startswith("?:"):
        inner = inner[2:]
    elif inner.startswith("?"):
        raise NoGlob("flags and special groups such as `(?i)` have no glob")
    out: list[str] = []
    for alternative in _split_top(inner):
        out.extend(_expand(regex[:start] + alternative + regex[end + 1 :]))
        if len(out) > _MAX_ALTERNATIVES:
            raise NoGlob(f"more than {_MAX_ALTERNATIVES} alternatives")
    return out


def _first_group(regex: str) -> int | None:
    i = 0
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
            continue
        if regex[i] == "(":
            return i
        i += 1
    return None


def _group_end(regex: str, start: int) -> int:
    depth, i = 0, start
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
            continue
        if regex[i] == "(":
            depth += 1
        elif regex[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise NoGlob("an unclosed `(`")


def _tokens(piece: str) -> tuple[bool, list[_Token], bool]:
    """(anchored at the start, tokens, anchored at the end) of one group-free alternative."""
    start = piece.startswith("^")
    if start:
        piece = piece[1:]
    end = piece.endswith("$") and not piece.endswith("\\$")
    if end:
        piece = piece[:-1]
    tokens: list[_Token] = []
    i = 0
    while i < len(piece):
        char = piece[i]
        if char == "\\":
            if i + 1 >= len(piece) or piece[i + 1] not in _ESCAPABLE:
                shown = piece[i : i + 2]
                raise NoGlob(f"`{shown}` (a character class) has no glob")
            tokens.append(piece[i + 1])
            i += 2
            continue
        if char == ".":
            if i + 1 < len(piece) and piece[i + 1] in "*+":
                tokens.append(_Any())
                i += 2
                continue
            tokens.append(_Dot())
            i += 1
            continue
        if char in "[]{}*+?^$()|":
            raise NoGlob(f"`{char}` at this place has no glob")
        tokens.append(char)
        i += 1
    return start, tokens, end


def _escape_glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _words(tokens: list[_Token]) -> list[str | _Any | _Dot]:
    """Consecutive literal characters joined into words; repeated `.*` collapsed."""
    out: list[str | _Any | _Dot] = []
    for token in tokens:
        if isinstance(token, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + token
        elif isinstance(token, _Any) and out and isinstance(out[-1], _Any):
            continue
        else:
            out.append(token)
    return out


def _path_alternatives(words: list[str | _Any | _Dot]) -> list[str]:
    """Every path glob one word list needs (a `.*` between literals may need two)."""
    results = [""]
    for index, word in enumerate(words):
        before = words[index - 1] if index else None
        after = words[index + 1] if index + 1 < len(words) else None
        if isinstance(word, str):
            options = [_escape_glob(word)]
        elif isinstance(word, _Dot):
            options = ["?"]
        elif before is None and after is None:
            options = ["**"]
        elif before is None:
            options = ["**/*"]
        elif after is None:
            options = ["**" if isinstance(before, str) and before.endswith("/") else "*"]
        else:
            ends = isinstance(before, str) and before.endswith("/")
            starts = isinstance(after, str) and after.startswith("/")
            if ends:
                options = ["**" if starts else "**/*"]
            elif starts:
                options = ["*/**"]
            else:
                options = ["*", "*/**/*"]
        results = [r + o for r in results for o in options]
    anchored = not (words and isinstance(words[0], _Any))
    return ["/" + r if anchored else r for r in results]


def _searched(regex: str) -> Iterator[list[str | _Any | _Dot]]:
    """The words of each alternative of `regex`, its unanchored ends open: a search
    matches anywhere."""
    for piece in _expand(regex):
        start, tokens, end = _tokens(piece)
        if not start:
            tokens.insert(0, _Any())
        if not end:
            tokens.append(_Any())
        yield _words(tokens)


def _paths(regex: str) -> tuple[list[str], bool]:
    globs: list[str] = []
    dots = False
    for words in _searched(regex):
        dots = dots or any(isinstance(w, _Dot) for w in words)
        globs.extend(_path_alternatives(words))
    return globs, dots


def path_globs(regex: str) -> Globs:
    """Path globs matching what `regex` (searched in a repository path) matches."""
    globs, dots = _paths(regex)
    tidy = []
    for glob in globs:
        # `/docs/**`: the leading `/` only anchors, which the middle `/` already does.
        if glob.startswith("/") and "/" in glob[1:].rstrip("/"):
            glob = glob[1:]
        try:
            validate_path_glob(glob)
        except GlobError as exc:
            raise NoGlob(f"it would become `{glob}`, which is not a usable glob: {exc}") from None
        if glob not in tidy:
            tidy.append(glob)
    return Globs(tuple(tidy), dots)


def ref_globs(regex: str) -> Globs:
    """Branch globs matching the branch names `regex` (searched) matches."""
    out: list[str] = []
    dots = False
    for words in _searched(regex):
        glob = ""
        for word in words:
            if isinstance(word, _Any):
                glob += "**"
            elif isinstance(word, _Dot):
                glob += "?"
                dots = True
            else:
                glob += _escape_glob(word)
        try:
            validate_ref_glob(glob)
        except GlobError as exc:
            raise NoGlob(f"it would become `{glob}`, which is not a usable glob: {exc}") from None
        if glob not in out:
            out.append(glob)
    return Globs(tuple(out), dots)
