"""Path globs agree with `git check-ignore`; branch globs and errors match their contract.

The oracle for path globs is git itself: each pattern is written as the only
line of a `.gitignore` in a scratch repository and git is asked, in one
call, which of many paths it ignores. None of the paths exist on disk, so a
directory-only pattern (trailing `/`) can only match one of a path's parent
directories, which is exactly how a changed *file* is matched.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import globs
from bot.core.globs import (
    GlobError,
    PathGlob,
    PathGlobSet,
    compile_path_glob,
    compile_ref_glob,
    validate_path_glob,
    validate_ref_glob,
)

needs_git = pytest.mark.skipif(
    shutil.which("git") is None,
    reason="git is not installed; the path-glob oracle is `git check-ignore --no-index`",
)


class GitOracle:
    """A scratch repository that answers "which of these paths does this pattern ignore?"."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root / "home"
        home.mkdir()
        self.repo = root / "repo"
        # Only this repository's .gitignore may speak: no system, global or
        # XDG excludes, and no GIT_DIR & co. inherited from a surrounding hook.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "xdg"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
        )
        subprocess.run(["git", "init", "-q", str(self.repo)], env=self.env, check=True)
        (self.repo / ".git" / "info" / "exclude").write_bytes(b"")

    def ignored(self, pattern: str, paths: list[str]) -> set[str]:
        (self.repo / ".gitignore").write_bytes(pattern.encode("utf-8") + b"\n")
        # check-ignore reads its arguments as pathspecs, where a leading `:`
        # introduces magic; an empty magic prefix `::` makes every path literal.
        by_bytes = {b"::" + path.encode("utf-8"): path for path in paths}
        result = subprocess.run(
            [
                "git",
                "-c",
                "core.ignorecase=false",
                "check-ignore",
                "--no-index",
                "--verbose",
                "--non-matching",
                "-z",
                "--stdin",
            ],
            cwd=self.repo,
            env=self.env,
            input=b"".join(p + b"\0" for p in by_bytes),
            capture_output=True,
            check=False,
        )
        assert result.returncode in (0, 1), result.stderr.decode(errors="replace")
        fields = result.stdout.split(b"\0")[:-1]
        assert len(fields) == 4 * len(by_bytes)
        ignored = set()
        for i in range(0, len(fields), 4):
            source, _line, matched_by, path = fields[i : i + 4]
            # A `!pattern` match means "explicitly not ignored".
            if source and not matched_by.startswith(b"!"):
                ignored.add(by_bytes[path])
        return ignored


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> GitOracle:
    if shutil.which("git") is None:
        pytest.skip("git is not installed; the path-glob oracle is `git check-ignore --no-index`")
    return GitOracle(tmp_path_factory.mktemp("git-oracle"))


def _ours(pattern: str, paths: list[str]) -> set[str]:
    glob = compile_path_glob(pattern)
    return {path for path in paths if glob.matches(path)}


# --- the oracle's own behaviour ----------------------------------------------


@needs_git
def test_git_reports_a_file_inside_an_ignored_directory_as_ignored(git: GitOracle) -> None:
    # The policy's rule "a pattern matches a file if it or a parent directory
    # matches" relies on this: check-ignore walks the parents itself, so every
    # comparison below can be made on file paths.
    paths = ["docs/a/b.md", "docs", "x/docs/c.txt", "docsx/a"]
    assert git.ignored("docs", paths) == {"docs/a/b.md", "docs", "x/docs/c.txt"}
    assert git.ignored("docs/", paths) == {"docs/a/b.md", "x/docs/c.txt"}
    assert git.ignored("/docs", paths) == {"docs/a/b.md", "docs"}
    assert git.ignored("docs/**", paths) == {"docs/a/b.md"}


# --- hand-written patterns against generated paths ---------------------------

_NAMES = [
    "a",
    "b",
    "c",
    "abc",
    "axc",
    "ac",
    "docs",
    "src",
    "foo",
    "bar",
    "build",
    "test",
    "x.md",
    "README.md",
    "main.c",
    "util.h",
    "x.go",
    "a.py",
    "b.py",
    "test_x.py",
    "test_y.txt",
    ".github",
    ".env",
    ".hidden.md",
    "#x",
    "!x",
    "a c",
    "x ",
    " x",
    "[x]",
    "x*",
    "a?c",
    "a\\b",
    "é.txt",
    "ée",
    "-",
    "a-b",
    "CAPS.MD",
    "foox",
    "xfoo",
]
_DIRS = ["a", "b", "docs", "src", "foo", "bar", ".github", "lib", "x", "a-b", "[x]"]
_LEAVES = ["a", "b", "x.md", "main.c", "x.go", "test_x.py", "a.py", ".env", "#x", "é.txt"]


def _generated_paths() -> list[str]:
    paths = list(_NAMES)
    paths += [f"{d}/{leaf}" for d, leaf in itertools.product(_DIRS, _LEAVES)]
    paths += [
        f"{d1}/{d2}/{leaf}"
        for d1, d2, leaf in itertools.product(
            ["a", "docs", "src", "foo"], ["b", "a", "x", "foo", "docs"], ["a", "b", "x.md", "x.go"]
        )
    ]
    paths += [
        "a/b/c/d",
        "a/x/y/b",
        "src/a/b/c/main.go",
        "foo/bar/baz/qux",
        "docs/a/b/c/d.md",
        "a/b/a/b",
        "x/a/b/c",
        "foo/foo/foo",
        "src/test/test_x.py",
        "deep/er/still/x.md",
        "foox/y/bar",
        "foo/y/bar",
        "ab/c",
        "ab/y/c",
        "services/api/x.py",
    ]
    return sorted(set(paths))


PATHS = _generated_paths()

TRICKY_PATTERNS = [
    # names at any depth, anchored paths, directories
    "*.md",
    "*.MD",
    "docs",
    "docs/",
    "/docs",
    "/docs/",
    "docs/**",
    "docs/*",
    "**/docs",
    "**/docs/",
    "a/b",
    "/a/b",
    "a/b/",
    "x.md",
    "/x.md",
    "**/x.md",
    "foo/*",
    "foo/**",
    "foo/**/",
    "foo/**/*",
    "**/foo/**",
    "a/**/b",
    "/a/**/b",
    "src/**/*.go",
    "**/test_*.py",
    "test_*",
    "**",
    "/**",
    "**/",
    "*",
    "*/",
    "/*",
    "**/*",
    "*/*",
    "*/b",
    "a/*/b",
    "a/**/b/**",
    "**/a/**/b",
    # `**` that is not a whole segment, and git's literal-head quirk
    "a**",
    "**a",
    "a/**b",
    "/foo**/bar",
    "x/foo**/bar",
    "/a[b]**/c",
    "a/**\\/b",
    "foo/**x",
    # single-character wildcards and classes
    "a?c",
    "?",
    "??",
    "*.[ch]",
    "[!a]*.py",
    "[^a]*.py",
    "[a-c]",
    "[]]",
    "[]x]",
    "[!]]*",
    "[a-]",
    "[-a]",
    "[z-a]*",
    "[[:alpha:]]",
    "[[:digit:]][[:alpha:]]*",
    "[[:upper:]]*",
    "[[:punct:]]x",
    "[[:space:]]x",
    "[[:]x",
    "[[:a]",
    "[\\]]",
    "[a\\-c]",
    "*.[!/]",
    "a[/]b",
    "x[!/]md",
    "?.md",
    "é*",
    "?e",
    "??e",
    "*[!.]*",
    # escapes, dotfiles, odd characters, trailing spaces
    "\\#x",
    "\\!x",
    "\\*",
    "x\\*",
    "a\\?c",
    "\\[x\\]",
    "[[]x]",
    ".*",
    ".github/",
    "/.env",
    ".hidden*",
    "a c",
    "x ",
    "x\\ ",
    "x\\  ",
    " x",
    "a\\\\b",
    "a-b",
    "-",
]


@needs_git
@pytest.mark.parametrize("pattern", TRICKY_PATTERNS)
def test_path_glob_matches_what_git_ignores(git: GitOracle, pattern: str) -> None:
    assert _ours(pattern, PATHS) == git.ignored(pattern, PATHS)


@needs_git
@pytest.mark.parametrize("name", sorted(globs._NAMED_CLASSES))
def test_named_classes_match_gits_ascii_classes(git: GitOracle, name: str) -> None:
    # Every ASCII character except `/` (a separator) and NUL (not allowed in paths).
    paths = [f"x{chr(code)}" for code in range(1, 128) if code != ord("/")] + ["xé"]
    for pattern in (f"x[[:{name}:]]", f"x[![:{name}:]]"):
        assert _ours(pattern, paths) == git.ignored(pattern, paths), pattern


@needs_git
@pytest.mark.parametrize("pattern", ["\\#x", "#x", "!x", "\\!x", "x ", "x  ", "x\\ ", "  "])
def test_comments_negation_and_trailing_spaces_agree_with_git(git: GitOracle, pattern: str) -> None:
    paths = ["#x", "!x", "x", "x ", "x  ", "  "]
    try:
        ours = _ours(pattern, paths)
    except GlobError:
        ours = set()  # rejected patterns are ones git never lets ignore anything
    assert ours == git.ignored(pattern, paths)


# --- generated patterns ------------------------------------------------------

_PIECES = ["a", "b", ".", "/", "*", "**", "?", "[", "]", "!", "-", "\\", "^", "[:alpha:]", " "]
# How each piece might appear in a path the pattern is meant to match.
_CONCRETE = {
    "*": ["", "a", "ba"],
    "**": ["", "a", "a/b", "b/"],
    "?": ["a", ".", "!"],
    "[": ["", "a", "["],
    "]": ["", "]"],
    "\\": ["", "\\"],
    "[:alpha:]": ["", "a", ":"],
    " ": ["", " "],
    "^": ["^", "a"],
}


def _normalise(path: str) -> str:
    return "/".join(part for part in path.split("/") if part not in ("", ".", ".."))


_path_strategy = (
    st.lists(st.text(alphabet="ab.*?[]!-\\ ^", min_size=1, max_size=4), min_size=1, max_size=4)
    .map(lambda parts: _normalise("/".join(parts)))
    .filter(bool)
)


@st.composite
def _pattern_and_paths(draw: st.DrawFn) -> tuple[str, list[str]]:
    pieces = draw(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8))
    paths = draw(st.lists(_path_strategy, min_size=1, max_size=12))
    for _ in range(3):
        concrete = "".join(draw(st.sampled_from(_CONCRETE.get(p, [p]))) for p in pieces)
        for variant in (concrete, "a/" + concrete, concrete + "/b"):
            if _normalise(variant):
                paths.append(_normalise(variant))
    return "".join(pieces), sorted(set(paths))


@needs_git
@settings(max_examples=150, deadline=None)
@given(case=_pattern_and_paths())
def test_generated_patterns_agree_with_git(git: GitOracle, case: tuple[str, list[str]]) -> None:
    pattern, paths = case
    try:
        ours = _ours(pattern, paths)
    except GlobError:
        # Every rejection (negation, comment, unclosed `[`, lone `\`, empty or
        # dot segments, ...) is a pattern with which git ignores nothing.
        ours = set()
    assert ours == git.ignored(pattern, paths), pattern


# --- sets --------------------------------------------------------------------


@pytest.mark.parametrize(
    "patterns",
    [
        ["*.md", "docs/", "src/**/*.go"],
        ["/foo**/bar", "a?c", "[!a]*.py", "**/test_*.py", "a/**/b", ".github/"],
        TRICKY_PATTERNS,
    ],
)
def test_set_agrees_with_its_globs(patterns: list[str]) -> None:
    single = [compile_path_glob(pattern) for pattern in patterns]
    combined = PathGlobSet(patterns)
    assert combined.patterns == tuple(patterns)
    for path in PATHS:
        expected = tuple(i for i, glob in enumerate(single) if glob.matches(path))
        assert combined.matching_indices(path) == expected, path
        assert combined.matches(path) is bool(expected), path


def test_empty_set_matches_nothing() -> None:
    empty = PathGlobSet([])
    assert len(empty) == 0
    assert not empty.matches("a")
    assert empty.matching_indices("a") == ()


def test_set_accepts_compiled_globs_and_reports_bad_patterns() -> None:
    mixed = PathGlobSet([compile_path_glob("docs/"), "*.md"])
    assert mixed.matching_indices("docs/x.md") == (0, 1)
    with pytest.raises(GlobError, match="unclosed"):
        PathGlobSet(["*.md", "src/[ab"])


def test_set_falls_back_to_exact_matching_when_re2_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patterns = ["*.md", "docs/", "src/**/*.go"]
    fast = PathGlobSet(patterns)
    expected = {path: fast.matching_indices(path) for path in PATHS}
    # RE2's multi-pattern DFA answers "nothing matched" when out of memory.
    monkeypatch.setattr(re2.Set, "Match", lambda self, text: None)
    for path in PATHS:
        assert fast.matching_indices(path) == expected[path], path
        assert fast.matches(path) is bool(expected[path]), path
    assert fast.matching_paths(PATHS) == [
        [i for i, path in enumerate(PATHS) if glob in expected[path]]
        for glob in range(len(patterns))
    ]


def test_set_falls_back_when_re2_cannot_build_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: re2.Set) -> None:
        raise re2.error("failed to compile Set")

    monkeypatch.setattr(re2.Set, "Compile", refuse)
    docs = PathGlobSet(["docs/", "*.md"])
    assert docs.matching_indices("docs/x.md") == (0, 1)
    assert docs.matching_paths(["src/x.py", "docs/x.md", "x.md"]) == [[1], [1, 2]]
    assert not docs.matches("src/x.py")


# --- the compiled objects ----------------------------------------------------


def test_path_glob_is_immutable_and_compared_by_pattern() -> None:
    glob = compile_path_glob("docs/")
    assert glob.pattern == "docs/"
    assert glob == PathGlob("docs/")
    assert hash(glob) == hash(PathGlob("docs/"))
    assert glob != PathGlob("docs")
    with pytest.raises(AttributeError):
        glob.pattern = "src/"  # type: ignore[misc]


def test_non_utf8_file_names_match_by_their_bytes() -> None:
    # os.fsdecode() turns an undecodable byte into a lone surrogate; git sees the byte.
    name = b"caf\xe9.md".decode("utf-8", "surrogateescape")
    assert compile_path_glob("caf?.md").matches(name)
    assert compile_path_glob("*.md").matches("odd\udfff/x.md")


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty path glob"),
        ("   ", "only spaces"),
        ("a\nb", "NUL, carriage return or newline"),
        ("a\x00b", "NUL, carriage return or newline"),
        ("!docs/", "negation is not supported here; list the path under `ignore:` instead"),
        ("#notes", "comment in gitignore syntax: write `\\#notes`"),
        ("src/[ab", "unclosed `[` in `src/[ab`"),
        ("[a-", "unclosed `[`"),
        ("[[:alpha:]", "unclosed `[`"),
        ("[[:word:]]", "unknown character class `[:word:]`"),
        ("docs\\", "ends with a lone `\\`"),
        ("docs\\/", "lone `\\`"),
        ("/", "matches nothing: write `**`"),
        ("a//b", "empty path segment"),
        ("./docs", "`.` or `..` path segment"),
        ("docs/../src", "`.` or `..` path segment"),
    ],
)
def test_bad_path_globs_say_what_to_fix(pattern: str, message: str) -> None:
    with pytest.raises(GlobError) as raised:
        validate_path_glob(pattern)
    assert message in str(raised.value)
    with pytest.raises(GlobError):
        compile_path_glob(pattern)


def test_non_string_path_glob_is_a_glob_error() -> None:
    with pytest.raises(GlobError, match="must be a string, not int"):
        validate_path_glob(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", ["\\#notes", "\\!docs", "[[:alpha:]]*", "docs\\\\/", "a\\ "])
def test_escaped_forms_are_accepted(pattern: str) -> None:
    validate_path_glob(pattern)


# --- branch globs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("main", "main", True),
        ("main", "main2", False),
        ("main", "xmain", False),
        ("Main", "main", False),
        ("release/*", "release/1.2", True),
        ("release/*", "release/1.2/hotfix", False),
        ("release/*", "releases/1.2", False),
        ("release/**", "release/1.2/hotfix", True),
        ("release/**/rc", "release/rc", True),
        ("release/**/rc", "release/1/2/rc", True),
        ("release/**/rc", "release/1/2/rcx", False),
        ("**/hotfix", "hotfix", True),
        ("**/hotfix", "team/a/hotfix", True),
        ("**/hotfix", "xhotfix", False),
        ("rel**", "release/x/y", True),
        ("**", "a/b/c", True),
        ("*", "feature", True),
        ("*", "feature/x", False),
        ("feature/?", "feature/a", True),
        ("feature/?", "feature/ab", False),
        ("feature/?", "feature/é", True),
        ("feature/*", "feature/é-ü", True),
        ("v[0-9]*", "v1.2", True),
        ("v[0-9]*", "vx", False),
        ("[!m]*", "main", False),
        ("[!m]*", "dev", True),
        ("[^m]*", "dev", True),
        ("a[/]b", "a/b", False),
        ("a[!x]b", "a/b", False),
        ("[[:digit:]]*", "1.x", True),
        ("[[:digit:]]*", "x1", False),
        ("\\*", "*", True),
        ("\\*", "a", False),
        ("dependabot/**", "dependabot/npm_and_yarn/lodash-4.17.21", True),
    ],
)
def test_ref_glob(pattern: str, name: str, expected: bool) -> None:
    assert compile_ref_glob(pattern).matches(name) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty branch glob"),
        ("main develop", "whitespace"),
        ("main\n", "NUL, carriage return or newline"),
        ("!main", "wrap the predicate in `not:`"),
        ("refs/heads/main", "write `main`"),
        ("release/", "leading, trailing or doubled `/`"),
        ("/main", "leading, trailing or doubled `/`"),
        ("a//b", "leading, trailing or doubled `/`"),
        ("release/[0-9", "unclosed `[` in `release/[0-9`"),
        ("[[:nope:]]", "unknown character class"),
        ("main\\", "lone `\\`"),
    ],
)
def test_bad_ref_globs_say_what_to_fix(pattern: str, message: str) -> None:
    with pytest.raises(GlobError) as raised:
        validate_ref_glob(pattern)
    assert message in str(raised.value)
    with pytest.raises(GlobError):
        compile_ref_glob(pattern)
