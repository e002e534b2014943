"""`gatebot import`: the policy on stdout, the report on stderr, exit 0 / 1 / 2,
and `--check` printing the imported policy's verdicts on snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import make_snapshot, review
from support.imports import FIXTURES

from bot.cli import main

POLICY_BOT = """\
policy:
  approval: [reviewed]
approval_rules:
  - name: reviewed
    requires:
      count: 1
      teams: [acme/backend]
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_complete_import_prints_a_valid_policy_and_exits_0(tmp_path, capsys):
    source = write(tmp_path, ".policy.yml", POLICY_BOT)
    assert main(["import", source]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "# yaml-language-server: $schema=gatebot.schema.json\n# gatebot policy imported from"
    )
    assert "every key was carried over" in captured.err
    output = write(tmp_path, "gatebot.yml", captured.out)
    assert main(["validate", output]) == 0


def test_something_without_a_counterpart_exits_1_and_says_what(tmp_path, capsys):
    source = str(tmp_path / ".bulldozer.yml")
    shutil.copy(FIXTURES / "bulldozer" / "readme-specification.yml", source)
    assert main(["import", source]) == 1
    err = capsys.readouterr().err
    assert "no gatebot counterpart:" in err
    assert f"{source}:7: merge.trigger.comment_substrings: gatebot reads no comment" in err


@pytest.mark.parametrize(("name", "text", "where"), [
    (".policy.yml", "policy:\n  approval: [r\n", ":2: invalid YAML"),
    (".policy.yml", "policy:\n  approval: [r]\napproval_rules:\n  - name: r\n"
     "    requires: {count: many}\n", ":5: approval_rules[0].requires.count must be"),
    (".kodiak.toml", "version = 1\n[merge]\nmethod = \n", ":3: invalid TOML"),
    (".bulldozer.yml", "version: 1\nmerge:\n  method: octopus\n", ":3: merge.method is"),
    ("notes.txt", "hello\n", ":1: cannot tell whether this is a policy-bot"),
])
def test_bad_input_exits_2_with_file_and_line(tmp_path, capsys, name, text, where):
    source = write(tmp_path, name, text)
    assert main(["import", source]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(source + where), captured.err


def test_an_unreadable_file_exits_2(tmp_path, capsys):
    assert main(["import", str(tmp_path / "missing.yml")]) == 2
    assert "unreadable" in capsys.readouterr().err


def test_the_format_is_guessed_from_the_content_or_given(tmp_path, capsys):
    source = write(tmp_path, "approval.yml", POLICY_BOT)
    assert main(["import", source]) == 0
    assert "imported from policy-bot" in capsys.readouterr().err
    source = write(tmp_path, "merging.yml", "version: 1\nmerge:\n  method: squash\n")
    assert main(["import", source]) == 0
    assert "imported from bulldozer" in capsys.readouterr().err
    assert main(["import", "--from", "bulldozer", source]) == 0


def test_check_prints_the_verdict_on_each_snapshot(tmp_path, capsys):
    source = write(tmp_path, ".policy.yml", POLICY_BOT)
    approved = write(tmp_path, "approved.json",
                     make_snapshot(reviews=(review("bob"),)).model_dump_json())
    waiting = write(tmp_path, "waiting.json", make_snapshot().model_dump_json())
    assert main(["import", source, "--check", approved, waiting]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{approved}: success — ")
    assert lines[1].startswith(f"{waiting}: pending — ")
    assert "reviewed" in lines[1]


def test_check_says_when_the_imported_policy_would_merge(tmp_path, capsys):
    source = write(tmp_path, ".kodiak.toml", "version = 1\n")
    labelled = write(tmp_path, "labelled.json",
                     make_snapshot(labels=("automerge",)).model_dump_json())
    assert main(["import", source, "--check", labelled]) == 0
    assert capsys.readouterr().out.rstrip().endswith("; would merge now")


def test_check_with_a_broken_snapshot_exits_2(tmp_path, capsys):
    source = write(tmp_path, ".policy.yml", POLICY_BOT)
    broken = write(tmp_path, "broken.json", "{}")
    assert main(["import", source, "--check", broken]) == 2
    assert f"{broken}: not a snapshot" in capsys.readouterr().err
