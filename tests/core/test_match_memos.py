"""The memoised path matches agree with matching each path afresh.

Glob masks (`PathMatcher.masks`) and CODEOWNERS matches (`CodeOwners.rule_indices`,
`CodeOwners.owned_paths`) are kept in bounded memos keyed by the paths, because a
PR is evaluated again on every event with the same files. Whatever the memo
holds — first call, repeated call, an equal copy of the paths — must be what
matching every path on its own says. Checked on a public oracle table
(hmarr/codeowners' patterns, `tests/fixtures/oracles`) and on generated paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.codeowners import CodeOwners, parse_codeowners
from bot.core.globs import GlobError, compile_path_glob, validate_path_glob
from bot.core.pathmatch import PathMatcher

ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"


def _table(name: str) -> Any:
    return json.loads((ORACLES / name).read_text(encoding="utf-8"))


def _usable(pattern: str) -> bool:
    try:
        validate_path_glob(pattern)
    except GlobError:
        return False
    return True


def assert_masks_agree(patterns: list[str], paths: list[str]) -> None:
    matcher = PathMatcher(patterns)
    expected = [
        sum(1 << i for i, path in enumerate(paths) if compile_path_glob(p).matches(path))
        for p in patterns
    ]
    assert list(matcher.masks(paths)) == expected  # computed (or already memoised)
    assert list(matcher.masks(tuple(paths))) == expected  # memoised
    # Equal strings, other objects (lone surrogates included).
    copies = [path.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
              for path in paths]
    assert list(matcher.masks(copies)) == expected
    assert list(PathMatcher(patterns).masks(paths)) == expected  # another matcher


def assert_owners_agree(owners: CodeOwners, paths: list[str]) -> None:
    one_by_one = [owners.rule_index(path) for path in paths]
    for _ in range(2):  # the second round answers from the memo
        assert owners.rule_indices(paths) == one_by_one
        grouped: dict[int, list[str]] = {}
        for path, index in zip(paths, one_by_one, strict=True):
            if index is not None:
                grouped.setdefault(index, []).append(path)
        assert owners.owned_paths(paths) == tuple(
            (index, tuple(grouped[index])) for index in sorted(grouped)
        )


def test_glob_masks_agree_on_the_oracle_table():
    cases = _table("codeowners_hmarr.json")["cases"]
    patterns = [p for p in dict.fromkeys(case["pattern"] for case in cases) if _usable(p)]
    paths = [p for p in dict.fromkeys(case["path"] for case in cases) if p]
    assert patterns and paths
    assert_masks_agree(patterns, paths)


def test_codeowners_matches_agree_on_the_oracle_table():
    cases = _table("codeowners_hmarr.json")["cases"]
    patterns = list(dict.fromkeys(case["pattern"] for case in cases))
    paths = list(dict.fromkeys(case["path"] for case in cases))
    # Each pattern alone, then all of them in one file (later lines win).
    for pattern in patterns:
        assert_owners_agree(parse_codeowners(f"{pattern} @owner\n"), paths)
    everything = "".join(f"{pattern} @owner{i}\n" for i, pattern in enumerate(patterns))
    assert_owners_agree(parse_codeowners(everything), paths)
    for example in _table("codeowners_github_docs.json")["files"]:
        assert_owners_agree(parse_codeowners(example["codeowners"]),
                            [case["path"] for case in example["cases"]])


SEGMENTS = ["a", "b", "docs", "src", "x.md", "y.py", "README", ".git", "a b", "ü"]
GLOBS = ["*.md", "docs/", "/src", "a/**/b", "**/x.md", "a/*", "?", "[ab]", "src/**",
         "README", "**", "*", "b/", "a\\ b", "docs/*.md", "/a/b/"]


def path_lists(segments: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.lists(st.sampled_from(segments), min_size=1, max_size=4).map("/".join),
                    max_size=30)


# Lone surrogates (as os.fsdecode makes them, and others) take both of the glob
# matcher's ways of encoding a path.
@settings(max_examples=100, deadline=None)
@given(patterns=st.lists(st.sampled_from(GLOBS), min_size=1, max_size=8, unique=True),
       paths=path_lists([*SEGMENTS, "\udcff.md", "\ud800"]))
def test_glob_masks_agree_on_generated_paths(patterns, paths):
    assert_masks_agree(patterns, paths)


@settings(max_examples=100, deadline=None)
@given(patterns=st.lists(st.sampled_from(GLOBS + ["/docs/", "src/", "/a", "x.md/"]),
                         min_size=1, max_size=12),
       paths=path_lists(SEGMENTS))
def test_codeowners_matches_agree_on_generated_paths(patterns, paths):
    text = "".join(f"{pattern} @owner{i}\n" for i, pattern in enumerate(patterns))
    assert_owners_agree(parse_codeowners(text), paths)
