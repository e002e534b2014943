"""CODEOWNERS of the base branch: parse the text, find the owners of a path.

The syntax is GitHub's: one `pattern owner...` per line, `#` comments, the
last matching line wins, and a line with a pattern but no owners makes its
paths unowned. Patterns follow gitignore with GitHub's differences: no `!`
negation, no `[...]` classes (brackets are literal), and a trailing `/*`
matches the files directly inside a directory, not deeper ones. Owners are
`@login`, `@org/team` or e-mail addresses (which cannot be matched to a
login, so they never approve). GitLab section headers (`[Section]`,
`^[Optional]`, with default owners) are accepted; their default owners apply
to the section's lines that name none.

All patterns are matched together in one RE2 pass per path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import re2

_SECTION_RE = re2.compile(r"^\^?\[[^\]]+\](?:\[\d+\])?(?:\s+(.*))?$")


@dataclass(frozen=True, slots=True)
class Owner:
    """One owner as written: `@alice` (user), `@acme/backend` (team) or an e-mail."""

    kind: Literal["user", "team", "email"]
    name: str

    def __str__(self) -> str:
        return self.name if self.kind == "email" else f"@{self.name}"


@dataclass(frozen=True, slots=True)
class OwnerRule:
    """One CODEOWNERS line with a usable pattern."""

    line: int
    pattern: str
    owners: tuple[Owner, ...]


@dataclass(frozen=True, slots=True)
class CodeOwnersProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"CODEOWNERS line {self.line}: {self.message}"


def _regex_options() -> re2.Options:
    options = re2.Options()
    options.never_capture = True
    options.dot_nl = True
    options.log_errors = False
    options.max_mem = 64 << 20
    return options


class CodeOwners:
    """Parsed CODEOWNERS; `rule_for(path)` is the last line whose pattern matches.

    Most lines of a large CODEOWNERS are plain paths (`/services/api/`); those
    are answered by dictionary lookups of the path's directories. Only lines
    with wildcards go through one RE2 set, and only when one of them could
    still beat the best plain line.
    """

    def __init__(self, rules: Sequence[OwnerRule], problems: Sequence[CodeOwnersProblem]):
        self.rules = tuple(rules)
        self.problems = tuple(problems)
        # Plain patterns by how they match: kind -> key -> last line index.
        self._plain: dict[str, dict[str, int]] = {
            "at_or_below": {}, "below": {}, "name_anywhere": {}, "dir_anywhere": {},
        }
        wild: list[int] = []
        for index, rule in enumerate(self.rules):
            form = _plain_form(rule.pattern)
            if form is None:
                wild.append(index)
            else:
                self._plain[form[0]][form[1]] = index
        self._wild = tuple(wild)
        self._wild_max = wild[-1] if wild else -1
        self._wild_regexes = tuple(pattern_regex(self.rules[i].pattern) for i in wild)
        self._set = None
        self._singles: tuple[re2._Regexp, ...] | None = None
        if wild:
            matcher = re2.Set.FullMatchSet(_regex_options())
            for regex in self._wild_regexes:
                matcher.Add(regex)
            # Always matches: its absence means RE2 gave up (out of DFA memory),
            # and the slower one-regex-at-a-time path answers instead.
            matcher.Add(".*")
            try:
                matcher.Compile()
            except re2.error:
                matcher = None
            self._set = matcher

    def _plain_index(self, path: str) -> int:
        """The last plain line owning `path`, or -1 (`_match_all` inlines this)."""
        cut = path.rfind("/")
        name = path[cut + 1:]
        best = max(self._plain["at_or_below"].get(path, -1),
                   self._plain["name_anywhere"].get(name, -1))
        if cut == -1:
            return best
        return max(best, self._directory_index(path[:cut]))

    def _directory_index(self, directory: str) -> int:
        """The last plain line owning everything in `directory` (and below)."""
        at_or_below = self._plain["at_or_below"]
        below = self._plain["below"]
        names = self._plain["name_anywhere"]
        directories = self._plain["dir_anywhere"]
        best = -1
        start = 0
        while True:
            cut = directory.find("/", start)
            prefix = directory if cut == -1 else directory[:cut]
            segment = prefix[start:]
            best = max(best, at_or_below.get(prefix, -1), below.get(prefix, -1),
                       names.get(segment, -1), directories.get(segment, -1))
            if cut == -1:
                return best
            start = cut + 1

    def _wild_index(self, path: str) -> int:
        found = self._set.Match(path) if self._set is not None else None
        if found:
            sentinel = len(self._wild)
            matched = [i for i in found if i != sentinel]
            return self._wild[max(matched)] if matched else -1
        if self._singles is None:
            self._singles = tuple(re2.compile(r, _regex_options()) for r in self._wild_regexes)
        for position in range(len(self._singles) - 1, -1, -1):
            if self._singles[position].fullmatch(path):
                return self._wild[position]
        return -1

    def rule_index(self, path: str) -> int | None:
        """Index into `rules` of the last line matching `path`, or None."""
        best = self._plain_index(path)
        if self._wild_max > best:
            best = max(best, self._wild_index(path))
        return best if best >= 0 else None

    def rule_indices(self, paths: Sequence[str]) -> list[int | None]:
        """`rule_index` of each path, in order."""
        return list(_rule_indices(self, tuple(paths)))

    def owned_paths(self, paths: Sequence[str]) -> tuple[tuple[int, tuple[str, ...]], ...]:
        """The paths each line decides, by line index ascending; unowned paths left out."""
        return _owned_paths(self, tuple(paths))

    def _match_all(self, paths: Sequence[str]) -> tuple[int | None, ...]:
        # `rule_index` for many paths: `_plain_index` inlined, and each directory's
        # answer kept, since the paths of a PR share few directories.
        at_or_below = self._plain["at_or_below"]
        names = self._plain["name_anywhere"]
        wild_max = self._wild_max
        directories: dict[str, int] = {}
        found: list[int | None] = []
        for path in paths:
            cut = path.rfind("/")
            best = at_or_below.get(path, -1)
            named = names.get(path[cut + 1:], -1)
            if named > best:
                best = named
            if cut != -1:
                directory = path[:cut]
                known = directories.get(directory)
                if known is None:
                    known = directories[directory] = self._directory_index(directory)
                if known > best:
                    best = known
            if wild_max > best:
                wild = self._wild_index(path)
                if wild > best:
                    best = wild
            found.append(best if best >= 0 else None)
        return tuple(found)

    def rule_for(self, path: str) -> OwnerRule | None:
        index = self.rule_index(path)
        return None if index is None else self.rules[index]

    def owners_of(self, path: str) -> tuple[Owner, ...]:
        rule = self.rule_for(path)
        return () if rule is None else rule.owners


# A PR is evaluated again on every review, check and push, each time with the same
# file list and, mostly, the same CODEOWNERS: matching thousands of paths each time
# would dominate. Bounded memos of pure functions, keyed by the parsed file (itself
# cached by its text) and the paths; entries are immutable.
_MEMO_SIZE = 32


@lru_cache(maxsize=_MEMO_SIZE)
def _rule_indices(owners: CodeOwners, paths: tuple[str, ...]) -> tuple[int | None, ...]:
    return owners._match_all(paths)


@lru_cache(maxsize=_MEMO_SIZE)
def _owned_paths(
    owners: CodeOwners, paths: tuple[str, ...]
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    by_rule: dict[int, list[str]] = {}
    for path, index in zip(paths, _rule_indices(owners, paths), strict=True):
        if index is not None:
            by_rule.setdefault(index, []).append(path)
    return tuple((index, tuple(by_rule[index])) for index in sorted(by_rule))


def _plain_form(pattern: str) -> tuple[str, str] | None:
    """How a pattern without wildcards matches, as (kind, key); None for other patterns.

    Mirrors `pattern_regex`: `/a/b` and `a/b` own a/b and what is below it,
    `a/b/` only what is below; a bare `name` owns any segment so named (and
    what is below), `name/` any directory so named.
    """
    if any(char in pattern for char in "*?\\") or pattern == "/":
        return None
    directory_only = pattern.endswith("/")
    body = pattern[:-1] if directory_only else pattern
    anchored = "/" in body
    key = body[1:] if body.startswith("/") else body
    if not key:
        return None
    if anchored:
        return ("below" if directory_only else "at_or_below"), key
    return ("dir_anywhere" if directory_only else "name_anywhere"), key


def _split_pattern(line: str) -> tuple[str, str]:
    """The pattern (up to the first unescaped white space) and the rest of the line."""
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            i += 2
            continue
        if char.isspace():
            return line[:i], line[i:]
        i += 1
    return line, ""


def _parse_owner(token: str) -> Owner | None:
    if token.startswith("@") and len(token) > 1:
        name = token[1:]
        if "/" in name:
            org, _, team = name.partition("/")
            return Owner("team", f"{org}/{team}") if org and team else None
        return Owner("user", name)
    if "@" in token[1:] and "." in token.rsplit("@", 1)[1]:
        return Owner("email", token)
    return None


def _parse_owners(text: str, line_no: int, problems: list[CodeOwnersProblem]) -> list[Owner]:
    owners: list[Owner] = []
    for token in text.split():
        if token.startswith("#"):
            break
        owner = _parse_owner(token)
        if owner is None:
            problems.append(CodeOwnersProblem(line_no, f"`{token}` is not @user, @org/team or "
                                                       "an e-mail address; ignored"))
        else:
            owners.append(owner)
    return owners


@lru_cache(maxsize=32)
def parse_codeowners(text: str) -> CodeOwners:
    """Parse CODEOWNERS text; unusable lines are skipped and listed in `problems`."""
    rules: list[OwnerRule] = []
    problems: list[CodeOwnersProblem] = []
    section_defaults: list[Owner] = []
    for line_no, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = _SECTION_RE.match(line)
        if section is not None:
            section_defaults = _parse_owners(section.group(1) or "", line_no, problems)
            continue
        pattern, rest = _split_pattern(line)
        error = pattern_error(pattern)
        if error:
            problems.append(CodeOwnersProblem(line_no, error))
            continue
        owners = _parse_owners(rest, line_no, problems)
        if not owners and not rest.strip():
            owners = list(section_defaults)
        rules.append(OwnerRule(line_no, pattern, tuple(owners)))
    return CodeOwners(rules, problems)


def pattern_error(pattern: str) -> str | None:
    """Why GitHub would not use this pattern, or None."""
    if pattern.startswith("!"):
        return f"`{pattern}`: negation with `!` is not supported in CODEOWNERS; line ignored"
    if "***" in pattern:
        return f"`{pattern}`: three asterisks in a row are not a valid pattern; line ignored"
    if pattern.endswith("\\") and not pattern.endswith("\\\\"):
        return f"`{pattern}` ends with a lone backslash; line ignored"
    return None


def _literal_segment(segment: str) -> str:
    """A segment with `*`, `?` and `\\` escapes, as a regex that stays inside one segment."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re2.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re2.escape(char))
        i += 1
    return "".join(out)


def pattern_regex(pattern: str) -> str:
    """The regex (for a full match on a repository-relative path) of one CODEOWNERS pattern."""
    if pattern == "/":
        return "[^\\x00-\\x{10ffff}]"  # matches nothing
    segments = pattern.split("/")
    if segments[0] == "":
        segments = segments[1:]  # a leading `/` anchors at the root
    elif (len(segments) == 1 or (len(segments) == 2 and segments[1] == "")) and (
        segments[0] != "**"
    ):
        # A bare name (maybe with a trailing `/`) matches at any depth.
        segments = ["**", *segments]
    if len(segments) > 1 and segments[-1] == "":
        segments[-1] = "**"  # `dir/` owns everything below dir
    # Consecutive `**` match what one does (git: `**/**` is `**`, `**/**/d` is
    # `**/d`); built one by one they would each demand a `/` of their own.
    segments = [
        segment
        for index, segment in enumerate(segments)
        if not (segment == "**" and index > 0 and segments[index - 1] == "**")
    ]
    if segments == ["**"] and pattern.endswith("/"):
        return ".+/.+"  # `**/`: any directory, so every path with a directory in it

    last = len(segments) - 1
    parts: list[str] = []
    # Whether the next segment needs a `/` before it (not after a leading `**`).
    separate = False
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == 0 and index == last:
                parts.append(".+")
            elif index == 0:
                parts.append("(?:.+/)?")
                separate = False
            elif index == last:
                parts.append("/.*")
            else:
                parts.append("(?:/.+)?")
                separate = True
            continue
        if separate:
            parts.append("/")
        if segment == "*":
            # A lone `*` is exactly one segment: `docs/*` owns docs/a.md, not docs/a/b.md.
            parts.append("[^/]+")
        else:
            parts.append(_literal_segment(segment))
            if index == last:
                parts.append("(?:/.*)?")  # a name also owns what is below it
        separate = True
    return "".join(parts)
