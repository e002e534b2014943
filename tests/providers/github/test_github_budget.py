"""The request budget: exact requests per evaluation, counted at the fake GitHub.

A typical PR: a policy with one approval rule and one required check, a
maintainer's approval, a green CI check run, two commits and two files.

The PR — files, commits, reviews, comments, labels, the head's checks and
statuses — is read in one GraphQL query (`POST graphql`). GitHub counts a
query against the GraphQL rate limit, a REST request against the REST one,
and a 304 against neither.

Every evaluation reads where the base branch is (`GET repos/get-commit`, the
`sha` media type): security over one request. The push delivery that drops
the kept policy can be lost, and without that read an edited policy or
CODEOWNERS would not govern until the file cache expires. Sent with the SHA
the files were kept for as its ETag, it is answered 304 while the branch has
not moved, which costs no rate limit.

Every other GET goes out conditionally too (`bot.providers.conditional`): with
the ETag of the answer the process got for it before. The PR itself is one GraphQL
query (a POST, never conditional); a re-evaluation of a PR where nothing changed
costs that query alone: GitHub answers the rest 304 and counts none
(`fake.counted`).
"""

from __future__ import annotations

import threading
from urllib.parse import quote

from github_helpers import (  # noqa: F401
    ONE_APPROVAL,
    ONE_APPROVAL_AND_CI,
    REPO,
    Rig,
    at_once,
    backdate_pr,
    request_lines,
    rig_fixture,
)

from bot.store import pulls, utcnow
from bot.store import requests as request_counts


def typical_pr(rig: Rig, number: int = 7, reviewer: str = "mia", policy: str = ONE_APPROVAL_AND_CI):
    fake = rig.fake
    if REPO.lower() not in fake.world.repos:
        fake.add_repo(REPO, files={".github/gatebot.yml": policy, "src/app.py": "print(1)\n"})
    fake.set_role(REPO, reviewer, "maintain")
    pr = fake.open_pr(
        REPO,
        number,
        author="alice",
        commits=[{}, {}],
        contents={"src/app.py": "print(2)\n", "docs/app.md": "# app\n"},
    )
    fake.add_review(REPO, number, reviewer, "APPROVED")
    fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion="success", app_slug="ci")
    backdate_pr(fake, REPO, number)
    return pr


BRANCH_HEAD = "GET repos/get-commit"  # where the base branch is: see the module's note
QUERY = "POST graphql"  # the PR and everything of it the gate reads

COLD_FIRST = [
    "POST apps/create-installation-access-token",
    QUERY,
    BRANCH_HEAD,
    "GET repos/get-content",
    "GET repos/get-collaborator-permission-level",
    "GET apps/get-authenticated",
    # posted at once (compared with `at_once`)
    "POST checks/create",
    "POST repos/create-commit-status",
]

WARM_READS = [
    QUERY,
    BRANCH_HEAD,
    "GET repos/get-collaborator-permission-level",
]
WRITES = ["POST checks/create", "POST repos/create-commit-status"]  # at once, sorted

UNCHANGED = [QUERY, BRANCH_HEAD]
"""A re-evaluation that finds nothing new: one query; the branch read is answered 304."""


def counted(requests) -> list[str]:
    """The requests GitHub counts against a rate limit: all but the 304s."""
    return [f"{r.method} {r.operation_id}" for r in requests if r.status != 304]


def as_sent(query: dict[str, list[str]]) -> str:
    """The query string as PyGithub sends it (values URL-encoded)."""
    pairs = "&".join(f"{k}={quote(v, safe='')}" for k, vs in query.items() for v in vs)
    return f"?{pairs}" if pairs else ""


def test_typical_pr_cold_warm_and_unchanged(rig):
    typical_pr(rig, 7)
    cold = rig.evaluate(7)
    assert cold.decision.state == "success"
    assert at_once(request_lines(cold.requests)) == COLD_FIRST
    # The tally is taken at the HTTP layer: the same requests, in the same order
    # (and as sent: `ref=refs%2Fheads%2Fmain`), but for the two writes sent at once.
    assert at_once(cold.tally) == at_once(
        [f"{r.method} {r.path}{as_sent(r.query)} -> {r.status}" for r in cold.requests]
    )

    # Another PR of the same repository, reviewed by someone not looked up yet:
    # token, App identity and policy file come from the caches.
    typical_pr(rig, 8, reviewer="noor")
    warm = rig.evaluate(8)
    assert at_once(request_lines(warm.requests)) == WARM_READS + WRITES
    assert len(WARM_READS) <= 3

    again = rig.evaluate(7)
    assert again.decision.state == "success"
    assert request_lines(again.requests) == UNCHANGED
    assert again.outcome is not None and again.outcome.unchanged
    # The base branch has not moved: GitHub answers the conditional read 304.
    assert [r.status for r in again.requests if r.operation_id == "repos/get-commit"] == [304]
    assert counted(again.requests) == [QUERY]

    rig.fake.assert_all_valid()


def test_a_new_typical_pr_costs_the_query_and_the_two_writes(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    typical_pr(rig, 8)  # mia again: her permission is in the directory cache
    new = rig.evaluate(8)
    assert new.decision.state == "success"
    assert at_once(request_lines(new.requests)) == [QUERY, BRANCH_HEAD, *WRITES]
    assert at_once(counted(new.requests)) == [QUERY, *WRITES]
    rig.fake.assert_all_valid()


def test_a_label_nobody_asked_about_costs_one_query_and_writes_nothing(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    rig.fake.add_label(REPO, 7, "chore")
    labelled = rig.evaluate(7)
    assert labelled.decision.state == "success"
    assert labelled.outcome is not None and labelled.outcome.unchanged
    assert request_lines(labelled.requests) == UNCHANGED
    assert counted(labelled.requests) == [QUERY]
    rig.fake.assert_all_valid()


def test_known_reviewer_saves_the_permission_lookup(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    typical_pr(rig, 8)  # mia again: her permission is in the directory cache
    warm = rig.evaluate(8)
    assert (
        at_once(request_lines(warm.requests))
        == [line for line in WARM_READS if "permission" not in line] + WRITES
    )


def test_a_policy_without_checks_confirms_an_unchanged_verdict_from_the_query(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    typical_pr(rig, 7, policy=ONE_APPROVAL)
    first = rig.evaluate(7)
    assert "GET checks/list-for-ref" not in request_lines(first.requests)
    assert "GET repos/list-commit-statuses-for-ref" not in request_lines(first.requests)
    again = rig.evaluate(7)
    # Who wrote the head's statuses came with the query: no statuses read.
    assert request_lines(again.requests) == UNCHANGED
    rig.fake.assert_all_valid()


def test_counts_are_stored_per_evaluation_with_the_requests(rig):
    typical_pr(rig, 7)
    cold = rig.evaluate(7)
    again = rig.evaluate(7)
    with rig.store.begin() as conn:
        stored = request_counts.for_pull(conn, "github", REPO, 7)
    assert [s.total for s in stored] == [len(COLD_FIRST), len(UNCHANGED)]
    assert list(stored[0].requests) == cold.tally
    assert list(stored[1].requests) == again.tally
    assert stored[0].head_sha == cold.snapshot.head_sha
    assert stored[1].requests[0].startswith("POST /graphql -> 200")


def test_a_new_review_is_seen(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    rig.fake.add_review(REPO, 7, "mia", "CHANGES_REQUESTED")
    later = rig.evaluate(7)
    assert later.decision.state == "failure"
    assert request_lines(later.requests)[:2] == UNCHANGED


def test_a_push_reads_everything_of_the_new_head(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    rig.fake.push(REPO, 7, contents={"src/app.py": "print(3)\n"})
    later = rig.evaluate(7)
    assert request_lines(later.requests)[:2] == UNCHANGED
    assert later.snapshot.head_sha == rig.fake.pr(REPO, 7).head_sha
    assert later.decision.state != "success"  # the approval was for the old head


def test_re_reads_of_an_unchanged_pr_are_answered_304_and_cost_no_quota(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    # The verdict just posted changed the statuses and check runs, and GitHub has
    # computed the PR's mergeability since: those are read in full once more.
    rig.evaluate(7)
    mark = rig.fake.mark()
    quiet = rig.evaluate(7)
    assert request_lines(quiet.requests) == UNCHANGED
    # The query is a POST: GraphQL has no conditional requests. The rest is 304.
    assert [r.status for r in quiet.requests] == [200, 304]
    assert quiet.tally[1].endswith(" -> 304")
    assert rig.fake.counted(mark) == 1
    assert quiet.outcome is not None and quiet.outcome.unchanged


def test_a_directory_entry_read_again_when_its_cache_expires_is_answered_304(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    rig.evaluate(7)
    rig.clock.advance(seconds=rig.settings.directory_cache_seconds + 1)
    mark = rig.fake.mark()
    later = rig.evaluate(7)
    (lookup,) = [r for r in later.requests if "permission" in (r.operation_id or "")]
    assert lookup.status == 304
    assert later.decision.state == "success"  # mia's role, as remembered, still counts
    assert rig.fake.counted(mark) == 1  # the query alone


def test_a_directory_entry_changed_meanwhile_is_read_in_full(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    rig.fake.set_role(REPO, "mia", "read")
    rig.clock.advance(seconds=rig.settings.directory_cache_seconds + 1)
    later = rig.evaluate(7)
    (lookup,) = [r for r in later.requests if "permission" in (r.operation_id or "")]
    assert lookup.status == 200
    assert later.decision.state != "success"


def _remember_base(rig: Rig, number: int, base_ref: str) -> None:
    """The PR as a delivery described it: the store knows its base branch."""
    pr = rig.fake.pr(REPO, number)
    with rig.store.begin() as conn:
        pulls.remember(
            conn,
            pulls.PullState("github", REPO, number, base_ref, pr.head_sha, pulls.OPEN),
            utcnow(),
        )


def test_the_base_branch_is_read_beside_the_query_when_the_store_knows_it(rig):
    typical_pr(rig, 7)
    rig.evaluate(7)
    _remember_base(rig, 7, "main")
    fake = rig.fake
    hold = fake.hold("graphql")
    mark = fake.mark()

    def release_once_the_branch_was_read() -> None:
        hold.wait_arrived()
        # The query is parked at the fake: the branch read can only be answered now
        # if it went out beside the query, not after it.
        pause = threading.Event()
        for _ in range(200):
            if any(r.operation_id == "repos/get-commit" for r in fake.requests_since(mark)):
                break
            pause.wait(0.05)
        hold.release()

    releaser = threading.Thread(target=release_once_the_branch_was_read)
    releaser.start()
    again = rig.evaluate(7)
    releaser.join()
    assert request_lines(again.requests) == [BRANCH_HEAD, QUERY]
    assert again.outcome is not None and again.outcome.unchanged
    fake.assert_all_valid()


def test_a_retargeted_pr_has_its_real_base_branch_followed(rig):
    typical_pr(rig, 7)
    rig.fake.add_branch(REPO, "release")
    rig.fake.edit_pr(REPO, 7, base_ref="release")
    _remember_base(rig, 7, "main")  # what the last delivery said
    done = rig.evaluate(7)
    branch_reads = [r.path for r in done.requests if r.operation_id == "repos/get-commit"]
    assert branch_reads == [
        "/repos/acme/api/commits/heads/main", "/repos/acme/api/commits/heads/release",
    ]
    assert done.snapshot.base_ref == "release"
    rig.fake.assert_all_valid()

