"""The details page: signed links, the last evaluation as HTML, read in Chromium."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from factories import HEAD, OLD_HEAD, check, make_snapshot, review
from factories import policy as load_policy
from sqlalchemy import select
from support.apps import AppUnderTest, build_app
from support.browser import chromium_path
from werkzeug.serving import make_server

from bot import links
from bot.core import render
from bot.core.gate import PolicyFile, decide
from bot.core.policy.evaluate import evaluate
from bot.providers import publishing
from bot.settings import Settings
from bot.store import deploy_outcomes, deploys
from bot.store.deploys import DeployKey
from bot.store.evaluations import Posted
from bot.store.tables import signing_keys

REPO = "acme/api"
POLICY = load_policy("""
version: 1
policy:
  approval: [two-reviewers]
rules:
  - name: two-reviewers
    requires:
      approvals: 2
      from: {teams: [acme/backend, acme/platform]}
      distinct_teams: 2
checks:
  - name: "ci / lint"
    app: github-actions
""")


@pytest.fixture
def site(github_app_env: dict[str, str]) -> AppUnderTest:
    env = {**github_app_env, "GATEBOT_PUBLIC_URL": "https://gatebot.example.com/"}
    return build_app(env)


def _post_decision(
    site: AppUnderTest, number: int = 7, head_sha: str = HEAD, minute: int = 0
) -> None:
    snapshot = make_snapshot(
        number=number,
        head_sha=head_sha,
        reviews=(review("bob", sha=OLD_HEAD), review("carol"), review("ada")),
        checks=(check("ci / lint", "failure", app="travis"),),
    )
    decision = replace(
        decide(evaluate(POLICY, snapshot), snapshot),
        policy_file=PolicyFile(REPO, ".github/gatebot.yml", "b" * 40),
    )
    # As the publisher records what it posted: the verdict and the PR's history.
    publishing.record(site.store, Posted(
        provider="github", repo=REPO, sha=snapshot.head_sha, context="gatebot: main",
        number=number, state=decision.state,
        description=render.status_description(decision), details_url=None,
        report_only=False, status_posted=True, check_run_id=None,
        explanation=json.dumps(render.to_json(decision)),
        posted_at=datetime(2024, 5, 1, 13, minute, tzinfo=UTC),
    ))


def _url(site: AppUnderTest, number: int = 7, head_sha: str = HEAD) -> str | None:
    return links.DetailsLinks(site.settings, site.store).url("github", REPO, number, head_sha)


def _path(site: AppUnderTest, number: int = 7, head_sha: str = HEAD) -> str:
    url = _url(site, number, head_sha)
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://gatebot.example.com"
    return f"{parts.path}?{parts.query}"


def test_signed_link_shows_the_last_evaluation(site):
    _post_decision(site)
    response = site.client.get(_path(site))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "acme/api#7" in page
    assert "gatebot: pending" in page
    assert "needs 1 more approval from acme/backend or acme/platform" in page
    assert "approved dead002, before the last push" in page
    assert "is the author" in page
    assert "reported by travis, not github-actions" in page
    assert response.headers["Cache-Control"] == "private, no-store"


def test_the_page_links_to_the_pr_and_shows_its_verdicts_newest_first(site):
    _post_decision(site, head_sha=OLD_HEAD, minute=0)
    _post_decision(site, head_sha=OLD_HEAD, minute=1)  # the same verdict: no new row
    _post_decision(site, head_sha=HEAD, minute=2)
    page = site.client.get(_path(site)).get_data(as_text=True)
    assert 'href="https://github.com/acme/api/pull/7"' in page
    assert f'href="https://github.com/acme/api/blob/{"b" * 40}/.github/gatebot.yml"' in page
    history = page[page.index('<table id="history">'):]
    rows = history.split("<tr>")[2:]
    assert len(rows) == 2
    assert "2024-05-01 13:02:00" in rows[0] and HEAD[:7] in rows[0]
    assert "2024-05-01 13:00:00" in rows[1] and OLD_HEAD[:7] in rows[1]
    assert all("needs 1 more approval" in row for row in rows)


def test_a_merged_prs_page_lists_its_deploys_and_how_each_ended(site):
    _post_decision(site)
    started = datetime(2024, 5, 1, 13, 5, tzinfo=UTC)
    merge_sha = "m" * 40
    with site.store.begin() as conn:
        for name, method in (("production", "github_deployment"),
                             ("notify", "repository_dispatch")):
            key = DeployKey("github", REPO, merge_sha, name)
            deploys.open_intent(conn, key, number=7, method=method, environment=name,
                                now=started)
            deploys.settle(conn, key, deploys.DEPLOYED, started,
                           link="https://github.com/acme/api/actions")
        prod = DeployKey("github", REPO, merge_sha, "production")
        deploy_outcomes.start(conn, prod, number=7, method="github_deployment",
                              environment="production", now=started, reference="5")
        deploy_outcomes.end(conn, prod, deploy_outcomes.FAILED, started + timedelta(seconds=64),
                            link="https://ci.example/run/9", message="smoke <tests> failed")
        other = DeployKey("github", REPO, "n" * 40, "production")
        deploys.open_intent(conn, other, number=8, method="github_deployment",
                            environment="production", now=started)
    page = site.client.get(_path(site)).get_data(as_text=True)
    assert "<h3>Deploys</h3>" in page
    assert "failed: smoke &lt;tests&gt; failed" in page and "64 s" in page
    assert '<a href="https://ci.example/run/9" rel="noreferrer">' in page
    assert "<td>sent</td>" in page and "repository_dispatch" in page
    assert page.count("<code>mmmmmmm</code>") == 2 and "nnnnnnn" not in page
    with site.store.begin() as conn:
        ended = [e for e in deploys.audit(conn) if e.outcome == "failed"]
    assert [e.detail for e in ended] == ["after 64 s: smoke <tests> failed"]


@pytest.mark.parametrize(
    "tamper", ["wrong", "missing", "no-sha", "other-sha", "other-pr", "other-repo"]
)
def test_bad_or_missing_signatures_look_like_missing_pages(site, tamper):
    _post_decision(site, number=7)
    _post_decision(site, number=8)
    path = _path(site, 7)
    if tamper == "wrong":
        path = path[:-4] + "0000"
    elif tamper == "missing":
        path = path.split("?")[0]
    elif tamper == "no-sha":
        path = path.replace(f"sha={HEAD}&", "")
    elif tamper == "other-sha":
        path = path.replace(f"sha={HEAD}", f"sha={OLD_HEAD}")
    elif tamper == "other-pr":
        path = path.replace("/7?", "/8?")
    else:
        path = path.replace("/acme/api/", "/acme/web/")
    response = site.client.get(path)
    assert response.status_code == 404
    assert "two-reviewers" not in response.get_data(as_text=True)


def test_unknown_pr_with_a_valid_signature_is_404(site):
    assert site.client.get(_path(site, 99)).status_code == 404


def test_links_need_a_public_url(github_app_env):
    settings = Settings.model_validate(github_app_env)
    assert links.DetailsLinks(settings, None).url("github", REPO, 7, HEAD) is None


def test_secret_key_setting_changes_the_signature(site, github_app_env):
    keyed = Settings.model_validate(
        {**github_app_env, "GATEBOT_PUBLIC_URL": "https://x", "GATEBOT_SECRET_KEY": "k" * 32}
    )
    with_key = links.DetailsLinks(keyed, site.store).url("github", REPO, 7, HEAD)
    assert with_key is not None and with_key.split("sig=")[1] != _url(site).split("sig=")[1]
    # The key never appears in the link itself.
    assert "k" * 32 not in with_key


def test_a_link_signed_with_the_webhook_secret_no_longer_opens(site, webhook_secret):
    """Without GATEBOT_SECRET_KEY the key used to be derived from the webhook secret,
    which everyone who configures a hook knows."""
    _post_decision(site)
    derived = hmac.new(webhook_secret.encode(), b"gatebot details links", hashlib.sha256).digest()
    base = f"/details/github/{REPO}/7"
    old = hmac.new(derived, f"github\n{REPO}\n7".encode(), hashlib.sha256).hexdigest()[:32]
    assert site.client.get(f"{base}?sig={old}").status_code == 404
    new = hmac.new(derived, f"github\n{REPO}\n7\n{HEAD}".encode(), hashlib.sha256).hexdigest()[:32]
    assert site.client.get(f"{base}?sha={HEAD}&sig={new}").status_code == 404
    assert site.client.get(_path(site)).status_code == 200


def test_the_generated_key_is_kept_in_the_store_and_shared_by_every_instance(
    site, github_app_env, tmp_path
):
    _post_decision(site)
    path = _path(site)
    with site.store.begin() as conn:
        (name,) = conn.execute(select(signing_keys.c.name)).scalars()
    assert name == "details-links"
    # Another instance on the same database (or this one restarted) opens the same link.
    env = {**github_app_env, "GATEBOT_PUBLIC_URL": "https://gatebot.example.com/"}
    other = build_app(env)
    assert _path(other) == path
    assert other.client.get(path).status_code == 200
    # A deployment with its own database has its own key.
    elsewhere = build_app(
        {**env, "GATEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"}
    )
    _post_decision(elsewhere)
    assert _path(elsewhere) != path
    assert elsewhere.client.get(path).status_code == 404


def test_a_link_to_an_older_head_stops_opening_once_a_newer_head_has_a_verdict(site):
    _post_decision(site, head_sha=OLD_HEAD, minute=0)
    old = _path(site, head_sha=OLD_HEAD)
    assert site.client.get(old).status_code == 200
    _post_decision(site, head_sha=HEAD, minute=5)  # pushed, evaluated again
    assert site.client.get(old).status_code == 404
    assert site.client.get(_path(site)).status_code == 200


@pytest.fixture
def served(site: AppUnderTest) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, site.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_page_reads_right_in_headless_chromium(site, served, tmp_path):
    browser = chromium_path()
    _post_decision(site)
    url = served + _path(site)
    result = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # The text a reviewer reads, as the browser laid it out.
    assert "<title>gatebot — acme/api#7: pending</title>" in dom
    assert "needs 1 more approval from acme/backend or acme/platform" in dom
    assert "approved dead002, before the last push" in dom
    assert "reported by travis, not github-actions" in dom
    assert "Merge not allowed" in dom


def test_the_stored_key_is_generated_once_on_either_database(store):
    from bot.store import signing_keys as keys

    with store.begin() as conn:
        first = keys.get_or_create(conn, keys.DETAILS_LINKS, datetime(2024, 5, 1, tzinfo=UTC))
    with store.begin() as conn:
        again = keys.get_or_create(conn, keys.DETAILS_LINKS, datetime(2024, 6, 1, tzinfo=UTC))
        other = keys.get_or_create(conn, "something-else", datetime(2024, 6, 1, tzinfo=UTC))
    assert first == again and len(first) == 32 and other != first
