"""CODEOWNERS parsing and matching: GitHub's syntax, last matching line wins."""

from __future__ import annotations

import pytest
import re2

from bot.core.codeowners import Owner, parse_codeowners, pattern_regex

# (pattern, path, owned?) — GitHub's documented examples and their edges.
PATTERNS = [
    ("*", "a.py", True),
    ("*", "deep/dir/a.py", True),
    ("*.js", "app.js", True),
    ("*.js", "web/src/app.js", True),
    ("*.js", "app.jsx", False),
    ("/build/logs/", "build/logs/today.log", True),
    ("/build/logs/", "build/logs/2024/today.log", True),
    ("/build/logs/", "src/build/logs/x.log", False),
    ("/build/logs/", "build/logs", False),
    # `docs/*` owns files directly inside docs, not deeper ones
    ("docs/*", "docs/getting-started.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),
    ("/*", "README.md", True),
    ("/*", "src/main.py", False),
    # a bare directory name owns it at any depth
    ("apps/", "apps/x.py", True),
    ("apps/", "web/apps/x.py", True),
    ("apps/", "apps", False),
    ("/docs/", "docs/a/b.md", True),
    ("/docs/", "x/docs/a.md", False),
    ("docs", "docs/a.md", True),
    ("docs", "pkg/docs", True),
    ("docs", "pkg/docs.md", False),
    # a pattern with a slash in the middle is anchored
    ("app/models", "app/models/user.rb", True),
    ("app/models", "lib/app/models/user.rb", False),
    ("**/logs", "logs/a.log", True),
    ("**/logs", "x/y/logs/a.log", True),
    ("**/logs", "x/logsx/a.log", False),
    ("foo/**/bar", "foo/bar", True),
    ("foo/**/bar", "foo/a/b/bar/c.txt", True),
    ("foo/**/bar", "x/foo/bar", False),
    ("foo/bar/**", "foo/bar/baz", True),
    ("foo/bar/**", "foo/bar", False),
    ("f?o.txt", "foo.txt", True),
    ("f?o.txt", "fo.txt", False),
    ("f?o.txt", "f/o.txt", False),
    (r"f\*o", "f*o", True),
    (r"f\*o", "foo", False),
    # brackets are literal in CODEOWNERS (no character ranges)
    ("[ab].py", "[ab].py", True),
    ("[ab].py", "a.py", False),
    # matching is case-sensitive
    ("*.JS", "app.js", False),
    ("/", "anything", False),
]


@pytest.mark.parametrize(("pattern", "path", "owned"), PATTERNS)
def test_pattern_matching(pattern, path, owned):
    owners = parse_codeowners(f"{pattern} @owner\n")
    assert (owners.rule_for(path) is not None) is owned


def test_last_matching_line_wins():
    text = "* @everyone\n*.py @py-owner\n/services/api/ @acme/backend\n"
    owners = parse_codeowners(text)
    assert owners.owners_of("web/app.py") == (Owner("user", "py-owner"),)
    assert owners.owners_of("services/api/client.py") == (Owner("team", "acme/backend"),)
    assert owners.owners_of("README") == (Owner("user", "everyone"),)
    assert owners.rule_for("services/api/client.py").line == 3


def test_a_line_without_owners_makes_paths_unowned():
    owners = parse_codeowners("* @everyone\n/generated/\n")
    assert owners.rule_for("generated/x.py") is not None
    assert owners.owners_of("generated/x.py") == ()
    assert owners.owners_of("src/x.py") == (Owner("user", "everyone"),)


def test_comments_blank_lines_and_inline_comments():
    text = "# owners\n\n*.md @docs-team-lead  # docs people\n   \n"
    owners = parse_codeowners(text)
    assert [r.line for r in owners.rules] == [3]
    assert owners.owners_of("a.md") == (Owner("user", "docs-team-lead"),)


def test_owner_kinds():
    owners = parse_codeowners("*.py @alice @Acme/Backend dev@example.com\n")
    assert owners.owners_of("a.py") == (
        Owner("user", "alice"), Owner("team", "Acme/Backend"), Owner("email", "dev@example.com"),
    )
    assert [str(o) for o in owners.owners_of("a.py")] == [
        "@alice", "@Acme/Backend", "dev@example.com"]


def test_unusable_lines_are_skipped_and_reported():
    text = "* @a\n!*.md @b\n*.py @c garbage\n"
    owners = parse_codeowners(text)
    assert owners.owners_of("x.md") == (Owner("user", "a"),)
    assert owners.owners_of("x.py") == (Owner("user", "c"),)
    messages = [str(p) for p in owners.problems]
    assert any("line 2" in m and "negation" in m for m in messages)
    assert any("line 3" in m and "`garbage`" in m for m in messages)


def test_escaped_space_in_pattern():
    owners = parse_codeowners(r"my\ file.txt @alice" + "\n")
    assert owners.owners_of("my file.txt") == (Owner("user", "alice"),)


def test_gitlab_sections_give_default_owners():
    text = "[Docs] @docs-lead\n/docs/\n*.md @writer\n^[Optional] @opt\n/misc/\n"
    owners = parse_codeowners(text)
    assert owners.owners_of("docs/a.txt") == (Owner("user", "docs-lead"),)
    assert owners.owners_of("x.md") == (Owner("user", "writer"),)
    assert owners.owners_of("misc/a") == (Owner("user", "opt"),)


def test_nothing_owned_without_rules():
    owners = parse_codeowners("# only comments\n")
    assert owners.rule_for("a.py") is None
    assert owners.owners_of("a.py") == ()


def test_many_lines_match_in_one_pass_and_agree_with_line_by_line():
    lines = [f"/services/svc{i}/ @acme/team{i % 7}" for i in range(500)]
    lines[250] = "*.md @docs"
    owners = parse_codeowners("\n".join(lines) + "\n")
    paths = [f"services/svc{i}/pkg/file{i}.py" for i in range(0, 500, 3)] + ["services/svc1/a.md"]
    singles = [parse_codeowners(f"{rule.pattern} @x\n") for rule in owners.rules]
    for path in paths:
        expected = None
        for index, single in enumerate(singles):
            if single.rule_for(path) is not None:
                expected = index
        assert owners.rule_index(path) == expected, path
    assert owners.rule_indices(paths) == [owners.rule_index(p) for p in paths]


PLAIN_PATTERNS = ["/docs", "/docs/", "docs", "docs/", "a/b", "a/b/", "/a/b/c", "README.md",
                  "/README.md", "x/README.md/"]
PLAIN_PATHS = ["docs", "docs/a.md", "x/docs/a.md", "x/docs", "a/b", "a/b/c/d.txt", "z/a/b/c",
               "a/bc", "README.md", "x/README.md", "x/README.md/y", "docsx/a"]


@pytest.mark.parametrize("pattern", PLAIN_PATTERNS + [p for p, _, _ in PATTERNS])
def test_plain_lookup_agrees_with_the_pattern_regex(pattern):
    regex = re2.compile(pattern_regex(pattern))
    owners = parse_codeowners(f"{pattern} @x\n")
    for path in PLAIN_PATHS + [path for _, path, _ in PATTERNS]:
        expected = regex.fullmatch(path) is not None
        assert (owners.rule_for(path) is not None) is expected, (pattern, path)


def test_a_later_wildcard_line_beats_an_earlier_plain_one():
    owners = parse_codeowners("/services/ @a\n*.py @b\n/services/api/ @c\n")
    assert owners.owners_of("services/x.py") == (Owner("user", "b"),)
    assert owners.owners_of("services/api/x.py") == (Owner("user", "c"),)
    assert owners.owners_of("services/x.txt") == (Owner("user", "a"),)


def test_bulk_lookup_shares_directories_without_mixing_them_up():
    text = "docs/ @a\n/src/app @b\n*.py @c\n/src/app/gen/ @d\nREADME @e\n"
    owners = parse_codeowners(text)
    paths = ["src/app/x.py", "src/app/y.txt", "src/app/gen/z.txt", "src/app/gen/z.py",
             "x/docs/a", "x/docs/b/README", "README", "src/apps/x.txt", "src/app"]
    assert owners.rule_indices(paths) == [owners.rule_index(p) for p in paths]
    assert [None if i is None else owners.rules[i].owners[0].name
            for i in owners.rule_indices(paths)] == [
        "c", "b", "d", "d", "a", "e", "e", None, "b"]


# Answers of `git check-ignore --no-index` for patterns made only of `**` segments
# (and their neighbours): each `**` once collapsed, as git does.
STARS_ONLY_PATHS = ("a", "a/b", "d", "a/d", "d/x", "a/d/x", "x/y/d", "a/x/b", "b/d/e/f")
STARS_ONLY_GIT = {
    "**/**": STARS_ONLY_PATHS,
    "/**/**": STARS_ONLY_PATHS,
    "**/**/**": STARS_ONLY_PATHS,
    "**/**/d": ("d", "a/d", "d/x", "a/d/x", "x/y/d", "b/d/e/f"),
    "/**/**/d": ("d", "a/d", "d/x", "a/d/x", "x/y/d", "b/d/e/f"),
    "**/**/d/": ("d/x", "a/d/x", "b/d/e/f"),
    "**/": ("a/b", "a/d", "d/x", "a/d/x", "x/y/d", "a/x/b", "b/d/e/f"),
    "**/**/": ("a/b", "a/d", "d/x", "a/d/x", "x/y/d", "a/x/b", "b/d/e/f"),
    "a/**/**": ("a/b", "a/d", "a/d/x", "a/x/b"),
    "a/**/**/b": ("a/b", "a/x/b"),
}


@pytest.mark.parametrize("pattern", sorted(STARS_ONLY_GIT))
def test_patterns_made_of_double_stars_match_as_git_does(pattern):
    owners = parse_codeowners(f"{pattern} @acme/core\n")
    owned = tuple(p for p in STARS_ONLY_PATHS if owners.owners_of(p))
    assert owned == STARS_ONLY_GIT[pattern]
    assert owned == tuple(p for p in STARS_ONLY_PATHS if re2.fullmatch(pattern_regex(pattern), p))
