"""Which format a file is in (from its name, then its content), and the one
entry point that imports text of any supported format."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

from bot.core.policy.yamlsource import YamlProblem, parse_yaml
from bot.importing import bulldozer, kodiak, policybot
from bot.importing.common import Imported
from bot.importing.report import Source
from bot.importing.sources import toml_source, yaml_source

FORMATS = ("policy-bot", "bulldozer", "kodiak")
_BY_NAME = {
    ".policy.yml": "policy-bot",
    "policy.yml": "policy-bot",
    ".bulldozer.yml": "bulldozer",
    "bulldozer.yml": "bulldozer",
    ".kodiak.toml": "kodiak",
    "kodiak.toml": "kodiak",
}
_POLICY_BOT_KEYS = {"policy", "approval_rules", "remote"}
_BULLDOZER_KEYS = {"merge", "update"}

_CONVERTERS: dict[str, tuple[Callable[[str | bytes, str, str], Source],
                             Callable[[Source, str], Imported]]] = {
    "policy-bot": (yaml_source, policybot.convert),
    "bulldozer": (yaml_source, bulldozer.convert),
    "kodiak": (toml_source, kodiak.convert),
}


def guess_format(name: str, text: str | bytes) -> str | None:
    """The format of a file named `name` holding `text`, or None when it cannot be told."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base in _BY_NAME:
        return _BY_NAME[base]
    if base.endswith(".toml"):
        return "kodiak"
    try:
        data = parse_yaml(text).data
    except YamlProblem:
        data = None
    if isinstance(data, dict):
        if _POLICY_BOT_KEYS & data.keys():
            return "policy-bot"
        if _BULLDOZER_KEYS & data.keys():
            return "bulldozer"
    return "kodiak" if _is_toml_config(text) else None


def _is_toml_config(text: str | bytes) -> bool:
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
        return "version" in tomllib.loads(raw)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def import_text(
    text: str | bytes, file: str, source_format: str, output_name: str = ".github/gatebot.yml"
) -> Imported:
    """Import `text` (the content of `file`) from `source_format`.

    Raises `report.BadInput` (with the line) when the text is not a valid file of that format.
    """
    read, convert = _CONVERTERS[source_format]
    return convert(read(text, file, source_format), output_name)
