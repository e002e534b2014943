r"""Glob matching for policy files: path globs for changed files, ref globs for branches.

Path globs (``changed_files``, ``only_changed_files``, ``no_changed_files``,
``ignore``) follow gitignore and match a repository-relative file path
exactly as ``git check-ignore --no-index`` would report it ignored by a
``.gitignore`` holding that one line:

- A pattern without a ``/`` (a trailing ``/`` does not count) matches a name
  at any depth: ``*.md``, ``docs``, ``test_*.py``.
- A leading or middle ``/`` anchors the pattern at the repository root:
  ``/docs``, ``src/*.go``.
- A trailing ``/`` matches directories only; for a file path that means one
  of its parent directories: ``build/``.
- A pattern matches a file when it matches the file itself or any parent
  directory of it, so ``docs``, ``docs/`` and ``docs/**`` all match
  ``docs/a/b.md``.
- ``*`` matches any run of characters except ``/``; ``?`` one character
  except ``/``; ``[abc]``, ``[a-z]``, ``[!a]`` / ``[^a]`` and the POSIX
  classes ``[[:alpha:]]`` (ASCII only) one character except ``/``.
- ``**`` crosses directories only as a whole segment: ``**/x`` (``x`` at any
  depth), ``a/**/b`` (zero or more directories between), ``a/**``
  (everything inside ``a``). Elsewhere ``**`` is a plain ``*``.
- ``\`` escapes the next character: ``\*``, ``\[``, ``\#``, ``\!``, ``\ ``.
- Unescaped trailing spaces are removed, as git does (YAML strings can carry
  them unnoticed); write ``\ `` to keep one.
- Like git, matching works on the UTF-8 bytes of the path: ``?`` and a
  bracket class match one byte, so use ``*`` for non-ASCII names.
- Matching is case-sensitive.

Rejected with a :class:`GlobError` that says how to fix the pattern: an
empty pattern; control characters (NUL, CR, LF); a leading ``!`` (negation:
list the path under ``ignore:`` instead); a leading ``#`` (a comment in
gitignore); an unclosed ``[``; an unknown ``[:class:]``; a lone trailing
``\``; and patterns git can never match (``/`` alone, an empty ``//``
segment, ``.`` or ``..`` segments).

Ref globs (``target_branch``, ``source_branch``, deploy ``branches``) match
the short branch name (``main``, not ``refs/heads/main``) as a whole, in the
style of GitHub branch protection rules:

- ``*`` matches any run of characters except ``/``; ``?`` one character
  except ``/``; ``[...]`` classes as in path globs, never matching ``/``.
- ``**`` matches any run of characters including ``/``; as a whole segment
  followed by ``/`` it also matches no segment at all, so ``release/**/rc``
  matches ``release/rc`` and ``release/1.2/rc``.
- ``\`` escapes the next character. Matching is case-sensitive and works on
  characters.

Branch names cannot contain whitespace or control characters, begin or end
with ``/`` or contain ``//``, so ref globs that do are rejected, as are a
leading ``!`` (use the ``not:`` combinator), a ``refs/heads/`` prefix, and
the bracket and escape errors above.

Compiled globs are immutable and safe to share between threads. Matching
uses RE2, so its cost is linear in the length of the path whatever the
pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import re2

__all__ = [
    "GlobError",
    "PathGlob",
    "PathGlobSet",
    "RefGlob",
    "compile_path_glob",
    "compile_ref_glob",
    "validate_path_glob",
    "validate_ref_glob",
]


class GlobError(ValueError):
    """A glob pattern that cannot be used; the message says what to change."""


_BACKSLASH = ord("\\")
_STAR = ord("*")
_QUESTION = ord("?")
_LBRACKET = ord("[")
_RBRACKET = ord("]")
_BANG = ord("!")
_CARET = ord("^")
_DASH = ord("-")
_COLON = ord(":")
_SLASH = ord("/")
_DOT = ord(".")
_SPACE = ord(" ")

_BYTE_MAX = 0xFF
_CODE_POINT_MAX = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)

# The POSIX classes as git's own ctype table defines them (ASCII only; note
# that git's "space" excludes \v and \f).
_NAMED_CLASSES: dict[str, tuple[tuple[int, int], ...]] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}

_CONTROL_CHARACTERS = ("\x00", "\n", "\r")


# --- tokens ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    unit: int


@dataclass(frozen=True, slots=True)
class _AnyOne:
    pass


@dataclass(frozen=True, slots=True)
class _Stars:
    start: int  # offsets of the run of `*` in the pattern's units
    end: int


@dataclass(frozen=True, slots=True)
class _Class:
    members: tuple[tuple[int, int], ...]
    negated: bool


_Token = _Literal | _AnyOne | _Stars | _Class


def _tokenize(units: Sequence[int], pattern: str) -> list[_Token]:
    """Split a pattern the way git's wildmatch reads it."""
    tokens: list[_Token] = []
    i, n = 0, len(units)
    while i < n:
        unit = units[i]
        if unit == _BACKSLASH:
            if i + 1 >= n:
                raise GlobError(
                    f"`{pattern}` ends with a lone `\\`, which escapes nothing and so never "
                    "matches: remove it, or write `\\\\` to match a backslash"
                )
            tokens.append(_Literal(units[i + 1]))
            i += 2
        elif unit == _QUESTION:
            tokens.append(_AnyOne())
            i += 1
        elif unit == _STAR:
            end = i
            while end < n and units[end] == _STAR:
                end += 1
            tokens.append(_Stars(i, end))
            i = end
        elif unit == _LBRACKET:
            token, i = _parse_class(units, i, pattern)
            tokens.append(token)
        else:
            tokens.append(_Literal(unit))
            i += 1
    return tokens


def _unclosed(pattern: str) -> GlobError:
    return GlobError(
        f"unclosed `[` in `{pattern}`: close the character class with `]`, "
        "or write `\\[` to match a literal `[`"
    )


def _parse_class(units: Sequence[int], i: int, pattern: str) -> tuple[_Class, int]:
    """Read a bracket expression starting at units[i] == '['.

    Mirrors wildmatch: the first member may be `]`; `-` makes a range only
    between two members and not before the closing `]`; `[:name:]` is a
    named class, and a `[:` without a closing `:]` is a literal `[`.
    """
    n = len(units)
    j = i + 1
    if j >= n:
        raise _unclosed(pattern)
    negated = units[j] in (_BANG, _CARET)
    if negated:
        j += 1
    members: list[tuple[int, int]] = []
    previous = 0
    while True:
        if j >= n:
            raise _unclosed(pattern)
        unit = units[j]
        if unit == _BACKSLASH:
            j += 1
            if j >= n:
                raise _unclosed(pattern)
            unit = units[j]
            members.append((unit, unit))
        elif unit == _DASH and previous and j + 1 < n and units[j + 1] != _RBRACKET:
            j += 1
            unit = units[j]
            if unit == _BACKSLASH:
                j += 1
                if j >= n:
                    raise _unclosed(pattern)
                unit = units[j]
            if previous <= unit:
                members.append((previous, unit))
            unit = 0  # a range cannot start another range
        elif unit == _LBRACKET and j + 1 < n and units[j + 1] == _COLON:
            start = j + 2
            close = start
            while close < n and units[close] != _RBRACKET:
                close += 1
            if close >= n:
                raise _unclosed(pattern)
            if close - start - 1 < 0 or units[close - 1] != _COLON:
                members.append((_LBRACKET, _LBRACKET))
            else:
                name = "".join(chr(u) for u in units[start : close - 1])
                if name not in _NAMED_CLASSES:
                    raise GlobError(
                        f"unknown character class `[:{name}:]` in `{pattern}`: use one of "
                        + ", ".join(f"`[:{known}:]`" for known in _NAMED_CLASSES)
                        + ", or write `\\[` to match a literal `[`"
                    )
                members.extend(_NAMED_CLASSES[name])
                unit = 0
                j = close
        else:
            members.append((unit, unit))
        previous = unit
        j += 1
        if j < n and units[j] == _RBRACKET:
            return _Class(tuple(members), negated), j + 1


# --- regex emission --------------------------------------------------------


def _escape(unit: int) -> str:
    character = chr(unit)
    if character.isascii() and (character.isalnum() or character in "_/"):
        return character
    return f"\\x{{{unit:x}}}"


def _class_regex(token: _Class, universe_max: int) -> str:
    intervals = _merge(token.members)
    if token.negated:
        intervals = _complement(intervals, universe_max)
    # A class never matches `/` (git compares with WM_PATHNAME set), and in
    # character mode lone surrogates are not text RE2 can match.
    intervals = _subtract(intervals, (_SLASH, _SLASH))
    if universe_max > _BYTE_MAX:
        intervals = _subtract(intervals, _SURROGATES)
    if not intervals:
        return f"[^\\x{{0}}-\\x{{{universe_max:x}}}]"  # an empty class: never matches
    body = "".join(
        _escape(low) if low == high else f"{_escape(low)}-{_escape(high)}"
        for low, high in intervals
    )
    return f"[{body}]"


def _merge(members: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(members):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _complement(intervals: list[tuple[int, int]], universe_max: int) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    cursor = 0
    for low, high in intervals:
        if low > universe_max:
            break
        if low > cursor:
            result.append((cursor, low - 1))
        cursor = max(cursor, high + 1)
    if cursor <= universe_max:
        result.append((cursor, universe_max))
    return result


def _subtract(intervals: list[tuple[int, int]], hole: tuple[int, int]) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    for low, high in intervals:
        if high < hole[0] or low > hole[1]:
            result.append((low, high))
            continue
        if low < hole[0]:
            result.append((low, hole[0] - 1))
        if high > hole[1]:
            result.append((hole[1] + 1, high))
    return result


_SEGMENT = "[^/]*"  # `*`, and `**` where it is not a whole segment
_ANYTHING = ".*"  # `**` that may cross `/`
_DIRECTORIES = "(?:.*/)?"  # `**/`: zero or more leading directories


def _emit(tokens: list[_Token], star_rule: Callable[[_Stars], str], universe_max: int) -> str:
    """Translate tokens to a regex; star_rule(token) picks the meaning of each `*` run."""
    parts: list[str] = []
    skip_slash = False
    for token in tokens:
        if skip_slash:
            skip_slash = False
            continue
        if isinstance(token, _Literal):
            parts.append(_escape(token.unit))
        elif isinstance(token, _AnyOne):
            parts.append("[^/]")
        elif isinstance(token, _Class):
            parts.append(_class_regex(token, universe_max))
        else:
            meaning = star_rule(token)
            parts.append(meaning)
            skip_slash = meaning == _DIRECTORIES
    return "".join(parts)


# --- path globs ------------------------------------------------------------


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Surrogates outside the range os.fsdecode produces: keep them as
        # their three-byte forms rather than fail on an odd file name.
        return text.encode("utf-8", "surrogatepass")


def _encode_all(texts: Iterable[str]) -> Iterator[bytes]:
    """`_encode` of each text, without a call per text."""
    for text in texts:
        try:
            yield text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            yield text.encode("utf-8", "surrogatepass")


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Drop unescaped trailing spaces, as git does for each .gitignore line."""
    last_space = None
    i, n = 0, len(line)
    while i < n:
        unit = line[i]
        if unit == _SPACE:
            if last_space is None:
                last_space = i
        elif unit == _BACKSLASH:
            i += 1
            if i >= n:
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _check_text(pattern: object, kind: str) -> str:
    if not isinstance(pattern, str):
        raise GlobError(f"a {kind} must be a string, not {type(pattern).__name__}: {pattern!r}")
    if not pattern:
        example = "`docs/**` or `*.md`" if kind == "path glob" else "`main` or `release/*`"
        raise GlobError(f"empty {kind}: write a pattern, for example {example}")
    if any(character in pattern for character in _CONTROL_CHARACTERS):
        raise GlobError(
            f"{kind} {pattern!r} contains a NUL, carriage return or newline: "
            "write one pattern per list item"
        )
    return pattern


def _check_segments(tokens: list[_Token], pattern: str) -> None:
    """Reject literal segments a repository-relative path can never have."""
    segments: list[list[_Token]] = [[]]
    for token in tokens:
        if token == _Literal(_SLASH):
            segments.append([])
        else:
            segments[-1].append(token)
    for segment in segments:
        if not segment:
            raise GlobError(
                f"`{pattern}` contains an empty path segment (`//`), which never matches: "
                "use a single `/`"
            )
        if all(token == _Literal(_DOT) for token in segment) and len(segment) <= 2:
            raise GlobError(
                f"`{pattern}` contains a `.` or `..` path segment, which never matches: paths "
                "are relative to the repository root (write `/docs`, not `./docs`) and "
                "cannot leave it"
            )


def _path_regex(pattern: object) -> bytes:
    """Translate one gitignore line into a regex over a whole file path (UTF-8 bytes)."""
    text = _check_text(pattern, "path glob")
    if text.startswith("#"):
        raise GlobError(
            f"`{text}` starts with `#`, which makes the line a comment in gitignore syntax: "
            f"write `\\{text}` to match a name that starts with `#`"
        )
    body = _trim_trailing_spaces(_encode(text))
    if not body:
        raise GlobError(
            f"path glob {text!r} is only spaces, which gitignore ignores: "
            "write the pattern, for example `docs/**`"
        )
    if body.startswith(b"!"):
        raise GlobError(
            f"`{text}` starts with `!`: negation is not supported here; list the path under "
            f"`ignore:` instead (write `\\{text}` to match a name that starts with `!`)"
        )
    directory_only = body.endswith(b"/")
    if directory_only:
        body = body[:-1]
        # git strips the trailing `/` even when escaped, leaving a lone `\`.
        if (len(body) - len(body.rstrip(b"\\"))) % 2:
            raise GlobError(
                f'`{text}` never matches: git reads the trailing `/` as "directories only" '
                "even after a `\\`, leaving a lone `\\` that escapes nothing; remove the `\\`"
            )
    # git decides "basename or path" by any `/` left, even one inside `[...]`.
    basename = b"/" not in body
    if not basename:
        body = body[1:] if body.startswith(b"/") else body
    if not body:
        raise GlobError(
            f"`{text}` matches nothing: write `**` to match every file, or name a directory "
            "such as `docs/`"
        )
    tokens = _tokenize(body, text)
    _check_segments(tokens, text)

    if basename:
        # Without a `/` git matches the pattern against each name with no
        # special meaning for `**`; a name never contains `/`.
        core = _emit(tokens, lambda _stars: _SEGMENT, _BYTE_MAX)
        regex = _DIRECTORIES + core
    else:
        # git compares the literal head of the pattern (up to the first
        # `*?[\`) directly and runs wildmatch on the rest, so a `**` right
        # after that head counts as "at the start of the pattern".
        head = next((i for i, u in enumerate(body) if u in b"*?[\\"), len(body))

        def star_rule(stars: _Stars) -> str:
            if stars.end - stars.start < 2:
                return _SEGMENT
            if not (stars.start == head or body[stars.start - 1] == _SLASH):
                return _SEGMENT
            if stars.end == len(body):
                return _ANYTHING
            if body[stars.end] == _SLASH:
                return _DIRECTORIES
            if body[stars.end : stars.end + 2] == b"\\/":
                # git only tries the "no directory" shortcut for an unescaped `/`.
                return _ANYTHING
            return _SEGMENT

        regex = _emit(tokens, star_rule, _BYTE_MAX)
    # A pattern matches a file if it matches the file or one of its parent
    # directories; a directory-only pattern only the latter.
    regex += "/.*" if directory_only else "(?:/.*)?"
    return regex.encode("ascii")


def _path_options() -> re2.Options:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # one regex character per path byte
    options.dot_nl = True  # file names may contain newlines
    options.never_capture = True
    options.log_errors = False
    options.max_mem = 64 << 20
    return options


class _FullMatcher:
    """Which of several byte regexes match the whole text, in one RE2 pass.

    RE2's multi-pattern matcher answers "no match" when its DFA runs out of
    memory. A final always-matching regex tells the two apart: its absence
    sends the text through the slower single-regex path, which cannot fail.
    """

    __slots__ = ("_regexes", "_sentinel", "_set", "_singles")

    def __init__(self, regexes: Sequence[bytes]) -> None:
        options = _path_options()
        self._regexes = tuple(regexes)
        self._sentinel = len(self._regexes)
        self._singles: tuple[re2._Regexp, ...] | None = None
        matcher = re2.Set.FullMatchSet(options)
        for regex in self._regexes:
            matcher.Add(regex)
        matcher.Add(b".*")
        try:
            matcher.Compile()
        except re2.error:
            self._set = None
            self._singles = self._compile_singles()
        else:
            self._set = matcher

    def _compile_singles(self) -> tuple[re2._Regexp, ...]:
        options = _path_options()
        return tuple(re2.compile(regex, options) for regex in self._regexes)

    def _slow(self, data: bytes) -> list[int]:
        if self._singles is None:
            self._singles = self._compile_singles()
        return [i for i, regex in enumerate(self._singles) if regex.fullmatch(data)]

    def indices(self, data: bytes) -> list[int]:
        found: list[int] | None = self._set.Match(data) if self._set is not None else None
        if not found:
            return self._slow(data)
        found.remove(self._sentinel)
        found.sort()
        return found

    def hits(self, texts: Iterable[bytes], size: int) -> list[list[int]]:
        """For each regex, the positions (ascending) of the texts it matches whole.
        One loop here rather than a call of `indices` per text: policies match
        thousands of paths at once."""
        found_by: list[list[int]] = [[] for _ in range(size)]
        match = self._set.Match if self._set is not None else None
        sentinel = self._sentinel
        for position, data in enumerate(texts):
            found = match(data) if match is not None else None
            if not found:
                found = self._slow(data)
            for index in found:
                if index != sentinel:
                    found_by[index].append(position)
        return found_by

    def any(self, data: bytes) -> bool:
        found = self._set.Match(data) if self._set is not None else None
        if not found:
            return bool(self._slow(data))
        return len(found) > 1


@dataclass(frozen=True, slots=True)
class PathGlob:
    """One gitignore-style pattern, compiled; construct with compile_path_glob()."""

    pattern: str
    _regex: bytes = field(init=False, repr=False, compare=False)
    _matcher: _FullMatcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = _path_regex(self.pattern)
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_matcher", _FullMatcher([regex]))

    def matches(self, path: str) -> bool:
        """True if the repository-relative file path (no leading `/`) or a parent matches."""
        return self._matcher.any(_encode(path))


@functools.lru_cache(maxsize=4096)
def compile_path_glob(pattern: str) -> PathGlob:
    """Compile a gitignore-style path glob; raises GlobError for a bad pattern.

    Results are cached: policies are re-read for every evaluation and name
    the same few patterns.
    """
    return PathGlob(pattern)


def validate_path_glob(pattern: str) -> None:
    """Raise GlobError with a fixable message if pattern is not a usable path glob."""
    _path_regex(pattern)


@dataclass(frozen=True, slots=True)
class PathGlobSet:
    """Several path globs matched together: "does any of them match this path?".

    All patterns run in one RE2 pass, so the cost per path barely grows with
    their number; to evaluate many rules over many files, put every rule's
    patterns in one set and map matching_paths() (or, for one path,
    matching_indices()) back to the rules.
    """

    globs: tuple[PathGlob, ...]
    _matcher: _FullMatcher = field(init=False, repr=False, compare=False)

    def __init__(self, patterns: Iterable[str | PathGlob]) -> None:
        globs = tuple(
            item if isinstance(item, PathGlob) else compile_path_glob(item) for item in patterns
        )
        object.__setattr__(self, "globs", globs)
        object.__setattr__(self, "_matcher", _FullMatcher([glob._regex for glob in globs]))

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(glob.pattern for glob in self.globs)

    def __len__(self) -> int:
        return len(self.globs)

    def matches(self, path: str) -> bool:
        """True if any pattern matches the file path; an empty set matches nothing."""
        return self._matcher.any(_encode(path))

    def matching_indices(self, path: str) -> tuple[int, ...]:
        """Positions (ascending) of the patterns that match the file path."""
        return tuple(self._matcher.indices(_encode(path)))

    def matching_paths(self, paths: Sequence[str]) -> list[list[int]]:
        """For each pattern, the positions (ascending) in `paths` of the paths it matches."""
        return self._matcher.hits(_encode_all(paths), len(self.globs))


# --- ref globs -------------------------------------------------------------


def _ref_regex(pattern: object) -> str:
    text = _check_text(pattern, "branch glob")
    if any(character.isspace() or not character.isprintable() for character in text):
        raise GlobError(
            f"branch glob {text!r} contains whitespace or an unprintable character, which "
            "branch names cannot contain: list several branches as separate items"
        )
    if text.startswith("!"):
        raise GlobError(
            f"`{text}` starts with `!`: negation is not supported in branch globs; "
            "wrap the predicate in `not:` instead"
        )
    if text.startswith("refs/heads/"):
        raise GlobError(
            f"`{text}` names a full ref: branch globs match the short name, so write "
            f"`{text.removeprefix('refs/heads/')}`"
        )
    if text.startswith("/") or text.endswith("/") or "//" in text:
        raise GlobError(
            f"`{text}` has a leading, trailing or doubled `/`, which branch names never "
            "have: write for example `release/*`"
        )
    units = [ord(character) for character in text]
    tokens = _tokenize(units, text)

    def star_rule(stars: _Stars) -> str:
        if stars.end - stars.start < 2:
            return _SEGMENT
        whole_segment = stars.start == 0 or units[stars.start - 1] == _SLASH
        if whole_segment and stars.end < len(units) and units[stars.end] == _SLASH:
            return _DIRECTORIES
        return _ANYTHING

    return _emit(tokens, star_rule, _CODE_POINT_MAX)


def _ref_options() -> re2.Options:
    options = re2.Options()
    options.dot_nl = True
    options.never_capture = True
    options.log_errors = False
    return options


@dataclass(frozen=True, slots=True)
class RefGlob:
    """One branch-name glob, compiled; construct with compile_ref_glob()."""

    pattern: str
    _regex: re2._Regexp = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re2.compile(_ref_regex(self.pattern), _ref_options()))

    def matches(self, branch_name: str) -> bool:
        """True if the whole short branch name (e.g. `release/1.2`) matches."""
        return self._regex.fullmatch(branch_name) is not None


@functools.lru_cache(maxsize=1024)
def compile_ref_glob(pattern: str) -> RefGlob:
    """Compile a branch-name glob; raises GlobError for a bad pattern."""
    return RefGlob(pattern)


def validate_ref_glob(pattern: str) -> None:
    """Raise GlobError with a fixable message if pattern is not a usable branch glob."""
    _ref_regex(pattern)
