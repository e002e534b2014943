"""Comment commands: turn a PR comment body into the commands it gives the bot.

Parsing only: who may run a command, and what running it does, is decided
elsewhere. `parse_commands` returns, in order, one `Command` or
`CommandError` per command line of the comment.

Grammar (every rule here is a decision users can rely on):

- A command line starts, after optional leading whitespace, with the prefix
  (``/gate`` by default, ``commands.prefix`` in the policy) or with an
  @mention of the App (``@gatebot``; ``@gatebot[bot]`` and a ``:`` or ``,``
  right after the mention are accepted too). The trigger must be followed by
  whitespace (spaces, tabs, NBSP...) or the end of the line: ``/gatekeeper``
  and ``/gate/merge`` are not commands.
- The prefix, the mention and the command word are matched ignoring ASCII
  case (``/GATE MERGE`` works); other characters must match exactly, so a
  look-alike such as the Kelvin sign never stands in for ``k``.
- The command word is the first whitespace-separated word after the
  trigger; the rest of the line, as written in the source, is its arguments
  (so ``/gate merge <!-- note -->`` has arguments). A command never
  continues on the next line.
- A bare trigger (``/gate`` alone on its line) is read as ``help``: someone
  who types only the prefix is asking what the bot can do.
- Commands that take no arguments reject any: ``/gate merge please`` is a
  usage error, not a merge. Ignoring trailing words would make
  ``/gate merge after the release`` merge now, which is not what its author
  meant; a reply naming the usage costs one more comment.
- ``deploy`` takes at most one deploy name (``[a-z0-9][a-z0-9_.-]*``, at most
  63 characters, as in the policy file); ``override`` takes a non-empty
  reason, the rest of the line.
- An unknown command word gives an ``unknown`` error with a "did you mean"
  suggestion (closest known name, if any is close enough) and the list of
  known commands.

Only lines whose start a reader of the rendered comment sees as ordinary
text count: quotes, code and everything GitHub hides are skipped (see
`bot.core.visible_text` for exactly which text that is).

Limits, because comment bodies are attacker input: bodies longer than
`MAX_BODY_CHARS` characters (GitHub's own limit for a comment) are not parsed
at all, at most `MAX_COMMANDS` results are returned per comment (the rest of
the comment is not read), and words echoed back in messages are cut to
`MAX_ECHO_CHARS`. The work is linear in the size of the body: no regular
expression with backtracking runs on it, and every scan moves forward.

Line numbers are 1-based; ``\\r\\n`` and lone ``\\r`` end lines as ``\\n`` does,
and nothing else does.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.visible_text import ascii_lower, visible_line_starts

MAX_BODY_CHARS = 65_536
"""Longer bodies yield no commands (GitHub refuses longer comments anyway)."""

MAX_COMMANDS = 10
"""At most this many results per comment; later command lines are not read."""

MAX_ECHO_CHARS = 40
"""User words quoted in messages (and `CommandError.word`) are cut to this length."""

Permission = Literal["read", "triage", "write", "maintain", "admin"]
ArgumentKind = Literal["none", "deploy_name", "reason"]


@dataclass(frozen=True)
class CommandSpec:
    """A known command: its usage (after the prefix), help line and default permission."""

    name: str
    usage: str
    summary: str
    permission: Permission
    arguments: ArgumentKind


KNOWN_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "help", "List the commands and who may run them.", "read", "none"),
    CommandSpec(
        "status", "status", "Reply with the gate's verdict and its explanation.", "read", "none"
    ),
    CommandSpec("recheck", "recheck", "Evaluate the pull request again now.", "read", "none"),
    CommandSpec(
        "merge", "merge", "Merge the pull request once the gate passes.", "write", "none"
    ),
    CommandSpec("cancel", "cancel", "Disarm a merge armed by `merge`.", "write", "none"),
    CommandSpec("hold", "hold", "Keep the pull request from merging until `unhold`.", "write",
                "none"),
    CommandSpec("unhold", "unhold", "Lift a hold.", "write", "none"),
    CommandSpec(
        "deploy",
        "deploy [name]",
        "Deploy the merge commit: every deploy entry, or only the one named.",
        "maintain",
        "deploy_name",
    ),
    CommandSpec(
        "override",
        "override <reason>",
        "Pass the gate for the current head commit; the reason is audited.",
        "admin",
        "reason",
    ),
)
"""Every command, in the order help replies list them."""

COMMAND_NAMES: tuple[str, ...] = tuple(spec.name for spec in KNOWN_COMMANDS)
COMMANDS_BY_NAME: dict[str, CommandSpec] = {spec.name: spec for spec in KNOWN_COMMANDS}


@dataclass(frozen=True)
class Command:
    """A well-formed command. `args`: the deploy name, the override reason, or ""."""

    name: str
    args: str
    line: int
    raw: str


@dataclass(frozen=True)
class CommandError:
    """A command line the bot cannot run; `message` is the sentence to reply with.

    `unknown`: `word` is the unrecognised word (lowercased, cut to
    `MAX_ECHO_CHARS`) and `suggestion` the closest known name or None.
    `usage`: `word` is the command's name and the arguments were wrong.
    """

    kind: Literal["unknown", "usage"]
    word: str
    message: str
    suggestion: str | None
    line: int
    raw: str


def usage(name: str, prefix: str = "/gate") -> str:
    """The usage line of a known command, e.g. ``/gate deploy [name]``."""
    return f"{prefix} {COMMANDS_BY_NAME[name].usage}"


def parse_commands(
    body: str, *, prefix: str = "/gate", mentions: Sequence[str] = ()
) -> list[Command | CommandError]:
    """Every command line of a comment body, in order (see the module docstring).

    `mentions` are the App's logins or slugs (``gatebot``, ``gatebot[bot]`` or
    ``@gatebot``; each also answers with and without ``[bot]``). Raises
    ValueError for an empty prefix or mention, or one containing whitespace;
    never for anything in `body`.
    """
    prefix_key = _trigger_key(prefix, "prefix")
    mention_keys = tuple(dict.fromkeys(_mention_key(m) for m in mentions))
    if len(body) > MAX_BODY_CHARS:
        return []
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    lowered = ascii_lower(text)
    if prefix_key not in lowered and not any("@" + m in lowered for m in mention_keys):
        return []
    results: list[Command | CommandError] = []
    for number, line in visible_line_starts(text):
        rest = _after_trigger(line.strip(), prefix_key, mention_keys)
        if rest is None:
            continue
        results.append(_interpret(rest, number, line.strip(), prefix))
        if len(results) >= MAX_COMMANDS:
            break
    return results


# --- the command line itself -------------------------------------------------

_DEPLOY_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DEPLOY_NAME_REST = _DEPLOY_NAME_FIRST | frozenset("-_.")
_DEPLOY_NAME_MAX = 63
def _trigger_key(value: str, what: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"command {what} must be non-empty and contain no whitespace: {value!r}")
    return ascii_lower(value)


def _mention_key(mention: str) -> str:
    key = _trigger_key(mention, "mention").removeprefix("@").removesuffix("[bot]")
    return _trigger_key(key, "mention")


def _after_trigger(stripped: str, prefix_key: str, mention_keys: tuple[str, ...]) -> str | None:
    """The text after the line's trigger, or None when the line is not a command."""
    lowered = ascii_lower(stripped)
    ends: list[int] = []
    if lowered.startswith(prefix_key):
        ends.append(len(prefix_key))
    for key in mention_keys:
        if lowered.startswith("@" + key):
            end = 1 + len(key)
            if lowered.startswith("[bot]", end):
                end += len("[bot]")
            if lowered.startswith((":", ","), end):
                end += 1
            ends.append(end)
    for end in ends:
        rest = stripped[end:]
        if not rest or rest[0].isspace():
            return rest
    return None


def _interpret(rest: str, line: int, raw: str, prefix: str) -> Command | CommandError:
    parts = rest.split(None, 1)
    if not parts:
        return Command("help", "", line, raw)
    word = ascii_lower(parts[0])
    args = parts[1].strip() if len(parts) > 1 else ""
    spec = COMMANDS_BY_NAME.get(word)
    if spec is None:
        return _unknown(word, line, raw, prefix)
    problem = _argument_problem(spec, args, prefix)
    if problem is not None:
        return CommandError("usage", spec.name, problem, None, line, raw)
    return Command(spec.name, args, line, raw)


def _argument_problem(spec: CommandSpec, args: str, prefix: str) -> str | None:
    how = _code(usage(spec.name, prefix))
    if spec.arguments == "none":
        return f"{spec.name} takes no arguments: {how}" if args else None
    if spec.arguments == "reason":
        return None if args else f"override needs a reason: {how}"
    words = args.split()
    if len(words) > 1:
        return f"deploy takes at most one deploy name: {how}"
    if words and not _is_deploy_name(words[0]):
        return (
            f"{_code(_echo(words[0]))} is not a deploy name (lowercase letters, digits, "
            f"`-`, `_` and `.`, starting with a letter or digit): {how}"
        )
    return None


def _is_deploy_name(name: str) -> bool:
    return (
        len(name) <= _DEPLOY_NAME_MAX
        and name[0] in _DEPLOY_NAME_FIRST
        and all(c in _DEPLOY_NAME_REST for c in name)
    )


def _unknown(word: str, line: int, raw: str, prefix: str) -> CommandError:
    word = _echo(word)
    matches = difflib.get_close_matches(word, COMMAND_NAMES, n=1, cutoff=0.6)
    suggestion = matches[0] if matches else None
    known = ", ".join(f"`{name}`" for name in COMMAND_NAMES)
    hint = f" Did you mean {_code(usage(suggestion, prefix))}?" if suggestion else ""
    message = f"Unknown command {_code(word)}.{hint} Known commands: {known}."
    return CommandError("unknown", word, message, suggestion, line, raw)


def _echo(word: str) -> str:
    return word if len(word) <= MAX_ECHO_CHARS else word[: MAX_ECHO_CHARS - 1] + "…"


def _code(text: str) -> str:
    """`text` as a markdown code span that no backtick inside can break out of."""
    longest = run = 0
    for c in text:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
