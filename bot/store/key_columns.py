"""How a work key is written in a row's `(provider, repo, number)` columns, and read back.

The dirty table, the runs, the recorded verdicts of a merge group and the
queue's wake-up calls all keep a key in those three columns. A PR's key is
written as it is. A merge-queue group's is written with its forge's
provider and the suffix `-mq` (`github-mq`) and the group's id as number —
the encoding these rows have always had, so rows written before keys had
kinds read back the same. This is the one place that knows it: everything
else asks a key its kind by its type (`bot.keys`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.keys import GroupKey, PullKey, WorkKey

_GROUP_SUFFIX = "-mq"


def columns(key: WorkKey) -> tuple[str, str, int]:
    """`key` as the `(provider, repo, number)` a row keeps."""
    if isinstance(key, GroupKey):
        return key.provider + _GROUP_SUFFIX, key.repo, key.group_id
    return key.provider, key.repo, key.number


def key_of(provider: str, repo: str, number: int) -> WorkKey:
    """The key a row's `(provider, repo, number)` names."""
    if provider.endswith(_GROUP_SUFFIX):
        return GroupKey(provider.removesuffix(_GROUP_SUFFIX), repo, number)
    return PullKey(provider, repo, number)


def providers_of(provider: str) -> tuple[str, str]:
    """The providers a row keeps for `provider`'s work: its PRs' and its merge groups'."""
    return provider, provider + _GROUP_SUFFIX


def in_column_order(keys: Iterable[WorkKey]) -> list[WorkKey]:
    """`keys` sorted as their rows sort (PR and group keys do not compare with each other)."""
    return sorted(keys, key=columns)
