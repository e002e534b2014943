"""policy-bot's `.policy.yml` read into a gatebot policy, keeping policy-bot's meaning.

Where the two differ by default, the policy-bot default is written out:
comment approvals (`:+1:`, `👍`, "comment contains"), `invalidate_on_push`,
`ignore_update_merges` and `ignore_edited_comments` off, disapproval off
unless `disapproval.requires` names someone. Predicates policy-bot ORs
(`title`, `modified_lines`) become `any:` lists.
"""

from __future__ import annotations

from typing import Any

from bot.core.regex import RegexError, compile_regex
from bot.importing.common import Imported, finish, header, literal_regex, lowest_permission
from bot.importing.emit import At, Default, to_yaml
from bot.importing.regexglob import NoGlob, path_globs, ref_globs
from bot.importing.report import BadInput, Path, Source, dotted

FORMAT = "policy-bot"
DEFAULT_COMMENTS = (":+1:", "👍")
DEFAULT_DISAPPROVE_COMMENTS = (":-1:", "👎")
_PERMISSIONS = ("admin", "maintain", "write", "triage", "read")
_ACTOR_KEYS = ("users", "teams", "organizations")
_LEFT_OUT = (
    "; the condition was left out: the rule, condition or disapproval it belonged to no "
    "longer tests it — write what gatebot can test instead"
)
_GLOB_NOTE = (
    "; gatebot globs match as git does, so a directory that matches also matches the "
    "files under it"
)


def convert(source: Source, output_name: str) -> Imported:
    """The gatebot policy for a parsed `.policy.yml`."""
    data = source.mapping(())
    if "remote" in data:
        return _remote(source, output_name)
    out: dict[str, Any] = {"version": 1}
    rules = _rules(source)
    names = {source.text(("approval_rules", i, "name")) for i in range(len(rules))}
    out["policy"] = _policy(source, names)
    if rules:
        out["rules"] = rules
    source.finish()
    text = to_yaml(out, source.report.file, header(source.report.file, FORMAT))
    return finish(text, source.report, output_name)


# -- remote -------------------------------------------------------------------


def _remote(source: Source, output_name: str) -> Imported:
    repo = source.text(("remote",))
    if not repo or repo.count("/") != 1:
        raise BadInput("remote must be `org/repo-name`", source.line(("remote",)))
    ref = source.text(("ref",))
    pointer = repo + (f"@{ref}" if ref else "")
    source.differs(
        ("remote",),
        f"`remote: {pointer}` points to the gatebot policy at the forge's default path in "
        f"{repo}: import that repository's policy-bot file there too. gatebot reads a remote "
        "only under the same owner or one the operator allows",
    )
    if source.has(("path",)):
        source.differs(
            ("path",),
            f"`{source.text(('path',))}` is the policy-bot file; the pointer uses gatebot's "
            "default path, where the imported copy belongs",
        )
    if source.has(("ref",)):
        source.mapped(("ref",), f"`@{ref}` in the pointer")
    source.finish()
    out = {"remote": At(pointer, source.line(("remote",)))}
    text = to_yaml(out, source.report.file, header(source.report.file, FORMAT))
    return finish(text, source.report, output_name)


# -- the approval tree and disapproval ------------------------------------------


def _policy(source: Source, names: set[str | None]) -> dict[str, Any]:
    source.section(("policy",))
    if not source.has(("policy", "approval")) or not source.items(("policy", "approval")):
        raise BadInput("policy.approval must list at least one rule", source.line(("policy",)))
    source.mapped(
        ("policy", "approval"),
        "the approval tree, rule names and `and`/`or` as written (a list is an AND; "
        "skipped rules are left out as in policy-bot; a policy whose every rule is "
        "skipped is pending in gatebot)",
    )
    approval = [_item(source, ("policy", "approval", i), names)
                for i in range(len(source.items(("policy", "approval"))))]
    section: dict[str, Any] = {"approval": At(approval, source.line(("policy", "approval")))}
    section["disapproval"] = _disapproval(source)
    return section


def _item(source: Source, path: Path, names: set[str | None]) -> Any:
    value = source.at(path)
    if isinstance(value, str):
        if value not in names:
            raise BadInput(f"{dotted(path)} names the undefined rule `{value}`", source.line(path))
        return At(value, source.line(path))
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("and", "or"):
        op = next(iter(value))
        children = source.items((*path, op))
        if not children:
            raise BadInput(f"{dotted((*path, op))} needs at least one item", source.line(path))
        return {op: At([_item(source, (*path, op, i), names) for i in range(len(children))],
                       source.line((*path, op)))}
    raise BadInput(f"{dotted(path)} must be a rule name, `and:` or `or:`", source.line(path))


def _actors(source: Source, path: Path) -> dict[str, Any]:
    """policy-bot actors (users, teams, organizations, permissions, admins,
    write_collaborators) as a gatebot `from`."""
    found: dict[str, Any] = {}
    for key in _ACTOR_KEYS:
        if source.has((*path, key)):
            values = source.strings((*path, key))
            found[key] = At(values, source.line((*path, key)))
            source.mapped((*path, key), f"`from.{key}`")
    permissions: list[str] = []
    if source.has((*path, "permissions")):
        listed = source.strings((*path, "permissions"))
        for permission in listed:
            if permission not in _PERMISSIONS:
                raise BadInput(
                    f"{dotted((*path, 'permissions'))}: unknown permission `{permission}`",
                    source.line((*path, "permissions")),
                )
        permissions.extend(listed)
        if listed:
            source.mapped(
                (*path, "permissions"),
                f"`from.permission: {lowest_permission(listed)}` (at least the lowest listed, "
                "as in policy-bot)",
            )
        else:
            source.mapped((*path, "permissions"), "empty: nothing to write")
    for key, permission in (("admins", "admin"), ("write_collaborators", "write")):
        if source.has((*path, key)):
            if source.flag((*path, key)):
                permissions.append(permission)
                source.mapped((*path, key), f"`from.permission: {permission}` (deprecated key)")
            else:
                source.mapped((*path, key), "false: nothing to write")
    if permissions:
        line = source.line((*path, "permissions") if source.has((*path, "permissions"))
                           else path)
        found["permission"] = At(lowest_permission(permissions), line)
    return found


def _disapproval(source: Source) -> Any:
    path: Path = ("policy", "disapproval")
    if not source.has(path):
        return Default({"enabled": False}, FORMAT)
    source.section(path)
    requires = (*path, "requires")
    out: dict[str, Any] = {}
    actors = _actors(source, requires) if source.has(requires) else {}
    if source.has(requires):
        source.section(requires)
    predicates = _predicate_list(source, (*path, "if")) if source.has((*path, "if")) else []
    if not actors and not predicates:
        source.differs(
            path,
            "no one is named in `disapproval.requires`, so policy-bot's disapproval is off: "
            "`disapproval: {enabled: false}`",
            covers=False,
        )
        return At({"enabled": False}, source.line(path))
    if predicates:
        source.differs(
            (*path, "if"),
            "`disapproval.if`: disapproved while any of these holds (written as `any:`)",
        )
        out["if"] = At(predicates[0] if len(predicates) == 1 else {"any": predicates},
                       source.line((*path, "if")))
    # Nobody named: only the predicates disapprove. `from: {}` matches no one.
    out["from"] = At(actors, source.line(requires)) if actors else {}
    out["methods"] = _disapproval_methods(source, path)
    return At(out, source.line(path))


def _disapproval_methods(source: Source, path: Path) -> dict[str, Any]:
    options = (*path, "options")
    methods = (*options, "methods")
    disapprove = (*methods, "disapprove")
    revoke = (*methods, "revoke")
    for section in (options, methods, disapprove):
        if source.has(section):
            source.section(section)
    review = source.flag((*disapprove, "github_review"), True)
    if source.has((*disapprove, "github_review")):
        source.mapped((*disapprove, "github_review"), f"`methods.review: {str(review).lower()}`")
    if source.has((*disapprove, "comments")):
        comments = source.strings((*disapprove, "comments"))
        source.differs(
            (*disapprove, "comments"),
            "a comment containing one of these blocks: written as `comment_patterns` "
            "(literal text, searched)",
        )
    else:
        comments = list(DEFAULT_DISAPPROVE_COMMENTS)
    patterns = [literal_regex(c) for c in comments]
    if source.has((*disapprove, "comment_patterns")):
        extra = _regexes(source, (*disapprove, "comment_patterns"))
        patterns.extend(extra)
        source.mapped((*disapprove, "comment_patterns"), "`methods.comment_patterns`")
    if source.has(revoke):
        source.differs(
            revoke,
            "gatebot withdraws a person's disapproval when they later approve: an approving "
            "review, or a comment one of the rules takes as an approval; there is no separate "
            "list of revoke methods",
        )
    out: dict[str, Any] = {"review": review}
    if patterns:
        out["comment_patterns"] = (
            patterns if source.has((*disapprove, "comments")) else Default(patterns, FORMAT))
    return out


# -- rules ---------------------------------------------------------------------


def _rules(source: Source) -> list[Any]:
    if not source.has(("approval_rules",)):
        return []
    source.section(("approval_rules",))
    rules = []
    seen: set[str] = set()
    for index, raw in enumerate(source.items(("approval_rules",))):
        path: Path = ("approval_rules", index)
        if not isinstance(raw, dict):
            raise BadInput(f"{dotted(path)} must be a mapping", source.line(path))
        name = source.text((*path, "name"))
        if not name:
            raise BadInput(f"{dotted(path)} needs a `name`", source.line(path))
        if name in seen:
            raise BadInput(f"two rules are named `{name}`", source.line((*path, "name")))
        seen.add(name)
        source.section(path)
        rules.append(At(_rule(source, path, name), source.line(path)))
    return rules


def _rule(source: Source, path: Path, name: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": At(name, source.line((*path, "name")))}
    source.mapped((*path, "name"), "`name`")
    if source.has((*path, "description")):
        rule["description"] = At(source.text((*path, "description")),
                                 source.line((*path, "description")))
        source.mapped((*path, "description"), "`description`")
    if source.has((*path, "if")):
        predicates = _predicate_list(source, (*path, "if"))
        if predicates:
            rule["if"] = At(_all_of(predicates), source.line((*path, "if")))
    rule["requires"] = _requires(source, (*path, "requires"))
    options = _options(source, (*path, "options"))
    if source.number((*path, "requires", "count")) > 0:
        rule["options"] = options
    return rule


def _requires(source: Source, path: Path) -> Any:
    if not source.has(path):
        return {"approvals": 0}
    source.section(path)
    count = source.number((*path, "count"))
    if source.has((*path, "count")):
        source.mapped((*path, "count"), f"`requires.approvals: {count}`")
    out: dict[str, Any] = {"approvals": At(count, source.line((*path, "count")))
                           if source.has((*path, "count")) else 0}
    actors = _actors(source, path)
    if count > 0:
        if actors:
            out["from"] = actors
        else:
            # policy-bot counts no one when no one is named; gatebot's default
            # (write permission) would count people policy-bot never would.
            out["from"] = {}
            source.differs(
                path,
                "no users, teams, organizations or permissions: in policy-bot no approval "
                "qualifies, so the rule never passes; written as `from: {}`, which matches "
                "no one either",
            )
    if source.has((*path, "conditions")):
        predicates = _predicate_list(source, (*path, "conditions"))
        if predicates:
            out["conditions"] = At(_all_of(predicates), source.line((*path, "conditions")))
    return At(out, source.line(path))


def _options(source: Source, path: Path) -> dict[str, Any]:
    if source.has(path):
        source.section(path)
    allow_author = source.flag((*path, "allow_author"))
    allow_contributor = source.flag((*path, "allow_contributor"))
    non_author = source.flag((*path, "allow_non_author_contributor"))
    out: dict[str, Any] = {
        "allow_author": _origin(source, path, ("allow_author", "allow_contributor"),
                                allow_author or allow_contributor),
        "allow_contributors": _origin(
            source, path, ("allow_contributor", "allow_non_author_contributor"),
            allow_contributor or non_author),
    }
    for key in ("invalidate_on_push", "ignore_update_merges", "ignore_edited_comments"):
        out[key] = _origin(source, path, (key,), source.flag((*path, key)))
    if source.has((*path, "allow_author")):
        source.mapped((*path, "allow_author"), "`options.allow_author`")
    if source.has((*path, "allow_contributor")) and not allow_contributor:
        source.mapped((*path, "allow_contributor"), "false: contributors never count")
    elif source.has((*path, "allow_contributor")):
        source.differs(
            (*path, "allow_contributor"),
            "`allow_contributors` and, since policy-bot counts the author as a contributor, "
            "`allow_author`; gatebot's contributors also include whoever pushed to the branch",
        )
    if source.has((*path, "allow_non_author_contributor")) and not non_author:
        source.mapped((*path, "allow_non_author_contributor"), "false: contributors never count")
    elif source.has((*path, "allow_non_author_contributor")):
        source.differs(
            (*path, "allow_non_author_contributor"),
            "`allow_contributors` (the author still follows `allow_author`); gatebot's "
            "contributors also include whoever pushed to the branch",
        )
    if source.has((*path, "invalidate_on_push")):
        source.mapped(
            (*path, "invalidate_on_push"),
            "`options.invalidate_on_push` (gatebot times a push by when it saw the head "
            "change, policy-bot by its oldest status)",
        )
    if source.has((*path, "ignore_update_merges")):
        source.differs(
            (*path, "ignore_update_merges"),
            "`options.ignore_update_merges`; gatebot recognises an update merge by its "
            "content (no change of its own), not by GitHub's committed-via-web flag",
        )
    if source.has((*path, "ignore_edited_comments")):
        source.mapped((*path, "ignore_edited_comments"), "`options.ignore_edited_comments`")
    if source.has((*path, "ignore_commits_by")):
        source.unsupported(
            (*path, "ignore_commits_by"),
            "gatebot never ignores commits by who claims to have made them (commit authors "
            "can be forged); their authors count as contributors and their pushes "
            "invalidate approvals",
        )
    if source.has((*path, "request_review")):
        source.unsupported(
            (*path, "request_review"),
            "gatebot does not request reviewers; its status names who is missing "
            "(\"needs 1 more approval from ...\"). Use CODEOWNERS or GitHub's auto-assignment",
        )
    out["methods"] = _methods(source, (*path, "methods"))
    return out


def _origin(source: Source, path: Path, keys: tuple[str, ...], value: Any) -> Any:
    """`value` marked with the line of the first of `keys` present, else as policy-bot's default."""
    for key in keys:
        if source.has((*path, key)):
            return At(value, source.line((*path, key)))
    return Default(value, FORMAT)


def _methods(source: Source, path: Path) -> dict[str, Any]:
    if source.has(path):
        source.section(path)
    review = source.flag((*path, "github_review"), True)
    if source.has((*path, "github_review")):
        source.mapped((*path, "github_review"), f"`methods.review: {str(review).lower()}`")
    if source.has((*path, "comments")):
        comments = source.strings((*path, "comments"))
        source.differs(
            (*path, "comments"),
            "policy-bot approves a comment that contains one of these; gatebot's `comments` "
            "must equal the whole comment, so they are written as `comment_patterns` "
            "(literal text, searched)",
        )
    else:
        comments = list(DEFAULT_COMMENTS)
    patterns = [literal_regex(c) for c in comments]
    if source.has((*path, "comment_patterns")):
        patterns.extend(_regexes(source, (*path, "comment_patterns")))
        source.mapped((*path, "comment_patterns"), "`methods.comment_patterns` (RE2)")
    if source.has((*path, "github_review_comment_patterns")):
        extra = _regexes(source, (*path, "github_review_comment_patterns"))
        if extra:
            patterns.extend(extra)
            review = False
            source.unsupported(
                (*path, "github_review_comment_patterns"),
                "gatebot cannot require an approving review's body to match: review bodies "
                "count as comments, so these patterns were added to `comment_patterns` and "
                "`review` set to false — a review of any state whose body matches approves",
            )
        else:
            source.mapped((*path, "github_review_comment_patterns"), "empty: nothing to write")
    if source.has((*path, "body_patterns")):
        source.unsupported(
            (*path, "body_patterns"),
            "gatebot never takes the PR description as an approval (its author writes it); "
            "use a rule with `if: {title: ...}` or labels and `approvals: 0` for "
            "changes that need no review",
        )
    out: dict[str, Any] = {"review": _origin(source, path, ("github_review",), review)}
    if patterns:
        out["comment_patterns"] = (
            patterns if source.has((*path, "comments")) else Default(patterns, FORMAT))
    return out


def _regexes(source: Source, path: Path) -> list[str]:
    values = source.strings(path)
    for value in values:
        try:
            compile_regex(value)
        except RegexError as exc:
            raise BadInput(f"{dotted(path)}: `{value}` is not a regex RE2 accepts: {exc}",
                           source.line(path)) from None
    return values


# -- predicates ---------------------------------------------------------------------


def _all_of(predicates: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for predicate in predicates:
        if any(key in merged for key in predicate):
            return {"all": predicates}
        merged.update(predicate)
    return merged


def _predicate_list(source: Source, path: Path) -> list[dict[str, Any]]:
    """Each policy-bot predicate under `path` as one gatebot condition (a mapping)."""
    source.section(path)
    out: list[dict[str, Any]] = []
    for key in list(source.mapping(path)):
        handler = _PREDICATES.get(key)
        if handler is None:
            continue  # reported by `finish` as a key gatebot does not know
        try:
            converted = handler(source, (*path, key))
        except _Refused as refused:
            source.unsupported((*path, key), str(refused))
            continue
        if converted is not None:
            out.append({k: At(v, source.line((*path, key))) for k, v in converted.items()})
    return out


class _Refused(Exception):
    """A predicate that cannot be carried over; the message says why."""


def _globs(source: Source, path: Path, what: str) -> list[str]:
    globs: list[str] = []
    dots = False
    for regex in source.strings(path):
        try:
            converted = path_globs(regex)
        except NoGlob as exc:
            raise _Refused(
                f"the regex `{regex}` has no exact glob ({exc})" + _LEFT_OUT
            ) from None
        globs.extend(converted.globs)
        dots = dots or converted.dot_as_question_mark
    note = f"`{what}` globs {globs}" + _GLOB_NOTE
    if dots:
        note += "; a lone `.` became `?`, which does not match `/`"
    source.differs(path, note)
    return globs


def _changed_files(source: Source, path: Path) -> dict[str, Any]:
    source.section(path)
    out: dict[str, Any] = {"paths": _globs(source, (*path, "paths"), "changed_files paths")}
    if source.has((*path, "ignore")):
        out["ignore"] = _globs(source, (*path, "ignore"), "changed_files ignore")
    return {"changed_files": out}


def _only_changed_files(source: Source, path: Path) -> dict[str, Any]:
    source.section(path)
    paths = _globs(source, (*path, "paths"), "only_changed_files paths")
    source.differs(path, "`only_changed_files`; gatebot holds it false for a PR with no files")
    return {"only_changed_files": {"paths": paths}}


def _actor_set(source: Source, path: Path) -> dict[str, Any]:
    source.section(path)
    found: dict[str, Any] = {}
    for key in _ACTOR_KEYS:
        if source.has((*path, key)):
            found[key] = source.strings((*path, key))
            source.mapped((*path, key), f"`{key}`")
    if not found:
        raise BadInput(f"{dotted(path)} names no users, teams or organizations",
                       source.line(path))
    return found


def _has_author_in(source: Source, path: Path) -> dict[str, Any]:
    return {"author": {"in": _actor_set(source, path)}}


def _contributors(source: Source, path: Path) -> None:
    raise _Refused(
        "gatebot has no predicate on who contributed commits (only `author` and "
        "`author_is_only_contributor`)" + _LEFT_OUT
    )


def _author_only(source: Source, path: Path) -> dict[str, Any]:
    value = source.flag(path)
    source.differs(
        path,
        "`author_is_only_contributor`; gatebot also counts whoever pushed to the branch "
        "as a contributor",
    )
    return {"author_is_only_contributor": value}


def _branch(target: str) -> Any:
    def convert(source: Source, path: Path) -> dict[str, Any] | None:
        source.section(path)
        regex = source.text((*path, "pattern"))
        if regex is None:
            raise BadInput(f"{dotted(path)} needs a `pattern`", source.line(path))
        try:
            globs = ref_globs(regex)
        except NoGlob as exc:
            raise _Refused(
                f"the regex `{regex}` has no exact branch glob ({exc})" + _LEFT_OUT
            ) from None
        note = f"`{target}: {list(globs.globs)}`"
        if target == "source_branch":
            note += "; policy-bot names a fork's branch `owner:branch`, gatebot by the branch"
        if globs.dot_as_question_mark:
            note += "; a lone `.` became `?`, which does not match `/`"
        source.differs((*path, "pattern"), note)
        return {target: list(globs.globs)}

    return convert


def _comparison(value: str) -> str:
    text = value.strip()
    if text.startswith("=") and not text.startswith("=="):
        return "== " + text[1:].strip()
    return text


def _modified_lines(source: Source, path: Path) -> dict[str, Any] | None:
    source.section(path)
    bounds = []
    for key in ("additions", "deletions", "total"):
        if source.has((*path, key)):
            value = source.at((*path, key))
            if not isinstance(value, str):
                raise BadInput(f"{dotted((*path, key))} must be text such as \"> 100\"",
                               source.line((*path, key)))
            bounds.append({"modified_lines": {key: _comparison(value)}})
            source.mapped((*path, key), f"`modified_lines.{key}`")
    if not bounds:
        raise BadInput(f"{dotted(path)} needs additions, deletions or total", source.line(path))
    if len(bounds) == 1:
        return bounds[0]
    source.differs(path, "policy-bot holds `modified_lines` when ANY bound holds: `any: [...]`")
    return {"any": bounds}


def _has_successful_status(source: Source, path: Path) -> dict[str, Any]:
    names = source.strings(path)
    source.differs(
        path,
        "`checks: {success: [...]}`; gatebot also passes `neutral` and `skipped` results, "
        "and reads check runs as well as statuses",
    )
    return {"checks": {"success": names}}


def _has_status(source: Source, path: Path) -> dict[str, Any] | None:
    source.section(path)
    conclusions = source.strings((*path, "conclusions")) or ["success"]
    if source.has((*path, "conclusions")):
        if set(conclusions) != {"success"}:
            raise _Refused(
                "gatebot's `checks` predicate tests success (success, neutral, skipped) or "
                "failure, not a chosen list of conclusions" + _LEFT_OUT
            )
        source.mapped((*path, "conclusions"), "success")
    names = source.strings((*path, "statuses"))
    source.differs((*path, "statuses"),
                   "`checks: {success: [...]}`; gatebot also passes `neutral` and `skipped`")
    return {"checks": {"success": names}}


def _has_labels(source: Source, path: Path) -> dict[str, Any]:
    labels = source.strings(path)
    source.differs(path, "`labels: {all: [...]}`; gatebot compares labels case-insensitively")
    return {"labels": {"all": labels}}


def _title(source: Source, path: Path) -> dict[str, Any] | None:
    source.section(path)
    parts = []
    for key in ("matches", "not_matches"):
        if source.has((*path, key)):
            regexes = _regexes(source, (*path, key))
            source.mapped((*path, key), f"`title.{key}` (RE2)")
            if regexes:
                parts.append({"title": {key: regexes}})
    if not parts:
        raise BadInput(f"{dotted(path)} needs matches or not_matches", source.line(path))
    if len(parts) == 1:
        return parts[0]
    source.differs(
        path,
        "policy-bot holds `title` when it matches one of `matches` OR none of "
        "`not_matches`; gatebot ANDs the two keys, so this is written as `any: [...]`",
    )
    return {"any": parts}


def _refuse(reason: str) -> Any:
    def convert(source: Source, path: Path) -> None:
        raise _Refused(reason + _LEFT_OUT)

    return convert


_PREDICATES: dict[str, Any] = {
    "changed_files": _changed_files,
    "only_changed_files": _only_changed_files,
    "has_author_in": _has_author_in,
    "has_contributor_in": _contributors,
    "only_has_contributors_in": _contributors,
    "author_is_only_contributor": _author_only,
    "targets_branch": _branch("target_branch"),
    "from_branch": _branch("source_branch"),
    "modified_lines": _modified_lines,
    "has_successful_status": _has_successful_status,
    "has_status": _has_status,
    "has_labels": _has_labels,
    "title": _title,
    "repository": _refuse(
        "a gatebot policy belongs to one repository; share it with `remote:` instead of "
        "testing the repository name"),
    "has_valid_signatures": _refuse("gatebot does not read commit signatures"),
    "has_valid_signatures_by": _refuse("gatebot does not read commit signatures"),
    "has_valid_signatures_by_keys": _refuse("gatebot does not read commit signatures"),
}
