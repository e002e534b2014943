"""Deploy templates: the one filler of `{merge_sha}`-style placeholders.

Policy entries (`payload`, `inputs`, `variables`, …) and operator targets
(an `aws_codedeploy` target's S3 key or AppSpec content) are filled here
alike. The policy loader refuses unknown placeholders in policy files;
`unknown_placeholders` does the same for the operator's targets file at
start-up, so a typo never waits for the first merge.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

TARGET_PLACEHOLDERS = frozenset(
    {"merge_sha", "head_sha", "number", "base", "environment", "repository"}
)
"""What an operator target's templates may use: the policy's deploy placeholders and
the repository (`owner/name`)."""


class TemplateError(ValueError):
    pass


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill the deploy placeholders; the loaders already refused unknown ones."""
    try:
        return string.Formatter().vformat(template, (), dict(values))
    except (KeyError, IndexError, ValueError, AttributeError):
        raise TemplateError(f"the template `{template}` cannot be filled") from None


def unknown_placeholders(template: str, allowed: Iterable[str]) -> list[str] | None:
    """The placeholders of `template` not in `allowed`; None if it does not parse."""
    known = frozenset(allowed)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError:
        return None
    return [f for f in fields if f not in known]
