"""The `gatebot` command line: one sub-command per job, each a small function.

Sub-commands return a process exit code; `main` only parses arguments and
dispatches, so every command is testable by calling `main([...])`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_validate(args: argparse.Namespace) -> int:
    from bot.core.policy.loader import load_policy_file

    failed = False
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_bytes()
        except OSError as exc:
            print(f"{name}:0:0: unreadable {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        result = load_policy_file(text, filename=name)
        for problem in result.problems:
            print(problem.format())
        if result.errors:
            failed = True
        elif not args.quiet:
            print(f"{name}: ok" + (f" ({len(result.warnings)} warnings)" if result.warnings else ""))
    return 1 if failed else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from bot.core.policy.schema import policy_json_schema

    print(json.dumps(policy_json_schema(), indent=2, sort_keys=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatebot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check policy files; exit 1 on errors")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("schema", help="print the policy file's JSON Schema")
    p.set_defaults(func=_cmd_schema)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
