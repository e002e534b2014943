"""Every documented example configuration (tests/fixtures/imports/, re-typed from
each project's documentation) imports, validates, and has every key accounted for."""

from __future__ import annotations

import pytest
from support.imports import FIXTURES, imported

from bot.importing.formats import guess_format
from bot.importing.report import dotted
from bot.importing.sources import toml_source, yaml_source

# Exit status of each example: 1 where a documented key has no gatebot counterpart.
EXPECTED = {
    "policy-bot/readme-overview.yml": 0,
    "policy-bot/complicated.yml": 0,
    "policy-bot/remote-policy.yml": 0,
    "policy-bot/team-with-disapproval.yml": 1,  # `organization:` is no policy-bot key
    "policy-bot/readme-specification.yml": 1,
    "bulldozer/readme-recommended.yml": 1,
    "bulldozer/readme-specification.yml": 1,
    "kodiak/minimal.toml": 0,
    "kodiak/all-options.toml": 0,
}


def test_every_fixture_is_listed():
    found = {str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*") if p.name != "README.md"}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_documented_example_imports_and_validates(name):
    path = FIXTURES / name
    source_format = name.split("/")[0]
    assert guess_format(path.name, path.read_text()) == source_format
    result = imported(path.read_text(), source_format, name)
    assert result.exit_code == EXPECTED[name], "\n".join(result.report.lines())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_key_of_the_example_is_mapped_or_reported(name):
    path = FIXTURES / name
    source_format = name.split("/")[0]
    read = toml_source if name.endswith(".toml") else yaml_source
    keys = read(path.read_text(), name, source_format).key_paths
    report = imported(path.read_text(), source_format, name).report
    assert keys
    missing = [dotted(k) for k in keys if not report.covered(k)]
    assert not missing
    unknown = [dotted(e.path) for e in report.entries if "is not a key gatebot knows" in e.message]
    expected_unknown = (["policy.disapproval.requires.organization"]
                        if name.endswith("team-with-disapproval.yml") else [])
    assert unknown == expected_unknown


def test_the_output_points_back_to_source_lines():
    name = "policy-bot/complicated.yml"
    text = imported((FIXTURES / name).read_text(), "policy-bot", name).policy
    # `count: 1` of the `catskills` rule is on line 16 of the source.
    assert "approvals: 1  # policy-bot/complicated.yml:16" in text


@pytest.mark.parametrize(("folder", "header"), [
    ("policy-bot", "policy-bot key"), ("bulldozer", "bulldozer key"), ("kodiak", "Kodiak key"),
])
def test_the_key_table_in_the_docs_names_every_documented_key(folder, header):
    from docs_blocks import ROOT, table

    rows = table(ROOT / "docs" / "policy.md", (header, "gatebot", "notes"))
    named = " ".join(row[0] for row in rows)
    for path in sorted((FIXTURES / folder).iterdir()):
        if path.name == "README.md":
            continue
        read = toml_source if path.suffix == ".toml" else yaml_source
        for key in read(path.read_text(), path.name, folder).key_paths:
            leaf = key[-1]
            if leaf == "organization" or key[-2:-1] == ("branch_method",):
                continue  # the example's misspelling; branch names
            assert str(leaf) in named, (path.name, dotted(key))
