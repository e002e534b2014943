"""Who may run a comment command: the policy's `commands.allow`, else the defaults.

Pure: the caller supplies what the forge knows of the commenter (their
repository permission by role name, so maintain and write differ, and the
teams they belong to). A refusal carries the sentence the bot replies with,
naming what would have been needed.

Rules (the spec's Comment commands section): bots — the App included — never
run commands; an entry of `commands.allow` replaces the command's default
permission entirely; within an entry, `permission`, `teams` and `users` are
alternatives (anyone matching any of them may run it).

`unhold` has a second rule (`may_lift`): it lifts only holds placed by people
whose permission does not exceed the commenter's — a writer cannot lift a
maintainer's hold — and anyone may lift their own. A hold whose holder's
permission was not recorded counts as an admin's.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.commands import COMMANDS_BY_NAME
from bot.core.policy.models import (
    PERMISSION_ORDER,
    CommandPermission,
    CommandsConfig,
    permission_at_least,
)
from bot.core.policy.result import join_words


@dataclass(frozen=True, slots=True)
class Commenter:
    """The author of a comment, as far as authorisation needs to know."""

    login: str
    permission: str | None
    """Repository role name (admin, maintain, write, triage, read) or None: no access."""
    teams: frozenset[str] = frozenset()
    """Teams (`org/team-slug`) the person belongs to, among those the rule names."""
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the command may run, and if not, the sentence that says why."""

    allowed: bool
    reason: str = ""


def requirement(command: str, config: CommandsConfig | None) -> CommandPermission:
    """Who may run `command` under `config` (the policy's entry, or the default)."""
    if config is not None and command in config.allow:
        return config.allow[command]
    return CommandPermission(permission=COMMANDS_BY_NAME[command].permission)


def describe(rule: CommandPermission) -> str:
    """`write permission or above, acme/release or alice` — the words of a refusal."""
    parts: list[str] = []
    if rule.permission is not None:
        parts.append(
            "admin permission" if rule.permission == "admin"
            else f"{rule.permission} permission or above"
        )
    parts.extend(f"membership of {team}" for team in rule.teams)
    parts.extend(f"being {user}" for user in rule.users)
    return join_words(parts, "or") if parts else "nobody (the policy allows no one)"


def is_bot_login(login: str) -> bool:
    """GitHub spells every App's account `<slug>[bot]`."""
    return login.casefold().endswith("[bot]")


def authorize(command: str, commenter: Commenter, config: CommandsConfig | None) -> Verdict:
    """May `commenter` run `command` (a known command name)?"""
    if commenter.is_bot or is_bot_login(commenter.login):
        return Verdict(False, "commands from bots are ignored")
    rule = requirement(command, config)
    login = commenter.login.casefold()
    if any(login == user.casefold() for user in rule.users):
        return Verdict(True)
    teams = {team.casefold() for team in commenter.teams}
    if any(team.casefold() in teams for team in rule.teams):
        return Verdict(True)
    if rule.permission is not None and permission_at_least(commenter.permission, rule.permission):
        return Verdict(True)
    return Verdict(
        False,
        f"@{commenter.login} may not run `{command}`: it needs {describe(rule)}"
        f" (you have {commenter.permission or 'no'} permission)",
    )


NO_ACCESS = "none"
"""The permission recorded for a holder without repository access (allowed through a
team or by name)."""


def may_lift(holder: str, holder_permission: str | None, commenter: Commenter) -> bool:
    """May `commenter` lift the hold `holder` placed with `holder_permission`
    (a role name, `NO_ACCESS`, or None: not recorded)?"""
    if holder.casefold() == commenter.login.casefold():
        return True
    if holder_permission == NO_ACCESS:
        return True
    if holder_permission not in PERMISSION_ORDER:
        holder_permission = "admin"
    return permission_at_least(commenter.permission, holder_permission)
