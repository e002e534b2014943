"""The README's `gatebot import` examples are what the command prints today."""

from __future__ import annotations

from docs_blocks import ROOT, blocks

from bot.importing.formats import import_text

NAMES = {"policy-bot": ".policy.yml", "bulldozer": ".bulldozer.yml", "kodiak": ".kodiak.toml"}


def _examples() -> list[tuple[str, str, str]]:
    """(format, source, printed policy) for each worked example of the import section."""
    readme = ROOT / "README.md"
    text = readme.read_text().splitlines()
    start = text.index("## Coming from policy-bot, bulldozer or Kodiak") + 1
    end = next(i for i in range(start, len(text)) if text[i].startswith("## "))
    inside = [b for b in blocks(readme) if start < b.line <= end and b.lang in ("yaml", "toml")]
    examples = []
    for source, printed in zip(inside[::2], inside[1::2], strict=True):
        source_format = ("kodiak" if source.lang == "toml"
                         else "bulldozer" if "merge:" in source.text else "policy-bot")
        examples.append((source_format, source.text, printed.text))
    return examples


def test_one_worked_example_per_format():
    assert sorted(f for f, _, _ in _examples()) == ["bulldozer", "kodiak", "policy-bot"]


def test_each_example_prints_what_the_readme_shows():
    for source_format, source, printed in _examples():
        result = import_text(source, NAMES[source_format], source_format)
        assert result.policy == printed, source_format
