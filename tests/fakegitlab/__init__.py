"""The fake GitLab the whole test suite talks to over HTTP.

A stateful GitLab on 127.0.0.1 (ephemeral port, threaded) that answers the
REST v4 routes the bot uses under /api/v4, with bodies built from GitLab's
own examples (tests/fixtures/gitlab), token authentication, GitLab's offset
pagination, merge, approval and commit-status rules, fault injection and a
log of every request. Code under test reaches it only over HTTP (the real
python-gitlab client, in this process or a `gatebot serve` subprocess); the
test arranges and inspects state in-process.

Starting one::

    with FakeGitLab() as fake:            # or the fixtures fake_gitlab / make_fake_gitlab
        gl = gitlab.Gitlab(fake.url, private_token=fake.token, retry_transient_errors=False)
    fake.url, fake.token, fake.bot_username ("gatebot-bot"), fake.webhook_secret
    fake.add_token("mia")                 # another caller's token

Arranging a world::

    project = fake.add_project("acme/api", default_branch="main",
                               files={".gitlab/gatebot.yml": POLICY},
                               merge_method="merge", squash_option="default_off",
                               approvals_required=0)      # group "acme" created too
    fake.set_access("acme/api", "mia", 30)                # 10 guest ... 50 owner
    fake.add_group("acme/backend", members={"lee": 40})   # nested paths, inherited access
    mr = fake.open_mr("acme/api", 7, author="alice", source="feature",
                      files=["src/app.py", {"path": "b.py", "deleted": True}],
                      contents={"src/f.py": "2\n"}, draft=False, labels=["x"])
    sha = fake.push("acme/api", 7, pusher="bob")          # approvals stay unless
    fake.reset_approvals_on_push = True                   # ... this is set
    fake.approve("acme/api", 7, "mia"); fake.unapprove("acme/api", 7, "mia")
    note = fake.add_note("acme/api", 7, "carol", "/gate hold")
    fake.edit_note("acme/api", note.id, "new body"); fake.add_system_note("acme/api", 7, "merged")
    fake.add_award("acme/api", 7, "mia", "thumbsup", note_id=note.id)
    fake.set_status("acme/api", sha, "ci/test", "success", author="ci-user")
    fake.commit("acme/api", "main", {"src/app.py": "3\n"})  # may conflict / need a rebase
    fake.merge_mr("acme/api", 7, by="mia")                # a person merges in the UI
    fake.edit_mr("acme/api", 7, state="closed")           # or draft=, target=, labels=, title=
    fake.set_merge_status("acme/api", 7, "cannot_be_merged")

Reading what the code under test did::

    fake.statuses(project, sha), fake.notes(project, 7), fake.award_emoji(project, 7, note_id),
    fake.merges, fake.pipelines_created, fake.deleted_branches, fake.rebases,
    fake.mr(project, 7).state, fake.branch_sha(project, "main"), fake.file(project, "main", path)

The request log (`GitLabRequest`: method, path, query, headers, body/json,
route, user, status, response_json, injected, performed)::

    fake.requests, fake.request_count, fake.requests_for("GET /projects/:id/merge_requests/:iid"),
    mark = fake.mark(); ...; fake.requests_since(mark)
    fake.unknown_requests; fake.assert_clean()   # fails on any unimplemented route

Faults (the machinery both fakes share, `support.fakes`)::

    fake.fail(route="PUT /projects/:id/merge_requests/:iid/merge", status=500, after_action=True)
    fake.fail(path=r"/notes$", method="POST", status=502, times=2)
    fake.rate_limit("GET /projects/:id/merge_requests/:iid", retry_after=1)   # 429
    hold = fake.hold("PUT /projects/:id/merge_requests/:iid/merge"); hold.wait_arrived(); hold.release()
    fake.clear_faults()

Webhooks consistent with the state (real payload shapes from tests/fixtures)::

    event, payload = fake.webhook("merge_request", "acme/api", 7, action="update")
    event, payload = fake.webhook("note", "acme/api", 7)          # the latest note
    event, payload = fake.webhook("pipeline", "acme/api", 7, status="success")
    event, payload = fake.webhook("push", "acme/api", ref="refs/heads/main")
    event, payload = fake.webhook("emoji", "acme/api", 7)
    body, headers = fake.webhook_request(event, payload)   # X-Gitlab-Token, Idempotency-Key

Deliberate GitLab behaviours (see handlers.py): repeated pending/running
commit statuses answer 400; a conflicted merge answers 422, a draft, closed or
unapproved one 405, a stale `sha` 409; a duplicate emoji answers 404; every
request without a valid PRIVATE-TOKEN / Bearer token answers 401.
"""

from support.fakes.faults import Fault, Hold

from .fake import FakeGitLab
from .fixtures import fake_gitlab, make_fake_gitlab
from .server import GitLabRequest
from .state import DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER

__all__ = [
    "DEVELOPER",
    "GUEST",
    "MAINTAINER",
    "OWNER",
    "REPORTER",
    "FakeGitLab",
    "Fault",
    "GitLabRequest",
    "Hold",
    "fake_gitlab",
    "make_fake_gitlab",
]
