"""The pipeline's pieces: operator files, which policies judge a PR, changed policy files,
forge failures, and whole runs through the worker against the fake GitHub."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from github import GithubException
from github_helpers import ONE_APPROVAL, REPO, Rig, rig_fixture  # noqa: F401

from bot.core.snapshot import ChangedFile
from bot.keys import PullKey, WorkKey
from bot.pipeline.errors import ForgeUnavailable, guarded
from bot.pipeline.github import github_pipeline
from bot.pipeline.merge_group import GroupWaker, Member, MergeGroupPipeline, group_decision
from bot.pipeline.operator import OperatorConfig, load_deploy_targets, load_operator_config
from bot.pipeline.policies import changed_policy_paths, governing
from bot.pipeline.pull import PullPipeline
from bot.providers.base import PolicySources, PolicyText
from bot.providers.github.policy_source import POLICY_PATHS, owner_policy_path
from bot.settings import ConfigurationError, Settings
from bot.store import dirty, evaluations, merge_groups, runs, utcnow
from bot.worker import Outcome, PullWorker, load_pipeline

# -- operator files ---------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_broken_required_policy_refuses_the_start_with_one_sentence(tmp_path):
    floor = write(tmp_path, "required.yml", "version: 1\npolicy:\n  aproval: [x]\n")
    settings = Settings.model_validate({"GATEBOT_REQUIRED_POLICY": str(floor)})
    with pytest.raises(ConfigurationError) as caught:
        load_operator_config(settings)
    message = str(caught.value)
    assert message.startswith(
        f"GATEBOT_REQUIRED_POLICY names {floor}, which is not a valid policy: line 3: "
    )
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_required_policy_that_is_a_remote_pointer_is_refused(tmp_path):
    floor = write(tmp_path, "required.yml", "remote: acme/policies\n")
    settings = Settings.model_validate({"GATEBOT_REQUIRED_POLICY": str(floor)})
    with pytest.raises(ConfigurationError, match="is a `remote:` pointer"):
        load_operator_config(settings)


def test_the_default_policy_is_checked_at_start_up(tmp_path):
    default = write(tmp_path, "default.yml", "version: 2\n")
    settings = Settings.model_validate({"GATEBOT_DEFAULT_POLICY": str(default)})
    with pytest.raises(ConfigurationError, match="^GATEBOT_DEFAULT_POLICY names .* line 1: "):
        load_operator_config(settings)


def test_the_shipped_default_policy_loads():
    root = Path(__file__).resolve().parents[2]
    settings = Settings.model_validate(
        {
            "GATEBOT_DEFAULT_POLICY": str(root / "policies" / "default.yml"),
            "GATEBOT_REQUIRED_POLICY": str(root / "policies" / "default.yml"),
        }
    )
    config = load_operator_config(settings)
    assert config.floor is not None and config.floor_file == "default.yml"


TARGETS = """\
prod-jenkins:
  type: jenkins
  url: https://jenkins.example/job/deploy
  secret: s3cr3t-jenkins-token
  repos: ["acme/*"]
staging-hook:
  type: webhook
  url: https://hooks.example/deploy
  secret: s3cr3t-hook-key
"""


def test_deploy_targets_keep_only_names_and_allow_lists(tmp_path):
    targets = load_deploy_targets(write(tmp_path, "targets.yml", TARGETS))
    assert dict(targets) == {"prod-jenkins": ("acme/*",), "staging-hook": ()}


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("- just a list\n", "which must map target names to their settings."),
        ("prod: s3cr3t-in-the-wrong-place\n", "whose target at line 1 must be a mapping"),
        ("prod:\n  secret: s3cr3t\n  repos: s3cr3t\n", "has a `repos` that is not a list"),
        ("prod:\n  secret: 's3cr3t\n", "which is not valid YAML (yaml-syntax at line"),
    ],
)
def test_broken_deploy_targets_are_one_sentence_that_quotes_no_value(tmp_path, text, sentence):
    path = write(tmp_path, "targets.yml", text)
    with pytest.raises(ConfigurationError) as caught:
        load_deploy_targets(path)
    assert sentence in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


# -- which policies judge a PR ---------------------------------------------------


def text(origin: str, filename: str, body: str = "version: 1\n") -> PolicyText:
    return PolicyText(origin, f"acme/api:{filename}@main", filename, body)  # type: ignore[arg-type]


def test_a_missing_remote_is_an_error_at_the_remote_line():
    pointer = text("repository", ".github/gatebot.yml", "# shared\n\nremote: acme/policies\n")
    sources = PolicySources(
        policy=None,
        pointer=pointer,
        error="the remote policy acme/policies:.github/gatebot.yml does not exist",
        error_file=".github/gatebot.yml",
    )
    found = governing(sources, None, repo=REPO, deploy_targets={})
    assert found.policy is None and not found.silent
    (problem,) = found.problems
    assert (problem.file, problem.line, problem.column) == (".github/gatebot.yml", 3, 9)
    assert problem.message.startswith("the remote policy acme/policies")


@pytest.mark.parametrize(
    "remote_text",
    [
        "DB_PASSWORD=hunter2\n",  # not a mapping: the loader quotes the value
        "version: 1\nDB_PASSWORD: hunter2\n",  # an unknown key, with a did-you-mean
        "version: 1\npolicy: {approval: hunter2}\n",  # a wrong type, quoted
        "version: 1\nhunter2: [\n",  # a YAML syntax error
        "version: 1\nmode: hunter2\n",  # a literal with "did you mean"
    ],
)
def test_problems_of_a_remote_file_never_quote_it(remote_text):
    pointer = text("repository", ".github/gatebot.yml", "remote: acme/policies/x.yml\n")
    remote = PolicyText("remote", "acme/policies:x.yml", "acme/policies/x.yml", remote_text)
    found = governing(
        PolicySources(policy=remote, pointer=pointer), None, repo=REPO, deploy_targets={}
    )
    assert found.policy is None and found.problems
    for problem in found.problems:
        assert "hunter2" not in problem.message and "DB_PASSWORD" not in problem.message
        assert problem.message.startswith("the remote policy acme/policies:x.yml is invalid (")
        assert problem.file == "acme/policies/x.yml" and problem.line >= 1


def test_no_policy_and_no_floor_is_silent():
    assert governing(PolicySources(policy=None), None, repo=REPO, deploy_targets={}).silent


DEPLOYS_TO_TARGET = """\
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires: {approvals: 1}
deploy:
  - name: production
    branches: [main]
    via: {target: prod-jenkins}
"""


def test_deploy_targets_are_checked_against_the_operators_allow_list():
    sources = PolicySources(policy=text("repository", ".github/gatebot.yml", DEPLOYS_TO_TARGET))
    allowed = governing(sources, None, repo="acme/api", deploy_targets={"prod-jenkins": ("acme/*",)})
    assert allowed.policy is not None
    refused = governing(sources, None, repo="other/api", deploy_targets={"prod-jenkins": ("acme/*",)})
    assert [p.code for p in refused.problems] == ["target-not-allowed"]
    unknown = governing(sources, None, repo="acme/api", deploy_targets={})
    assert [p.code for p in unknown.problems] == ["unknown-target"]


def changed(*paths: str, removed: tuple[str, ...] = ()) -> list[ChangedFile]:
    files = [ChangedFile(path=p, status="modified") for p in paths]
    return files + [ChangedFile(path=p, status="removed") for p in removed]


@pytest.mark.parametrize(
    ("files", "source", "expected"),
    [
        # The file that governs, edited.
        (changed(".github/gatebot.yml"), text("repository", ".github/gatebot.yml"),
         (".github/gatebot.yml",)),
        # A file the governing one shadows is not validated...
        (changed(".gatebot.yml"), text("repository", ".github/gatebot.yml"), ()),
        # ...but a file that would shadow the governing one is.
        (changed(".github/gatebot.yml"), text("repository", ".gatebot.yml"),
         (".github/gatebot.yml",)),
        # A repository policy created where the owner's or the operator's governs.
        (changed(".gatebot.yml", "src/a.py"), text("owner", "acme/.github/gatebot.yml"),
         (".gatebot.yml",)),
        (changed(".gatebot.yml"), None, (".gatebot.yml",)),
        # Removing the policy file hands over to the fallbacks: nothing to validate.
        (changed(removed=(".github/gatebot.yml",)), text("repository", ".github/gatebot.yml"), ()),
        (changed("src/a.py"), text("repository", ".github/gatebot.yml"), ()),
    ],
)
def test_which_policy_files_a_pr_changes(files, source, expected):
    assert changed_policy_paths(files, source, None, POLICY_PATHS) == expected


def test_a_cut_file_list_checks_every_location_that_could_govern():
    source = text("repository", ".gatebot.yml")
    found = changed_policy_paths(changed("src/a.py"), source, None, POLICY_PATHS, truncated=True)
    assert found == (".github/gatebot.yml", ".gatebot.yml")


def test_the_pointer_file_counts_as_the_governing_file():
    pointer = text("repository", ".gatebot.yml", "remote: acme/policies\n")
    remote = text("remote", "acme/policies/.github/gatebot.yml")
    found = changed_policy_paths(changed(".gatebot.yml"), remote, pointer, POLICY_PATHS)
    assert found == (".gatebot.yml",)


# -- forge failures -----------------------------------------------------------------


def test_a_forge_failure_is_logged_as_kind_and_status_only(caplog):
    key = PullKey("github", REPO, 7)
    leaky = GithubException(502, {"message": "upstream said ghs_SECRETTOKEN"}, {})

    def work() -> str:
        raise leaky

    with caplog.at_level(logging.WARNING), pytest.raises(ForgeUnavailable) as caught:
        guarded(key, work)
    assert "server 502" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "github:acme/api#7: the forge failed (server 502" in caplog.text
    assert "SECRETTOKEN" not in caplog.text + str(caught.value)


# -- whole runs through the worker -----------------------------------------------


def run_once(rig: Rig, pipeline, number: int = 7) -> Outcome:
    key = rig.key(number)
    with rig.store.begin() as conn:
        dirty.mark(conn, key, utcnow(), rig.installation())
    worker = PullWorker(rig.store, guarded_pipeline(pipeline), owner="test:1", lease_seconds=30)
    return worker.process(key)


def guarded_pipeline(pipeline):
    return lambda job: guarded(job.key, lambda: pipeline(job))


def pull_pipeline(rig: Rig, operator: OperatorConfig | None = None) -> PullPipeline:
    return PullPipeline(
        rig.forge,
        rig.store,
        operator or OperatorConfig(),
        POLICY_PATHS,
        lambda key, sha: f"https://gatebot.example/details/{key.repo}/{key.number}?sha={sha}",
    )


def last_run(rig: Rig, number: int = 7):
    with rig.store.begin() as conn:
        return runs.for_pull(conn, rig.key(number))[-1]


def test_the_floor_applies_alone_where_a_repository_has_no_policy(rig, tmp_path):
    rig.fake.add_repo(REPO, files={"src/app.py": "1\n"})
    pr = rig.fake.open_pr(REPO, 7, contents={"src/app.py": "2\n"})
    floor = write(tmp_path, "required.yml", ONE_APPROVAL)
    operator = load_operator_config(
        Settings.model_validate({"GATEBOT_REQUIRED_POLICY": str(floor)})
    )
    assert run_once(rig, pull_pipeline(rig, operator)) is Outcome.DONE
    (status,) = rig.fake.statuses(REPO, pr.head_sha)
    assert status.state == "pending"
    assert status.description.startswith("required policy: reviewed: needs 1 more approval")
    assert status.target_url == f"https://gatebot.example/details/acme/api/7?sha={pr.head_sha}"
    assert last_run(rig).summary.startswith(f"pending on {pr.head_sha[:12]} (gatebot: main)")


def test_without_policy_or_floor_nothing_is_read_beyond_the_policy_lookup(rig):
    rig.fake.add_repo(REPO, files={"src/app.py": "1\n"})
    pr = rig.fake.open_pr(REPO, 7, contents={"src/app.py": "2\n"})
    mark = rig.fake.mark()
    assert run_once(rig, pull_pipeline(rig)) is Outcome.DONE
    operations = [r.operation_id for r in rig.fake.requests_since(mark)]
    # The PR itself is one query; none of REST's lists of it, and nothing written.
    assert not any((o or "").startswith(("pulls/", "checks/", "issues/")) for o in operations)
    assert "repos/create-commit-status" not in operations
    assert rig.fake.statuses(REPO, pr.head_sha) == []
    assert last_run(rig).summary == "no policy applies to this repository: nothing posted"


def test_a_forge_outage_leaves_the_pr_marked_and_logs_no_secret(rig, caplog):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(REPO, 7, contents={"src/app.py": "2\n"})
    rig.fake.fail("graphql", status=502, times=10)
    with caplog.at_level(logging.INFO), pytest.raises(ForgeUnavailable):
        run_once(rig, pull_pipeline(rig))
    with rig.store.begin() as conn:
        still = dirty.get(conn, rig.key(7))
    assert still is not None and still.lease_owner is None
    assert last_run(rig).outcome == runs.ERROR
    assert len(rig.sleeps) == 3  # the adapter's retries, then the PR waits for the sweep
    tokens = [t.token for t in rig.fake.tokens]
    assert tokens and not any(token in caplog.text for token in tokens)


def test_an_edit_of_the_owner_wide_policy_is_validated_where_it_governs(rig):
    owner_repo = "acme/.github"
    rig.fake.add_repo(REPO, files={"src/app.py": "1\n"})  # governed by acme/.github
    rig.fake.add_repo(owner_repo, default_branch="main", files={"gatebot.yml": ONE_APPROVAL})
    rig.fake.add_branch(owner_repo, "drafts")
    broken = ONE_APPROVAL.replace("approvals: 1", "aprovals: 1")
    into_main = rig.fake.open_pr(owner_repo, 1, contents={"gatebot.yml": broken})
    into_drafts = rig.fake.open_pr(owner_repo, 2, base="drafts", contents={"gatebot.yml": broken})
    pipeline = PullPipeline(
        rig.forge, rig.store, OperatorConfig(), POLICY_PATHS, lambda key, sha: None,
        owner_policy=owner_policy_path,
    )
    for number in (1, 2):
        with rig.store.begin() as conn:
            dirty.mark(conn, rig.key(number, owner_repo), utcnow(), rig.installation(owner_repo))
        worker = PullWorker(rig.store, guarded_pipeline(pipeline), owner="t:1", lease_seconds=30)
        assert worker.process(rig.key(number, owner_repo)) is Outcome.DONE
    (status,) = rig.fake.statuses(owner_repo, into_main.head_sha)
    assert status.state == "failure"
    assert status.description.startswith("this PR changes gatebot.yml, and the new file is invalid")
    # Into another branch it governs nothing: judged by the policy alone.
    (other,) = rig.fake.statuses(owner_repo, into_drafts.head_sha)
    assert other.state == "pending"
    assert owner_policy_path("acme/.GitHub") == "gatebot.yml" and owner_policy_path(REPO) is None


def test_the_forges_pipeline_is_the_default_once_an_app_is_configured(rig, tmp_path):
    assert Settings.model_validate({}).pipeline_factory == "bot.worker:record_only_pipeline"
    assert rig.settings.pipeline is None
    assert rig.settings.pipeline_factory == "bot.pipeline.forges:forge_pipeline"
    explicit = rig.settings.model_copy(update={"pipeline": "support.pipelines:slow_pipeline"})
    assert explicit.pipeline_factory == "support.pipelines:slow_pipeline"

    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    pr = rig.fake.open_pr(REPO, 7, contents={"src/app.py": "2\n"})
    pipeline = load_pipeline(rig.settings, rig.store)
    assert run_once(rig, pipeline) is Outcome.DONE
    (status,) = rig.fake.statuses(REPO, pr.head_sha)
    assert status.state == "pending"


def test_the_github_pipeline_refuses_to_start_on_a_broken_floor(rig, tmp_path):
    floor = write(tmp_path, "required.yml", "version: 1\nrules: {}\n")
    settings = rig.settings.model_copy(update={"required_policy": floor})
    with pytest.raises(ConfigurationError, match="^GATEBOT_REQUIRED_POLICY names "):
        github_pipeline(settings, rig.store)


# -- merge groups ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "state", "description"),
    [
        ([Member(1, "a" * 40, True, "success"), Member(2, "b" * 40, True, "success")],
         "success", "every PR in the merge group passes at its head: #1 and #2"),
        ([Member(1, "a" * 40, True, "success"), Member(2, "b" * 40, True, None)],
         "pending", "#2 at bbbbbbb has no verdict yet"),
        ([Member(1, "a" * 40, True, "pending"), Member(2, "b" * 40, True, "failure")],
         "failure", "#2 at bbbbbbb does not pass (failure)"),
        ([Member(1, "a" * 40, False, "success")], "failure", "#1 is not an open pull request"),
        ([Member(1, "a" * 40, True, "error")], "failure", "#1 at aaaaaaa does not pass (error)"),
        ([], "failure", "the merge group names no pull request the bot can judge"),
    ],
)
def test_a_group_passes_only_when_every_member_passes(members, state, description):
    decision = group_decision("c" * 40, members)
    assert (decision.state, decision.description) == (state, description)
    assert not decision.merge_allowed and not decision.report_only


def test_a_commit_of_no_pr_or_an_unreadable_group_fails_it():
    passing = [Member(1, "a" * 40, True, "success", report_only=True)]
    stray = group_decision("c" * 40, passing, strays=["d" * 40])
    assert (stray.state, stray.description) == (
        "failure", "commit ddddddd in the merge group belongs to no open pull request"
    )
    assert not stray.report_only  # a stray commit is never waved through as report-only
    unread = group_decision("c" * 40, passing, unreadable="too many commits")
    assert (unread.state, unread.description) == ("failure", "too many commits")


def test_report_only_members_never_block_a_group():
    decision = group_decision("c" * 40, [Member(1, "a" * 40, True, "pending", report_only=True)])
    assert decision.state == "success" and decision.report_only


def queue_pr(rig: Rig, number: int, approved: bool) -> None:
    rig.fake.open_pr(REPO, number, contents={f"src/{number}.py": "1\n"})
    if approved:
        rig.fake.add_review(REPO, number, "mia", "APPROVED")


def group_of(rig: Rig, numbers: list[int], named: list[int] | None = None, **queue):
    """The merge queue's group of `numbers`, recorded as naming `named` (default: all)."""
    built = rig.fake.queue(REPO, numbers, **queue)
    with rig.store.begin() as conn:
        group = merge_groups.request(
            conn,
            provider="github",
            repo=REPO,
            head_sha=built.head_sha,
            head_ref=f"refs/heads/{built.head_ref}",
            base_ref="main",
            base_sha=built.base_sha,
            pull_numbers=numbers if named is None else named,
            installation_id=rig.installation(),
            now=utcnow(),
        )
        dirty.mark(conn, group.key, utcnow(), rig.installation())
    return group


def process(rig: Rig, key: WorkKey, pipeline) -> Outcome:
    return PullWorker(rig.store, pipeline, owner="test:1", lease_seconds=30).process(key)


def test_a_group_waits_for_its_members_and_is_woken_by_their_verdicts(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_role(REPO, "mia", "maintain")
    queue_pr(rig, 1, approved=True)
    queue_pr(rig, 2, approved=False)
    waker = GroupWaker(rig.store, utcnow)
    pulls = PullPipeline(
        rig.forge, rig.store, OperatorConfig(), POLICY_PATHS, lambda key, sha: None, on_posted=waker
    )
    groups = MergeGroupPipeline(rig.forge, rig.store)
    assert run_once(rig, pulls, 1) is Outcome.DONE

    group = group_of(rig, [1, 2])
    assert process(rig, group.key, groups) is Outcome.DONE
    (status,) = rig.fake.statuses(REPO, group.head_sha)
    assert (status.state, status.context) == ("pending", "gatebot: main")
    assert status.description == f"#2 at {rig.fake.pr(REPO, 2).head_sha[:7]} has no verdict yet"
    with rig.store.begin() as conn:
        assert dirty.get(conn, rig.key(2)) is not None  # marked for its evaluation

    # #2's verdict is posted: the group holding it is marked again.
    rig.fake.add_review(REPO, 2, "mia", "APPROVED")
    assert process(rig, rig.key(2), pulls) is Outcome.DONE
    with rig.store.begin() as conn:
        assert dirty.get(conn, group.key) is not None
    assert process(rig, group.key, groups) is Outcome.DONE
    latest = rig.fake.statuses(REPO, group.head_sha)[-1]
    assert latest.state == "success"
    assert latest.description == "every PR in the merge group passes at its head: #1 and #2"
    with rig.store.begin() as conn:
        # A group's verdict is kept as its key's rows always were: provider `github-mq`.
        recorded = evaluations.last(conn, "github-mq", REPO, group.head_sha, "gatebot: main")
        assert recorded is not None and recorded.number == group.id
        assert recorded.state == "success"
        assert runs.for_pull(conn, group.key)[-1].provider == "github-mq"


def test_a_destroyed_group_gets_nothing(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    queue_pr(rig, 1, approved=False)
    group = group_of(rig, [1])
    with rig.store.begin() as conn:
        merge_groups.end(conn, "github", REPO, group.head_sha, utcnow())
    assert process(rig, group.key, MergeGroupPipeline(rig.forge, rig.store)) is Outcome.DONE
    assert rig.fake.statuses(REPO, group.head_sha) == []
    with rig.store.begin() as conn:
        assert runs.for_pull(conn, group.key)[-1].summary == "merge group is gone: nothing posted"


def test_a_group_judges_the_prs_ahead_of_the_one_it_names_and_waits_for_them(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.set_role(REPO, "mia", "maintain")
    queue_pr(rig, 1, approved=False)
    queue_pr(rig, 2, approved=True)
    waker = GroupWaker(rig.store, utcnow)
    pulls = PullPipeline(
        rig.forge, rig.store, OperatorConfig(), POLICY_PATHS, lambda key, sha: None,
        on_posted=waker,
    )
    groups = MergeGroupPipeline(rig.forge, rig.store)
    assert run_once(rig, pulls, 2) is Outcome.DONE

    group = group_of(rig, [1, 2], named=[2])
    assert process(rig, group.key, groups) is Outcome.DONE
    status = rig.fake.statuses(REPO, group.head_sha)[-1]
    assert status.state == "pending"
    assert status.description == f"#1 at {rig.fake.pr(REPO, 1).head_sha[:7]} has no verdict yet"
    with rig.store.begin() as conn:
        assert merge_groups.get(conn, group.id).pull_numbers == (1, 2)
        assert dirty.get(conn, rig.key(1)) is not None

    # #1's verdict (pending: no approval) wakes the group, which now says so.
    assert process(rig, rig.key(1), pulls) is Outcome.DONE
    with rig.store.begin() as conn:
        assert dirty.get(conn, group.key) is not None
    assert process(rig, group.key, groups) is Outcome.DONE
    latest = rig.fake.statuses(REPO, group.head_sha)[-1]
    assert latest.description == f"#1 at {rig.fake.pr(REPO, 1).head_sha[:7]} is still pending"


def test_a_verdict_on_the_same_commit_for_another_pr_does_not_pass_a_member(rig):
    rig.fake.add_repo(REPO, files={".github/gatebot.yml": ONE_APPROVAL})
    queue_pr(rig, 1, approved=False)
    head = rig.fake.pr(REPO, 1).head_sha
    with rig.store.begin() as conn:
        evaluations.record(conn, evaluations.Posted(
            provider="github", repo=REPO, sha=head, context="gatebot: main", number=9,
            state="success", description="passes", details_url=None, report_only=False,
            status_posted=True, check_run_id=None, explanation=None, posted_at=utcnow(),
        ))
    group = group_of(rig, [1])
    assert process(rig, group.key, MergeGroupPipeline(rig.forge, rig.store)) is Outcome.DONE
    (status,) = rig.fake.statuses(REPO, group.head_sha)
    assert status.state == "pending"
    assert status.description == f"#1 at {head[:7]} has no verdict yet"
