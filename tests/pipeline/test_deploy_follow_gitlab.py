"""A GitLab pipeline deploy followed to its end through the fake GitLab: the pipeline
id its creation answered is read back until it ends, the one note is edited in place,
and a pipeline that never ends times out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakegitlab import DEVELOPER
from gitlab_helpers import PROJECT, Rig, gitlab_rig_fixture  # noqa: F401
from support.forge_rig import ONE_APPROVAL

from bot.core.policy.loader import load_policy
from bot.pipeline.deploy import DeployStep, MergedPull
from bot.pipeline.deploy_follow import DeployFollower
from bot.store import deploy_outcomes, deploys
from bot.store.deploys import DeployKey

SHA = "a" * 40

PIPELINE = """\
  - name: pipeline
    branches: [main]
    via:
      gitlab_pipeline: {}
"""


def deployed(rig: Rig) -> int:
    """`/gate deploy` of MR !7's (pretended) merge through a pipeline; the pipeline's id."""
    rig.fake.add_project(PROJECT, files={".gitlab/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_access(PROJECT, "mia", DEVELOPER)
    rig.fake.open_mr(PROJECT, 7, author="alice", source="feature")
    loaded = load_policy(f"{ONE_APPROVAL}deploy:\n{PIPELINE}")
    assert loaded.ok, loaded.problems
    merged = MergedPull(rig.key(7), "main", SHA, SHA, "main")
    with rig.open(7) as ev:
        ev.pull()
        DeployStep(rig.store, rig.clock, {}).by_command(ev, loaded.policy, merged, None, "mia")
    (pipeline,) = rig.fake.pipelines_created
    return pipeline.id


def follower(rig: Rig, minutes: float = 60) -> DeployFollower:
    return DeployFollower(store=rig.store, forges={"gitlab": rig.forge}, targets={},
                          caller=None, clock=rig.clock, timeout=timedelta(minutes=minutes))


def bot_notes(rig: Rig) -> list[str]:
    return [n.body for n in rig.fake.notes(PROJECT, 7) if n.body.startswith("Deploy")]


def row(rig: Rig) -> deploy_outcomes.Outcome:
    with rig.store.begin() as conn:
        found = deploy_outcomes.get(conn, DeployKey("gitlab", PROJECT, SHA, "pipeline"))
    assert found is not None
    return found


@pytest.mark.parametrize(("status", "stage"), [("success", "succeeded"), ("failed", "failed"),
                                               ("canceled", "failed")])
def test_a_pipeline_deploy_is_read_back_until_it_ends(rig, status, stage):
    pipeline_id = deployed(rig)
    assert row(rig).reference == str(pipeline_id)
    (started,) = bot_notes(rig)
    assert started.startswith(f"Deploying {SHA[:12]} to `pipeline` (`pipeline`, gitlab_pipeline)")
    follow = follower(rig)
    rig.fake.set_pipeline_status(PROJECT, pipeline_id, "running")
    rig.clock.advance(seconds=16)
    follow.run_once()
    assert row(rig).stage == "running"
    rig.fake.set_pipeline_status(PROJECT, pipeline_id, status)
    rig.clock.advance(seconds=16)
    follow.run_once()
    assert row(rig).stage == stage
    (said,) = bot_notes(rig)
    assert f"**{stage}**" in said and f"/pipelines/{pipeline_id}" in said
    rig.clock.advance(seconds=600)
    follow.run_once()
    assert len(bot_notes(rig)) == 1
    assert len(rig.fake.requests_for("PUT /projects/:id/merge_requests/:iid/notes/:note_id")) == 1
    with rig.store.begin() as conn:
        assert [e.outcome for e in deploys.audit(conn)] == ["requested", "deployed", stage]


def test_a_pipeline_that_never_ends_times_out(rig):
    deployed(rig)
    follow = follower(rig, minutes=1)
    rig.clock.advance(seconds=61)
    follow.run_once()
    assert row(rig).stage == "timed out"
    (said,) = bot_notes(rig)
    assert "**timed out** after 1 min 1 s" in said
