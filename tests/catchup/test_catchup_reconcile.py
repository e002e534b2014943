"""The catch-up's reconcile against both fakes: what it marks, where it stops, what it costs."""

from __future__ import annotations

from datetime import timedelta

import gitlab_helpers
import pytest
from github_helpers import rig_fixture  # noqa: F401
from support.forge_rig import Clock, migrated_store

from bot.catchup.listing import GitHubLister, GitLabLister
from bot.catchup.reconcile import Reconcile
from bot.catchup.round import CatchUp, caught_up_to
from bot.keys import PullKey
from bot.providers.github.client import ClientConfig as GitHubConfig
from bot.providers.gitlab.client import ClientConfig as GitLabConfig
from bot.retry import RetryPolicies
from bot.store import dirty, evaluations, pulls, reconcile_marks, utcnow

REPO = "acme/api"


def remember(store, provider, repo, number, sha, base="main", state=pulls.OPEN, *,
             updated_at, installation_id=None, verdict=True):
    with store.begin() as conn:
        pulls.remember(
            conn,
            pulls.PullState(provider, repo, number, base, sha, state, installation_id, updated_at),
            utcnow(),
        )
        if verdict:
            evaluations.record(conn, evaluations.Posted(
                provider, repo, sha, "gatebot", number, "success", "ok", None, False, True,
                None, None, utcnow(),
            ))


def dirty_keys(store):
    with store.begin() as conn:
        return sorted(dirty.claimable(conn, utcnow() + timedelta(days=1)))


def github_step(rig, **options):
    retries = RetryPolicies.build(max_wait=1, sleep=rig.sleeps.append)
    lister = GitHubLister(rig.forge.app, GitHubConfig.from_settings(rig.settings), retries)
    return Reconcile(lister, rig.store, budget=options.pop("budget", 100), **options)


def test_github_marks_what_the_store_knows_differently_and_nothing_twice(rig):
    fake = rig.fake
    fake.add_repo(REPO)
    installation = fake.installation_id(REPO)
    same = fake.open_pr(REPO, 1)
    pushed = fake.open_pr(REPO, 2)
    old_head = pushed.head_sha
    fake.open_pr(REPO, 3)
    merged = fake.open_pr(REPO, 4)
    for pr in (same, pushed, merged):
        remember(rig.store, "github", REPO, pr.number, pr.head_sha,
                 updated_at=pr.updated_at, installation_id=installation)
    fake.push(REPO, 2)
    fake.merge_pr(REPO, 4)
    step = github_step(rig)

    report = step.run(utcnow())

    assert old_head != fake.pr(REPO, 2).head_sha
    assert dirty_keys(rig.store) == [PullKey("github", REPO, n) for n in (2, 3, 4)]
    assert report.acted == 3 and report.examined == 4 and report.complete
    assert report.error is None
    assert any("#3 marked: opened while unseen" in line for line in report.lines)
    assert any("#4 marked: open in the store, closed on the forge" in line
               for line in report.lines)
    with rig.store.begin() as conn:
        assert pulls.get(conn, "github", REPO, 4).state == pulls.CLOSED
    # a token mint and one page
    assert report.requests == 2

    again = step.run(utcnow())
    assert again.acted == 0 and again.complete and again.requests == 1
    assert caught_up_to([again]) is not None


def test_github_walks_pages_down_to_the_mark_and_keeps_the_budget(rig):
    fake = rig.fake
    fake.add_repo(REPO)
    installation = fake.installation_id(REPO)
    first = fake.open_pr(REPO, 1)
    remember(rig.store, "github", REPO, 1, first.head_sha, updated_at=first.updated_at,
             installation_id=installation)
    for number in range(2, 252):
        fake.open_pr(REPO, number)
    # a budget of two requests: the mint and the first page
    cut_short = github_step(rig, budget=2).run(utcnow())
    assert not cut_short.complete and cut_short.acted == 100
    with rig.store.begin() as conn:
        assert reconcile_marks.get(conn, "github", REPO) is None

    later = utcnow() + timedelta(minutes=10)
    whole = github_step(rig).run(later)
    assert whole.complete and whole.acted == 150
    pages = [r for r in fake.requests if r.operation_id == "pulls/list"]
    assert [r.query.get("per_page") for r in pages][-3:] == [["100"]] * 3
    assert all(r.query.get("sort") == ["updated"] and r.query.get("state") == ["all"]
               for r in pages)
    with rig.store.begin() as conn:
        assert reconcile_marks.get(conn, "github", REPO) is not None

    # with the mark set and nothing changed since (beyond the overlap), one page is enough
    before = len(fake.requests)
    quiet = github_step(rig).run(later + timedelta(minutes=10))
    assert quiet.acted == 0 and quiet.requests == 1 and len(fake.requests) == before + 1


def test_github_a_forge_failure_is_one_sentence_and_leaves_the_mark(rig):
    fake = rig.fake
    fake.add_repo(REPO)
    pr = fake.open_pr(REPO, 1)
    remember(rig.store, "github", REPO, 1, pr.head_sha, updated_at=pr.updated_at,
             installation_id=fake.installation_id(REPO))
    fake.fail("pulls/list", status=502, times=10)
    report = github_step(rig).run(utcnow())
    assert not report.complete
    assert report.error == f"{REPO}: the forge's list failed (server 502)"
    assert "http" not in report.error


@pytest.fixture(name="gitlab_rig")
def gitlab_rig(fake_gitlab, tmp_path):
    settings = gitlab_helpers.settings_for(fake_gitlab, tmp_path)
    with migrated_store(settings) as store:
        yield gitlab_helpers.Rig(fake_gitlab, store, settings, Clock())
        fake_gitlab.assert_clean()


def gitlab_step(rig, **options):
    retries = RetryPolicies.build(max_wait=1, sleep=rig.sleeps.append)
    lister = GitLabLister(GitLabConfig.from_settings(rig.settings), rig.fake.token, retries)
    return Reconcile(lister, rig.store, budget=options.pop("budget", 100), **options)


def test_gitlab_marks_pushed_merged_and_unseen_merge_requests(gitlab_rig):
    rig = gitlab_rig
    fake = rig.fake
    fake.add_project(REPO)
    same = fake.open_mr(REPO, 1)
    pushed = fake.open_mr(REPO, 2)
    merged = fake.open_mr(REPO, 4)
    for mr in (same, pushed, merged):
        remember(rig.store, "gitlab", REPO, mr.iid, mr.sha, updated_at=mr.updated)
    fake.open_mr(REPO, 3)
    fake.push(REPO, 2)
    fake.merge_mr(REPO, 4, by="alice")

    report = gitlab_step(rig).run(utcnow())

    assert dirty_keys(rig.store) == [PullKey("gitlab", REPO, n) for n in (2, 3, 4)]
    assert report.acted == 3 and report.complete and report.requests == 1
    listed = [r for r in fake.requests if str(r.route) == "GET /projects/:id/merge_requests"]
    assert listed[-1].query.get("order_by") == ["updated_at"]
    assert "updated_after" in listed[-1].query

    again = gitlab_step(rig).run(utcnow())
    assert again.acted == 0 and again.requests == 1


def test_gitlab_follows_x_next_page(gitlab_rig):
    rig = gitlab_rig
    fake = rig.fake
    fake.add_project(REPO)
    first = fake.open_mr(REPO, 1)
    remember(rig.store, "gitlab", REPO, 1, first.sha, updated_at=first.updated)
    for iid in range(2, 153):
        fake.open_mr(REPO, iid)
    report = CatchUp([gitlab_step(rig)]).round(utcnow())[0]
    assert report.acted == 151 and report.requests == 2 and report.complete
