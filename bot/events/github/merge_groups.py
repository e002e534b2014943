"""`merge_group`: the merge queue asks for a verdict on a group's head commit.

`checks_requested` records the group — repository, head SHA (where the
status goes), base branch and SHA, and the PRs in it — and marks it for the
pipeline (see `bot/store/merge_groups.py` for its key in the dirty table);
the group passes only if every PR in it passes at its head. `destroyed`
(merged, dequeued, invalidated) marks the group ended, so a pipeline still
holding it stops.

GitHub names the group's branch `gh-readonly-queue/<base>/pr-<number>-<sha>`
after the PR at its tip; the head commit's message names the PRs merged in
it, as `Merge pull request #<n> from ...` (merge) or a subject ending in
`(#<n>)` (squash). Those names are only where the pipeline starts: it finds
the group's members in its commits (`bot.pipeline.merge_group`), since PRs
ahead in the queue go unnamed and titles are the PR authors' to choose.
"""

from __future__ import annotations

import re
from typing import Any

from bot.events.effects import EndMergeGroup, RequestMergeGroup
from bot.events.github import readers
from bot.events.github.delivery import Delivery
from bot.events.payload import get, sha, text
from bot.events.router import Routed, Router, do, ignore

router = Router()

_QUEUE_REF = re.compile(r"(?:^|/)gh-readonly-queue/.+/pr-(\d+)-[0-9a-f]{7,64}$")
_MERGE_MESSAGE = re.compile(r"^Merge pull request #(\d+) from ", re.MULTILINE)
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*$")
_MAX_PULLS = 100  # GitHub's largest merge group


def pull_numbers(group: Any) -> tuple[int, ...]:
    """The PRs a `merge_group` object names, in number order."""
    found: set[int] = set()
    head_ref = text(get(group, "head_ref"), 1000)
    if head_ref is not None and (match := _QUEUE_REF.search(head_ref)):
        found.add(int(match.group(1)))
    message = text(get(group, "head_commit", "message"), 100_000)
    if message is not None:
        found.update(int(n) for n in _MERGE_MESSAGE.findall(message))
        subject = message.splitlines()[0] if message.strip() else ""
        if match := _SQUASH_SUBJECT.search(subject):
            found.add(int(match.group(1)))
    return tuple(sorted(n for n in found if n > 0))[:_MAX_PULLS]


@router.register("merge_group", "checks_requested")
def checks_requested(d: Delivery) -> Routed:
    group = d.get("merge_group")
    head_sha = sha(get(group, "head_sha"))
    head_ref = text(get(group, "head_ref"))
    base_ref = readers.branch(get(group, "base_ref"))
    if d.repo is None or head_sha is None or head_ref is None or base_ref is None:
        return ignore("the payload names no merge group")
    # The names are a first guess (the pipeline reads the group's commits for
    # its members): a group that names no PR is still judged.
    numbers = pull_numbers(group)
    return do(
        RequestMergeGroup(
            repo=d.repo,
            head_sha=head_sha,
            head_ref=head_ref,
            base_ref=base_ref,
            base_sha=sha(get(group, "base_sha")),
            numbers=numbers,
        ),
        note=f"merge group naming {', '.join(f'#{n}' for n in numbers) or 'no pull request'}",
    )


@router.register("merge_group", "destroyed")
def destroyed(d: Delivery) -> Routed:
    head_sha = sha(d.get("merge_group", "head_sha"))
    if d.repo is None or head_sha is None:
        return ignore("the payload names no merge group")
    return ignore(
        f"the merge group was {text(d.get('reason')) or 'dropped'}: it needs no verdict",
        EndMergeGroup(d.repo, head_sha),
    )
