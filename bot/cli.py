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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store import Store


def _validation_targets(args: argparse.Namespace):
    """The operator's target names for `validate`: `--deploy-targets`, else
    `GATEBOT_DEPLOY_TARGETS`, else None (targets are then not checked)."""
    import os

    from bot.pipeline.operator import load_deploy_targets
    from bot.settings import Settings

    variable = str(Settings.model_fields["deploy_targets"].validation_alias)
    path = args.deploy_targets or os.environ.get(variable) or None
    if path is None:
        return None
    return load_deploy_targets(Path(path))


def _cmd_validate(args: argparse.Namespace) -> int:
    from bot.core.policy.loader import load_policy_file
    from bot.settings import ConfigurationError

    try:
        targets = _validation_targets(args)
    except ConfigurationError as exc:
        print(f"gatebot: {exc}", file=sys.stderr)
        return 1
    failed = False
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_bytes()
        except OSError as exc:
            print(f"{name}:0:0: unreadable {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        result = load_policy_file(
            text, filename=name, deploy_targets=targets, repo=args.repo
        )
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


def _settings_or_exit() -> Settings:
    from bot.settings import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as exc:
        raise SystemExit(f"gatebot: cannot start: {exc}") from None


def _announce_store(settings: Settings) -> None:
    from bot import logs

    # On stderr: `audit` keeps stdout for its entries.
    logs.announce(f"gatebot: {settings.store_line()}", file=sys.stderr)


def _long_running_settings() -> Settings:
    """The settings of `serve` and `worker`, then the metrics directory this host's
    processes share (before anything creates a metric, see `bot.metrics_files`) and
    logging as the settings say."""
    from bot import logs, metrics_files

    settings = _settings_or_exit()
    metrics_files.prepare(settings.metrics_directory())
    logs.configure(settings.log_format)
    return settings


def _cmd_serve(args: argparse.Namespace) -> int:
    from bot.settings import ConfigurationError, Mode

    settings = _long_running_settings()
    if settings.mode is Mode.FULL:  # setup mode opens no store
        _announce_store(settings)
    from bot.web.server import serve

    try:
        return serve(settings, args.host, args.port if args.port is not None else settings.port)
    except ConfigurationError as exc:
        raise SystemExit(f"gatebot: cannot start: {exc}") from None


def _cmd_worker(args: argparse.Namespace) -> int:
    from bot.settings import ConfigurationError

    if args.of_serve is not None:
        from bot.consumer_process import bind_to_parent

        bind_to_parent(args.of_serve)
    settings = _long_running_settings()
    _announce_store(settings)
    from bot.queue import run_worker  # after the metrics directory is set up

    try:
        return run_worker(settings)
    except ConfigurationError as exc:
        raise SystemExit(f"gatebot: cannot start: {exc}") from None


def _cmd_migrate(args: argparse.Namespace) -> int:
    from bot.store import Store

    settings = _settings_or_exit()
    _announce_store(settings)
    store = Store(settings.database_url)
    try:
        revision = store.migrate()
    finally:
        store.close()
    print(f"database at revision {revision}")
    return 0


def _parse_since(text: str):
    """An ISO date or date-time; without a zone it is UTC."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or date-time (e.g. 2026-11-28 or 2026-11-28T14:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _migrated_store(settings: Settings) -> Store | None:
    """The store (named on stderr first), or None — having said why — when it is not
    migrated: the read-only commands never migrate it themselves."""
    from bot.store import Store

    _announce_store(settings)
    store = Store(settings.database_url)
    if store.is_current():
        return store
    store.close()
    print("gatebot: the database is not migrated; run gatebot migrate first.", file=sys.stderr)
    return None


def _cmd_audit(args: argparse.Namespace) -> int:
    from bot.printable import printable
    from bot.store import commands, deploys, merges, overrides, tampering

    store = _migrated_store(_settings_or_exit())
    if store is None:
        return 1
    try:
        with store.begin() as conn:
            merged = merges.audit(conn, repo=args.repo, since=args.since)
            deployed = deploys.audit(conn, repo=args.repo, since=args.since)
            overridden = overrides.audit_entries(conn, repo=args.repo, since=args.since)
            commanded = commands.audit_entries(conn, repo=args.repo, since=args.since)
            tampered = tampering.audit_entries(conn, repo=args.repo, since=args.since)
    finally:
        store.close()
    # All the logs interleaved by time. At the same instant a command comes
    # first (an override's command entry before the override it recorded),
    # and a merge before its deploys.
    lines = (
        [(e.at, 0, e.line()) for e in commanded]
        + [(e.recorded_at, 1, e.line()) for e in overridden]
        + [(e.at, 2, e.line()) for e in merged]
        + [(e.at, 3, e.line()) for e in deployed]
        + [(e.at, 4, e.line()) for e in tampered]
    )
    # Reasons, arguments and names are other people's text: escaped, so none
    # can drive the terminal or forge a line of its own.
    for _, _, line in sorted(lines, key=lambda x: (x[0], x[1])):
        print(printable(line))
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from bot.catchup.round import CatchUp
    from bot.catchup.steps import steps
    from bot.printable import printable
    from bot.store import utcnow

    settings = _settings_or_exit()
    store = _migrated_store(settings)
    if store is None:
        return 1
    try:
        found = steps(settings, store, utcnow, only_repo=args.repo, since=args.since)
        if not found:
            print("gatebot: no forge is configured; nothing to reconcile.", file=sys.stderr)
            return 1
        reports = CatchUp(found).round(utcnow())
    finally:
        store.close()
    # Repository names and branch names come from the forge: escaped.
    for report in reports:
        for line in report.lines:
            print(printable(line))
    for report in reports:
        state = "complete" if report.complete else "stopped early"
        print(
            f"{report.step} {report.scope}: {report.examined} PR(s) examined,"
            f" {report.acted} marked, {report.requests} request(s), {state}"
        )
        if report.error:
            print(printable(f"{report.step} {report.scope}: {report.error}"))
    return 0


def _load_for_evaluate(path: str):
    """A policy for `evaluate`: (policy, None) or (None, errors printed)."""
    from bot.core.policy.loader import load_policy_file

    result = load_policy_file(Path(path).read_bytes(), filename=path)
    for problem in result.problems:
        print(problem.format(), file=sys.stderr)
    if result.remote is not None:
        print(f"{path}: points to the remote policy {result.remote.remote}; "
              "evaluate that file instead", file=sys.stderr)
        return None
    return result.policy


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.core import render
    from bot.core.gate import decide
    from bot.core.gate_state import GateState
    from bot.core.policy.evaluate import evaluate
    from bot.core.snapshot import Snapshot

    try:
        snapshot = Snapshot.model_validate_json(Path(args.snapshot).read_bytes())
    except OSError as exc:
        print(f"{args.snapshot}: unreadable: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"{args.snapshot}: not a snapshot:", file=sys.stderr)
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            print(f"  {where}: {error['msg']}", file=sys.stderr)
        return 1
    try:
        policy = _load_for_evaluate(args.policy)
        floor = _load_for_evaluate(args.required_policy) if args.required_policy else None
    except OSError as exc:
        print(f"unreadable policy: {exc}", file=sys.stderr)
        return 1
    if policy is None or (args.required_policy and floor is None):
        return 1
    decision = decide(evaluate(policy, snapshot, floor), snapshot)
    if args.json:
        print(json.dumps(render.to_json(decision), indent=2))
    else:
        print(render.text(decision), end="")
    return 0 if decision.state is GateState.SUCCESS else 2


def _read_snapshot(path: str):
    """A snapshot from a file, or None (having said why on stderr)."""
    from pydantic import ValidationError

    from bot.core.snapshot import Snapshot

    try:
        return Snapshot.model_validate_json(Path(path).read_bytes())
    except OSError as exc:
        print(f"{path}: unreadable: {exc.strerror or exc}", file=sys.stderr)
    except ValidationError as exc:
        print(f"{path}: not a snapshot:", file=sys.stderr)
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            print(f"  {where}: {error['msg']}", file=sys.stderr)
    return None


def _check_verdicts(policy_text: str, snapshots: list[str]) -> bool:
    """Print the imported policy's verdict on each snapshot; False if one was unreadable."""
    from bot.core.gate import decide
    from bot.core.policy.evaluate import evaluate
    from bot.core.policy.loader import load_policy_file
    from bot.printable import printable

    policy = load_policy_file(policy_text, filename="imported policy").policy
    if policy is None:
        return False
    readable = True
    for path in snapshots:
        snapshot = _read_snapshot(path)
        if snapshot is None:
            readable = False
            continue
        decision = decide(evaluate(policy, snapshot), snapshot)
        # The description quotes PR titles and names: other people's text.
        merge = "; would merge now" if decision.auto_merge else ""
        print(printable(f"{path}: {decision.state.value} — {decision.description}{merge}"))
    return readable


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.importing.formats import guess_format, import_text
    from bot.importing.report import BadInput

    try:
        text = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"{args.file}:0: unreadable: {exc.strerror or exc}", file=sys.stderr)
        return 2
    source_format = args.source_format or guess_format(args.file, text)
    if source_format is None:
        print(f"{args.file}:1: cannot tell whether this is a policy-bot, bulldozer or Kodiak "
              "file; name it with --from", file=sys.stderr)
        return 2
    try:
        imported = import_text(text, args.file, source_format)
    except BadInput as exc:
        print(f"{args.file}:{exc.line}: {exc.message}", file=sys.stderr)
        return 2
    from bot.printable import printable

    # The report quotes the source file's names and patterns: escaped.
    for line in imported.report.lines():
        print(printable(line), file=sys.stderr)
    for problem in imported.problems:
        print(f"the imported policy does not validate: {problem}", file=sys.stderr)
    if args.check is not None:
        if not _check_verdicts(imported.policy, args.check):
            return 2
    else:
        print(imported.policy, end="")
    return imported.exit_code


def _simulated_forge(settings: Settings, store: Store, provider: str):
    """The configured forge of `provider` and how to act on a repository's PR there
    (GitHub: the App installation the store knows of, else the one GitHub names)."""
    from bot.forges import FORGES
    from bot.providers.counting import RequestTally
    from bot.store import pulls

    kind = next((f for f in FORGES if f.provider == provider), None)
    if kind is None or not kind.configured(settings):
        return None, None
    if provider == "gitlab":
        from bot.providers.gitlab.forge import GitLabForge

        return GitLabForge(settings, store), lambda repo, number: None
    from bot.providers.github.forge import GitHubForge

    forge = GitHubForge(settings, store)

    def access(repo: str, number: int) -> int:
        with store.begin() as conn:
            known = pulls.get(conn, provider, repo, number)
        if known is not None and known.installation_id is not None:
            return known.installation_id
        return forge.app.installation_of(repo, RequestTally())

    return forge, access


def _cmd_simulate(args: argparse.Namespace) -> int:
    from bot.core import render
    from bot.core.impact_render import change_line, table
    from bot.keys import PullKey
    from bot.pipeline.operator import load_operator_config
    from bot.pipeline.simulate import Proposal, from_store, live
    from bot.printable import printable
    from bot.settings import ConfigurationError
    from bot.store import pulls

    if args.policy is None and args.required_policy is None and args.pr is None:
        print("gatebot: give --policy FILE, --required-policy FILE or --pr N", file=sys.stderr)
        return 1
    if args.repo is None and (args.policy is not None or args.pr is not None or args.live):
        print("gatebot: --policy, --pr and --live need --repo OWNER/NAME", file=sys.stderr)
        return 1
    try:
        policy = _load_for_evaluate(args.policy) if args.policy else None
        floor = _load_for_evaluate(args.required_policy) if args.required_policy else None
    except OSError as exc:
        print(f"unreadable policy: {exc}", file=sys.stderr)
        return 1
    if (args.policy and policy is None) or (args.required_policy and floor is None):
        return 1
    proposal = Proposal(policy, floor)
    settings = _settings_or_exit()
    try:
        operator = load_operator_config(settings)
    except ConfigurationError as exc:
        print(f"gatebot: {exc}", file=sys.stderr)
        return 1
    store = _migrated_store(settings)
    if store is None:
        return 1
    try:
        if args.pr is not None or args.live:
            forge, access = _simulated_forge(settings, store, args.forge)
            if forge is None:
                print(f"gatebot: {args.forge} is not configured.", file=sys.stderr)
                return 1
            if args.pr is not None:
                numbers = [args.pr]
            else:
                with store.begin() as conn:
                    numbers = [p.number for p in pulls.open_in_repo(conn, args.forge, args.repo)]
            found = [
                live(forge, PullKey(args.forge, args.repo, n), access(args.repo, n), proposal,
                     operator, approved_by=args.as_approved_by)
                for n in numbers
            ]
        else:
            providers = [args.forge]
            found = from_store(store, providers, args.repo, proposal, floor=operator.floor,
                               deploy_targets=operator.deploy_targets)
    finally:
        store.close()
    # Titles, logins and labels in the explanations are other people's text: escaped.
    if args.pr is not None:
        (one,) = found
        shown = one.after if (policy or floor) else one.before
        for line in render.text(shown).splitlines():
            print(printable(line))
        if one.changed:
            print(printable(f"today: {change_line(one.change(), with_repo=True)}"))
        return 0
    for line in table(found):
        print(printable(line))
    return 0


def _cmd_gitlab(args: argparse.Namespace) -> int:
    from bot.providers.gitlab.client import GitLabError
    from bot.providers.gitlab.hooks import HookManager
    from bot.settings import ConfigurationError
    from bot.store import Store

    settings = _settings_or_exit()
    if not settings.gitlab_configured:
        print("gatebot: GITLAB_TOKEN is missing.", file=sys.stderr)
        return 1
    _announce_store(settings)
    store = Store(settings.database_url)
    try:
        store.migrate()
        manager = HookManager(settings, store)
        failed = False
        for name in args.targets:
            try:
                if args.action == "connect":
                    done = manager.connect(name, rotate=args.rotate)
                else:
                    done = manager.disconnect(name)
            except LookupError as exc:
                print(f"gatebot: {exc}", file=sys.stderr)
                failed = True
                continue
            except GitLabError as exc:
                print(f"gatebot: {name}: GitLab answered {exc.status}: {exc.text}", file=sys.stderr)
                failed = True
                continue
            print(done.sentence())
    except ConfigurationError as exc:
        print(f"gatebot: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatebot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check policy files; exit 1 on errors")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument(
        "--deploy-targets", metavar="FILE",
        help="the operator's targets file: check `via: {target: ...}` names against it "
        "(default: $GATEBOT_DEPLOY_TARGETS, else targets are not checked)",
    )
    p.add_argument(
        "--repo", metavar="OWNER/NAME",
        help="with targets: also check each target's allow-list admits this repository",
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("schema", help="print the policy file's JSON Schema")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser(
        "evaluate",
        help="explain the verdict for a snapshot (exit 0 passed, 2 not passed, 1 bad input)",
    )
    p.add_argument("--policy", required=True, metavar="FILE", help="the repository's policy")
    p.add_argument("--snapshot", required=True, metavar="FILE", help="a snapshot as JSON")
    p.add_argument("--required-policy", metavar="FILE", help="the operator's required policy")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "import",
        help="write a gatebot policy from a policy-bot, bulldozer or Kodiak file (report on "
        "stderr; exit 0 all mapped, 1 something could not be, 2 bad input)",
    )
    p.add_argument("file", metavar="FILE", help="the .policy.yml, .bulldozer.yml or .kodiak.toml")
    p.add_argument(
        "--from", dest="source_format", choices=("policy-bot", "bulldozer", "kodiak"),
        help="the file's format (default: guessed from its name and content)",
    )
    p.add_argument(
        "--check", nargs="+", metavar="SNAPSHOT",
        help="instead of printing the policy, print its verdict on each snapshot "
        "(the JSON `gatebot evaluate` reads)",
    )
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "simulate",
        help="try a policy (or an operator floor) on open PRs before it lands; writes nothing",
    )
    p.add_argument("--repo", metavar="OWNER/NAME", help="the repository (all with only "
                   "--required-policy)")
    p.add_argument("--policy", metavar="FILE", help="the proposed repository policy")
    p.add_argument("--required-policy", metavar="FILE",
                   help="a proposed operator floor, tried across every repository")
    p.add_argument("--forge", default="github", choices=("github", "gitlab"),
                   help="the forge of the repository (default github)")
    p.add_argument("--live", action="store_true",
                   help="read the open PRs from the forge now (default: as the store keeps them)")
    p.add_argument("--pr", type=int, metavar="N",
                   help="one PR, read live: its explained verdict (under --policy if given)")
    p.add_argument("--as-approved-by", metavar="USER",
                   help="with --pr or --live: as if USER had approved the head")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("serve", help="run the web service (and the embedded queue consumer)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $PORT, else 8000)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("worker", help="consume the queue (with GATEBOT_REDIS_URL)")
    # `gatebot serve`'s own consumer process (bot/consumer_process.py).
    p.add_argument("--of-serve", type=int, metavar="PID", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("migrate", help="apply the store's database migrations")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser(
        "audit",
        help="print what the bot did (merges, deploys, overrides, comment commands), oldest first",
    )
    p.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    p.add_argument(
        "--since", type=_parse_since, metavar="TIME",
        help="only entries from this ISO date or date-time on (UTC unless a zone is given)",
    )
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser(
        "reconcile",
        help="look for PRs whose webhooks were lost now, mark them for work, print what it found",
    )
    p.add_argument("--repo", metavar="OWNER/NAME", help="only this repository")
    p.add_argument(
        "--since", type=_parse_since, metavar="TIME",
        help="walk back to this ISO date or date-time instead of each repository's mark",
    )
    p.set_defaults(func=_cmd_reconcile)

    gitlab = sub.add_parser("gitlab", help="manage the bot's GitLab webhooks")
    actions = gitlab.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser(
        "connect",
        help="create or update the webhook of projects or groups, each with its own secret",
    )
    p.add_argument("targets", nargs="+", metavar="PROJECT-OR-GROUP", help="full path or id")
    p.add_argument("--rotate", action="store_true", help="set a new secret on existing webhooks")
    p.set_defaults(func=_cmd_gitlab)
    p = actions.add_parser("disconnect", help="remove the webhook of projects or groups")
    p.add_argument("targets", nargs="+", metavar="PROJECT-OR-GROUP", help="full path or id")
    p.set_defaults(func=_cmd_gitlab)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
