"""`gatebot simulate`: a proposed policy or floor tried on the open PRs the store keeps
(offline), and one PR read live from the fake GitHub with nothing written to it."""

from __future__ import annotations

from pathlib import Path

from factories import changed, check, make_snapshot, review
from github_helpers import REPO, settings_for
from support.policies import NO_APPROVAL, ONE_APPROVAL

from bot.cli import main
from bot.core.policy.evaluate import needs_for
from bot.core.policy.loader import load_policy_file
from bot.keys import PullKey
from bot.pipeline.impact import ImpactStep, Judged
from bot.store import Store, pulls, utcnow

ONE = ONE_APPROVAL
TWO = ONE.replace("approvals: 1", "approvals: 2")
CI_FLOOR = NO_APPROVAL + 'checks: ["ci / test"]\n'


def keep(store: Store, repo: str, number: int, *, approvals: tuple[str, ...], ci: str) -> None:
    """A PR kept as the pipeline keeps it, judged by ONE from its repository."""
    snapshot = make_snapshot(
        number=number, reviews=tuple(review(login) for login in approvals),
        checks=(check("ci / test", ci),), files=(changed(f"src/{number}.py"),),
    )
    needs = needs_for(load_policy_file(ONE, "p.yml").policy)
    step = ImpactStep(store, forge=None, clock=utcnow, delay_seconds=30)  # type: ignore[arg-type]
    step.remember(PullKey("github", repo, number), snapshot,
                  Judged("repository", ".github/gatebot.yml", ONE), needs, None, None)


def file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_proposed_policy_is_tried_on_every_kept_pr_of_the_repository(
    store, tmp_path, monkeypatch, capsys
):
    keep(store, REPO, 1, approvals=("bob",), ci="success")
    keep(store, REPO, 2, approvals=("bob", "dave"), ci="success")
    keep(store, REPO, 3, approvals=(), ci="success")
    keep(store, "acme/other", 4, approvals=("bob",), ci="success")
    monkeypatch.setenv("GATEBOT_DATABASE_URL", store.url)
    assert main(["simulate", "--policy", file(tmp_path, "two.yml", TWO), "--repo", REPO]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "acme/api#1 (main) success → pending: reviewed: needs 1 more approval from anyone "
        "with write permission or above",
        "acme/api#2 (main) success, unchanged",
        "acme/api#3 (main) pending, unchanged",
        "1 of 3 open PRs would change.",
    ]


def test_a_proposed_floor_is_tried_across_every_repository(store, tmp_path, monkeypatch, capsys):
    keep(store, REPO, 1, approvals=("bob",), ci="failure")
    keep(store, "acme/other", 4, approvals=("bob",), ci="success")
    monkeypatch.setenv("GATEBOT_DATABASE_URL", store.url)
    floor = file(tmp_path, "floor.yml", CI_FLOOR)
    assert main(["simulate", "--required-policy", floor]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "acme/api#1 (main) success → failure: required policy: required check failed: "
        "ci / test failed (failure)"
    )
    assert lines[1:] == ["acme/other#4 (main) success, unchanged", "1 of 2 open PRs would change."]


def _graphql_read(request) -> bool:
    """A GraphQL query (the PR's read), not a mutation."""
    if request.operation_id != "graphql":
        return False
    document = str((request.json or {}).get("query", "")).lstrip()
    return document.startswith("query") and "mutation" not in document


def test_one_pr_is_read_live_and_nothing_is_written_to_the_forge(
    fake_github, tmp_path, monkeypatch, capsys
):
    settings = settings_for(fake_github, tmp_path)
    for name, value in {
        "GITHUB_APP_ID": str(fake_github.app_id),
        "GITHUB_PRIVATE_KEY": fake_github.private_key_pem,
        "GITHUB_API_URL": fake_github.url,
        "GATEBOT_DATABASE_URL": settings.database_url,
        "GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
        "GITHUB_WEBHOOK_SECRET": fake_github.webhook_secret,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["migrate"]) == 0
    fake_github.add_repo(REPO, files={".github/gatebot.yml": ONE})
    fake_github.set_role(REPO, "mia", "write")
    fake_github.set_role(REPO, "carol", "write")
    fake_github.open_pr(REPO, 7, contents={"src/app.py": "2\n"})
    fake_github.add_review(REPO, 7, "mia", "APPROVED")
    capsys.readouterr()
    mark = fake_github.mark()

    two = file(tmp_path, "two.yml", TWO)
    assert main(["simulate", "--repo", REPO, "--pr", "7", "--policy", two]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PENDING: reviewed: needs 1 more approval from anyone with write")
    assert "today: acme/api#7 success → pending" in out

    assert main(["simulate", "--repo", REPO, "--pr", "7", "--policy", two,
                 "--as-approved-by", "carol"]) == 0
    assert capsys.readouterr().out.startswith("PASSED: ")

    writes = [
        f"{r.method} {r.operation_id}" for r in fake_github.requests_since(mark)
        if r.method != "GET" and not _graphql_read(r)
    ]
    # Only the installation token every read needs is asked for.
    assert set(writes) <= {"POST apps/create-installation-access-token"}, writes
    # The table form, live: every open PR the store has heard of, read now.
    store = Store(settings.database_url)
    with store.begin() as conn:
        pulls.remember(conn, pulls.PullState(
            "github", REPO, 7, "main", fake_github.pr(REPO, 7).head_sha, pulls.OPEN,
            installation_id=fake_github.installation_id(REPO),
        ), utcnow())
    store.close()
    assert main(["simulate", "--repo", REPO, "--policy", two, "--live"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "acme/api#7 (main) success → pending: reviewed: needs 1 more approval from anyone "
        "with write permission or above",
        "1 of 1 open PR would change.",
    ]
    writes = [
        f"{r.method} {r.operation_id}" for r in fake_github.requests_since(mark)
        if r.method != "GET" and not _graphql_read(r)
    ]
    assert set(writes) <= {"POST apps/create-installation-access-token"}, writes
    assert fake_github.statuses(REPO, fake_github.pr(REPO, 7).head_sha) == []
    assert fake_github.check_runs(REPO, fake_github.pr(REPO, 7).head_sha) == []
    assert fake_github.comments(REPO, 7) == []
