"""The forge registry (`bot.forges`): one entry per forge, read by the settings, the
worker's pipeline of every configured forge, and the adapters' policy readers."""

from __future__ import annotations

from fakegitlab import FakeGitLab
from gitlab_helpers import settings_for as gitlab_settings

from bot.forges import FORGES, GITLAB
from bot.pipeline.forges import ForgePipelines, builder, forge_pipeline
from bot.settings import Mode, Settings
from bot.store import Store


def test_each_forge_is_one_entry_whose_pipeline_builder_loads():
    assert [kind.provider for kind in FORGES] == ["github", "gitlab"]
    assert len({kind.provider for kind in FORGES}) == len(FORGES)
    assert [kind.policy_paths[-1] for kind in FORGES] == [".gatebot.yml", ".gatebot.yml"]
    for kind in FORGES:
        assert callable(builder(kind))


def test_the_settings_tell_which_forges_are_configured(fake_gitlab: FakeGitLab, tmp_path):
    nothing = Settings.model_validate(
        {"GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"}
    )
    assert nothing.configured_forges == () and nothing.mode is Mode.SETUP
    gitlab_only = gitlab_settings(fake_gitlab, tmp_path)
    assert gitlab_only.configured_forges == (GITLAB,)
    assert (gitlab_only.gitlab_configured, gitlab_only.github_configured) == (True, False)
    assert gitlab_only.mode is Mode.FULL


def test_the_worker_builds_one_pipeline_per_configured_forge(fake_gitlab: FakeGitLab, tmp_path):
    settings = gitlab_settings(fake_gitlab, tmp_path)
    store = Store(settings.database_url)
    try:
        store.migrate()
        pipelines = forge_pipeline(settings, store)
    finally:
        store.close()
    assert isinstance(pipelines, ForgePipelines)
    assert sorted(pipelines.by_provider) == ["gitlab"]
