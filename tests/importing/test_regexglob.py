"""Regexes over paths and branches, rewritten as globs: the globs match exactly
the names the regex finds (on a sample of names), or the rewrite is refused."""

from __future__ import annotations

import re

import pytest

from bot.core.globs import compile_path_glob, compile_ref_glob
from bot.importing.regexglob import NoGlob, path_globs, ref_globs

PATHS = [
    "README.md", "docs/README.md", "docs/a/b.md", "docs", "config/app.yml",
    "config/special.file", "src/config/app.yml", "staging/x", "deploy/staging/y",
    "mystaging/z", "server/views/a.tmpl", "server/views/x/y.tmpl", "server/views/a.tmpl.bak",
    "src/foo.py", "src/foobar.py", "src/foo/bar.py", "src/food/x/y.py", "a/b", "a/x/b",
    "a/x/y/b", "x/test/y", "test/y",
]
BRANCHES = ["main", "master", "release/1.2", "release/1.2/hotfix", "feature/x",
            "my-feature/x", "release-1", "hotfix"]


def path_matches(globs: tuple[str, ...], path: str) -> bool:
    return any(compile_path_glob(g).matches(path) for g in globs)


@pytest.mark.parametrize("regex", [
    "^config/.*$", "^server/views/.*\\.tmpl$", "staging/.*", ".*\\.md$", "^(docs|site)/",
    "^src/foo.*\\.py$", "docs", "^.*$", ".*/test/.*", "^config/special\\.file$",
])
def test_path_globs_match_what_the_regex_finds(regex):
    globs = path_globs(regex).globs
    for path in PATHS:
        assert path_matches(globs, path) == bool(re.search(regex, path)), (path, globs)


@pytest.mark.parametrize("regex", [
    "^(master|main)$", "^release/.*$", "master", "feature/.*", "^release-.*", "^hotfix$",
])
def test_ref_globs_match_what_the_regex_finds(regex):
    globs = ref_globs(regex).globs
    for branch in BRANCHES:
        found = any(compile_ref_glob(g).matches(branch) for g in globs)
        assert found == bool(re.search(regex, branch)), (branch, globs)


def test_a_lone_dot_becomes_a_question_mark_and_says_so():
    converted = path_globs("^README.md$")
    assert converted.globs == ("/README?md",)
    assert converted.dot_as_question_mark


@pytest.mark.parametrize("regex", ["^src/\\d+\\.py$", "[a-z]+", "(?i)docs", "^a{2}$", "^ab?c$"])
def test_regexes_without_an_exact_glob_are_refused(regex):
    with pytest.raises(NoGlob):
        path_globs(regex)
