"""`Push Hook`: a branch moved.

Every branch push marks the merge requests whose head is the pushed commit
(`MarkHead`; the MR's own `update` event marks it too, whichever arrives
first). A push matters more when its commits touch a policy file
(`.gitlab/gatebot.yml`, `.gatebot.yml`) or CODEOWNERS (root, `.gitlab/`,
`docs/`): the files cached for that branch are dropped and every open MR
into it is marked (`MarkBase`). The commits' `added` / `modified` /
`removed` lists say which paths changed; when they cannot be trusted to be
complete — no list, an empty list, or fewer commits listed than
`total_commits_count` (GitLab lists at most 20) — the push is assumed to
touch them. A push to the default branch also drops the files read without
a ref (the target of other projects' `remote:` policies); a push that
rewrites history lists only the new commits, and the file cache's TTL
covers what it took away.

Tag pushes (which GitLab sends as `Tag Push Hook`, but a `Push Hook` naming
a tag is not trusted either) and branch deletions (`after` all zeros) do no
work.
"""

from __future__ import annotations

from typing import Any

from bot.events.effects import DropBranchFiles, MarkBase, MarkHead
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import listed_paths, sha, text
from bot.events.router import Routed, Router, do, ignore
from bot.forges import GITLAB

router: Router[Delivery] = Router()

BRANCH_FILES = frozenset(GITLAB.policy_paths + GITLAB.codeowners_paths)

_ZERO_SHA = "0" * 40


def changed_paths(payload: dict[str, Any]) -> frozenset[str] | None:
    """Every path the push's commits added, modified or removed; None if not knowable."""
    commits = payload.get("commits")
    if not isinstance(commits, list) or not commits:
        return None
    total = payload.get("total_commits_count")
    if isinstance(total, int) and total > len(commits):
        return None
    return listed_paths(commits)


@router.register("Push Hook")
def push(d: Delivery) -> Routed:
    ref = text(d.get("ref")) or ""
    if d.repo is None:
        return ignore("the payload names no project")
    if not ref.startswith("refs/heads/"):
        return ignore("a tag push: merge requests are judged against branches")
    after = sha(d.get("after"))
    if after is None or after == _ZERO_SHA:
        return ignore("a deleted branch: there is no head left to judge")
    name = ref.removeprefix("refs/heads/")
    heads = MarkHead(d.repo, after)
    paths = changed_paths(d.payload)
    if paths is not None and paths.isdisjoint(BRANCH_FILES):
        return do(heads)
    default = text(d.get("project", "default_branch"))
    return do(
        DropBranchFiles(d.repo, name, default),
        MarkBase(d.repo, name),
        heads,
        note=f"the policy or CODEOWNERS of {name} may have changed",
    )
