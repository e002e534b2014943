"""The fake GitHub the whole test suite talks to over HTTP.

A stateful GitHub on 127.0.0.1 (ephemeral port, threaded) that answers the 45
operations of tests/fixtures/github/rest-operations.json with bodies built
from GitHub's own examples, and GraphQL (`POST /graphql`, validated against
GitHub's published schema: `graphql.py`), App JWT and installation-token
checks, GitHub's pagination, merge and mergeability rules, fault injection
and a log of every request. Code under test reaches it only over HTTP (in this process or a
`gatebot serve` subprocess with `GITHUB_API_URL=fake.url`); the test arranges
and inspects state in-process.

Starting one::

    with FakeGitHub() as fake:            # or the fixtures: fake_github, or
        ...                               # make_fake_github(app_id=4242, private_key_pem=pem,
                                          #                  webhook_secret=secret)
    fake.url, fake.app_id, fake.private_key_pem, fake.webhook_secret, fake.bot_login

    # the code under test authenticates as the App: JWT on /app routes, then
    # POST /app/installations/{id}/access_tokens; fake.mint_token(repo) gives a
    # token directly for tests that skip that flow.

Arranging a world::

    fake.add_repo("acme/api", default_branch="main", files={".github/gatebot.yml": POLICY})
    # creates organisation "acme" and an installation of the App covering the repo
    fake.add_installation("other-org", repos=["svc"])       # explicit installations
    fake.set_file("acme/api", "main", "CODEOWNERS", "* @acme/core")
    fake.set_role("acme/api", "mia", "maintain")              # or a custom role:
    fake.set_role("acme/api", "sec", "security-reviewer", base="write")
    fake.add_team("acme", "core", members=["mia"], maintainers=["lee"])
    fake.add_org_member("acme", "sam")
    pr = fake.open_pr("acme/api", 7, author="alice", head="feature",
                      files=["src/app.py", {"filename": "b.py", "status": "removed"}],
                      contents={".github/gatebot.yml": "changed in the PR"},
                      commits=[{"author": "alice"}, {"author": "bob", "committer": "web-flow"}])
    sha = fake.push("acme/api", 7, pusher="bob")              # mergeable: null on next read
    fake.update_branch("acme/api", 7, by="bob")                # "Update branch": merge by web-flow
    fake.push_merge("acme/api", 7, pusher="bob", committer="web-flow",
                    contents={"extra.py": "..."})             # a local merge of the base, pushed
    fake.add_review("acme/api", 7, "mia", "APPROVED")          # on the head by default
    fake.add_comment("acme/api", 7, "carol", "/gatebot override")
    fake.edit_comment("acme/api", comment.id, "new text"); fake.add_reaction(...)
    fake.set_status("acme/api", sha, "ci/build", "success")
    fake.set_check_run("acme/api", sha, "tests", conclusion="failure", app_slug="ci")
    fake.set_mergeable("acme/api", 7, False)                  # a conflict: merge answers 405
    fake.protect_branch("acme/api", "main", contexts=["gatebot: main"])
    group = fake.queue("acme/api", [2, 3])                     # the merge queue's group of #2, #3
    event, payload = fake.webhook("merge_group", "checks_requested", "acme/api")

Webhooks and the App webhook's delivery log (`hook_deliveries.py`)::

    fake.set_webhook_url(url)                                  # where deliveries go
    delivery, response = fake.send_webhook(event, payload)      # sent and logged
    fake.deliveries_fail(502)                                   # bot down (or 503: bot answers it)
    fake.deliveries_fail(None)                                  # deliveries get through again
    fake.seed_deliveries(10_000, start=t, status_code=lambda i: 202)  # a long log, nothing sent
    fake.hook_deliveries(), fake.redeliveries_asked, fake.wait_redeliveries()
    # GET /app/hook/deliveries (cursor pages), GET .../{id}, POST .../{id}/attempts (JWT)

Reading what the code under test did::

    fake.statuses(repo, sha), fake.check_runs(repo, sha), fake.comments(repo, 7),
    fake.reactions(repo, comment_id), fake.labels(repo, 7), fake.merges,
    fake.deployments, fake.dispatches, fake.branch_updates, fake.deleted_refs,
    fake.pr(repo, 7).merged, fake.branch_sha(repo, "main"), fake.token_mints

The request log (`RecordedRequest`: method, path, query, headers, body/json,
operation_id, status, response_json, auth_kind, injected, performed)::

    fake.requests, fake.request_count, fake.requests_for("pulls/get"),
    mark = fake.mark(); ...; fake.requests_since(mark), fake.unknown_requests
    fake.counted(mark)        # of those, the ones GitHub counts against the rate limit

Conditional GETs: every 200 to a GET carries a weak `ETag` derived from the body
(the SHA itself for the `sha` media type); a GET whose `If-None-Match` names it
is answered 304 with no body, which GitHub does not count against the rate limit
(nor do the fake's `x-ratelimit-*` headers).

Faults::

    fake.fail("pulls/merge", status=500, after_action=True)   # merged, then 500
    fake.fail(path=r"/pulls/\\d+/files$", status=502, times=2)
    fake.secondary_rate_limit("pulls/get", retry_after=1)     # 403 + Retry-After
    fake.primary_rate_limit("pulls/get", reset_in=30)         # 403, remaining 0
    hold = fake.hold("pulls/merge"); ...; hold.wait_arrived(); hold.release()
    fake.expire_tokens()                                      # next calls: 401

Contract checks (schemas.py), for the end of end-to-end tests::

    fake.assert_all_valid()   # unknown operations, invalid requests or responses fail

Webhooks consistent with the state (real payload shapes from tests/fixtures)::

    event, payload = fake.webhook("pull_request", "synchronize", "acme/api", 7)
    body, headers = fake.webhook_request(event, payload)   # signed X-Hub-Signature-256
    sign(secret, body)

Known deliberate behaviours: an installation token used on a repository its
installation does not cover answers 404 (as GitHub does), a missing or bad
token 401; collaborator lookups of users the fake has never seen answer 404
and of known users without access `permission: "none"`, `role_name: "none"`.
"""

from support.fakes.faults import Fault, Hold
from support.fakes.recording import RecordedRequest

from .fake import FakeGitHub
from .fixtures import fake_github, make_fake_github
from .schemas import request_errors, response_errors, validation_report
from .webhooks import sign

__all__ = [
    "FakeGitHub",
    "Fault",
    "Hold",
    "RecordedRequest",
    "fake_github",
    "make_fake_github",
    "request_errors",
    "response_errors",
    "sign",
    "validation_report",
]
