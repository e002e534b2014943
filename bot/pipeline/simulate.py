"""`gatebot simulate`: a proposed policy, or operator floor, tried on the open PRs.

Offline, from what the store keeps of each open PR (`bot.store.pull_snapshots`:
its latest snapshot and the policy that judged it), nothing is read from the
forge: `from_store` judges every kept PR of a repository (or, for a proposed
floor, of every repository) under today's policies and under the proposed
ones. The table is `bot.core.impact_render.table`.

Live (`live`), one PR is read with the configured credentials and judged the
same way, optionally as if someone had approved it; only reads are made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.policy.evaluate import needs_for
from bot.core.policy.loader import load_policy_file
from bot.core.policy.models import Policy
from bot.core.simulate import Outcome, Policies, StoredPull, outcome, with_approval
from bot.keys import ForgeAccess, PullKey
from bot.pipeline.impact import snapshot_of
from bot.pipeline.operator import OperatorConfig
from bot.pipeline.policies import governing
from bot.providers.base import Forge
from bot.store import Store, pull_snapshots
from bot.store.pull_snapshots import SavedPull


@dataclass(frozen=True)
class Proposal:
    """What to try: a repository policy and/or an operator floor (None: today's)."""

    policy: Policy | None = None
    floor: Policy | None = None

    def over(self, current: Policies) -> Policies:
        """The proposed policies, today's where nothing is proposed."""
        if self.policy is None:
            return Policies(current.policy, self.floor or current.floor, current.problems)
        return Policies(self.policy, self.floor or current.floor)


def today(
    row: SavedPull, floor: Policy | None, deploy_targets: Mapping[str, Sequence[str]]
) -> Policies:
    """The policies that judged a kept PR: its policy as stored beside it, and the floor."""
    if row.policy_text is None:
        return Policies(None, floor)
    loaded = load_policy_file(
        row.policy_text, row.policy_file or "policy", deploy_targets=deploy_targets, repo=row.repo
    )
    return Policies(loaded.policy, floor, () if loaded.policy is not None else loaded.errors)


def from_store(
    store: Store,
    providers: Sequence[str],
    repo: str | None,
    proposal: Proposal,
    *,
    floor: Policy | None,
    deploy_targets: Mapping[str, Sequence[str]],
) -> list[Outcome]:
    """Every kept open PR of `repo` (every repository when None) judged today and under
    `proposal`."""
    with store.begin() as conn:
        rows = [
            row
            for provider in providers
            for row in (
                pull_snapshots.in_repo(conn, provider, repo)
                if repo is not None
                else pull_snapshots.every(conn, provider)
            )
        ]
    found = []
    for row in rows:
        snapshot = snapshot_of(row)
        if snapshot is None:
            continue
        current = today(row, floor, deploy_targets)
        found.append(outcome(StoredPull(row.repo, snapshot), current, proposal.over(current)))
    return found


def live(
    forge: Forge,
    key: PullKey,
    access: ForgeAccess,
    proposal: Proposal,
    operator: OperatorConfig,
    *,
    approved_by: str | None = None,
) -> Outcome:
    """One PR read from the forge now, judged by today's policies (from the head of its
    base branch, with the operator's floor) and by `proposal` — optionally as if
    `approved_by` had approved it. Reads only: nothing is written to the forge."""
    with forge.evaluation(key, access) as ev:
        policies = governing(
            ev.policy_sources(), operator.floor, repo=key.repo,
            deploy_targets=operator.deploy_targets,
        )
        current = Policies(policies.policy, policies.floor, policies.problems)
        proposed = proposal.over(current)
        needs = needs_for(current.policy, current.floor) | needs_for(
            proposed.policy, proposed.floor
        )
        snapshot = ev.snapshot(needs)
        if approved_by is not None:
            directory = ev.people_directory(
                [approved_by], sorted(needs.teams), sorted(needs.organizations)
            )
            snapshot = with_approval(snapshot, approved_by, directory)
    return outcome(StoredPull(key.repo, snapshot), current, proposed)
