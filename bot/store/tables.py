"""The store's tables as SQLAlchemy Core metadata.

The migrations under `bot/migrations/versions` create these tables; this
module describes their current shape for queries, and a test checks that the
two agree. A new table means a new migration *and* an entry here.

All times are stored in UTC and read back as aware datetimes (`UTCDateTime`),
whatever the database keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Explicit names keep migrations stable across dialects.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC time")
        value = value.astimezone(UTC)
        # SQLite compares times as text: keep one format, without an offset.
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


PROVIDER = String(16)
REPO = String(255)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("delivery_id", String(128), nullable=False),
    Column("event", String(64), nullable=False),
    Column("action", String(64), nullable=True),
    Column("repo", REPO, nullable=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("pr_number", Integer, nullable=True),
    Column("sender", String(255), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "delivery_id"),
)

# Verified deliveries waiting to be ingested (`store/inbox.py`): what the webhook
# endpoints keep before they answer, and the consumer drains. `facts` is the
# parsed `DeliveryRecord` (JSON), `body` the raw payload as it was signed.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("delivery_id", String(128), nullable=False),
    Column("event", String(64), nullable=False),
    Column("facts", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # Set when a consumer takes it in (its body then dropped); the row stays a
    # while so that a redelivery racing the ingestion still meets the unique key.
    Column("taken_at", UTCDateTime),
    UniqueConstraint("provider", "delivery_id"),
    Index("ix_inbox_taken_at", "taken_at"),
)

# One row per PR that needs work. `generation` grows with every mark, so a
# mark that arrives while a run is going on is not lost when the run ends:
# the run clears the row only if the generation it started with is still
# the current one. The lease is the per-PR lock shared by all processes.
dirty_pulls = Table(
    "dirty_pulls",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("generation", Integer, nullable=False),
    Column("dirty_since", UTCDateTime, nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    # Evaluations that failed in a row, and when the PR may be tried again;
    # a new mark (a delivery) resets both.
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("retry_at", UTCDateTime, nullable=True),
    # When the sweeper last queued the PR; cleared by a worker's claim. While
    # tasks wait, a PR queued lately is not queued again (`dirty.claimable`).
    Column("swept_at", UTCDateTime, nullable=True),
)

# Who pushed which SHA, per (repository, SHA): a fact only events carry
# (`push`, `synchronize`). The times are kept as recorded; a head's push time
# for the policy is per PR, in `pull_heads`.
head_pushes = Table(
    "head_pushes",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("pushed_at", UTCDateTime, nullable=True),
    Column("pusher", String(255), nullable=True),
)

# Each PR's head history: one row each time its head SHA or its base branch
# changed, as the bot learnt it (an event, or its own read of the PR when the
# event was missed), in the order recorded (`id`). `at` is when the bot
# recorded it; `forge_updated_at` is the forge's own `updated_at` of the PR in
# what told it, so a late event never rewrites a newer state.
pull_heads = Table(
    "pull_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("sha", String(64), nullable=False),
    Column("base_ref", String(255), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("forge_updated_at", UTCDateTime, nullable=True),
)
Index("ix_pull_heads_provider_repo_number", pull_heads.c.provider, pull_heads.c.repo,
      pull_heads.c.number)

# One row per piece of work done for a PR: when it started and ended, by
# which worker, for which generation of the mark, and what it concluded.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("worker", String(128), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("summary", Text, nullable=True),
)
Index("ix_runs_provider_repo_number", runs.c.provider, runs.c.repo, runs.c.number)

# -- forge caches and what was posted (migration 0002) -----------------------

# Files read from a forge at a ref (the policy file, its fallbacks, CODEOWNERS),
# including the paths that were missing, so a warm cache answers a fallback
# chain without a request. Dropped by a push to the ref, else after a TTL.
# `ref` is "" for "the repository's default branch".
forge_files = Table(
    "forge_files",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("ref", String(255), primary_key=True),
    Column("path", String(512), primary_key=True),
    Column("found", Boolean, nullable=False),
    Column("content", Text, nullable=True),
    Column("fetched_at", UTCDateTime, nullable=False),
)

# Directory facts per person: a repository permission (kind "permission",
# scope = repository), a team membership ("team", scope = org/team) or an
# organisation membership ("org", scope = org). Logins and scopes lower-case.
directory_facts = Table(
    "directory_facts",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("scope", String(255), primary_key=True),
    Column("login", String(255), primary_key=True),
    Column("value", String(100), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
Index("ix_directory_facts_provider_login", directory_facts.c.provider, directory_facts.c.login)

# The parts of a PR that only change when the PR's `updated_at` or head does
# (files, commits, reviews, comments), as JSON, so re-evaluating an unchanged
# PR reads only what can change silently (checks and statuses).
pull_parts = Table(
    "pull_parts",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("head_sha", String(64), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("parts", Text, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
)

# Each open PR's latest snapshot as the core saw it, with the policy that judged
# it and what that policy needed read: a PR proposing a policy shows what it
# would change for the others from these rows, without reading them again.
# `proposes` marks a PR that shows such an impact ("base": its repository's
# policy for its base branch; "owner": the owner-wide policy), so a change of
# another PR can mark it for a (delayed) recomputation.
pull_snapshots = Table(
    "pull_snapshots",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("base_ref", String(255), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("origin", String(16), nullable=True),
    Column("policy_file", String(255), nullable=True),
    Column("policy_text", Text, nullable=True),
    Column("needs", Text, nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("proposes", String(16), nullable=True),
    Column("saved_at", UTCDateTime, nullable=False),
)
Index(
    "ix_pull_snapshots_provider_repo_base_ref",
    pull_snapshots.c.provider,
    pull_snapshots.c.repo,
    pull_snapshots.c.base_ref,
)
Index("ix_pull_snapshots_provider_owner", pull_snapshots.c.provider, pull_snapshots.c.owner)

# Whether a merge commit of a PR is an update merge, by its content: a
# commit never changes, so neither does the verdict (see store/merge_verdicts.py).
merge_verdicts = Table(
    "merge_verdicts",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("update_merge", Boolean, nullable=False),
    Column("note", Text, nullable=True),
    Column("checked_at", UTCDateTime, nullable=False),
)

# The verdict last posted per (repository, head SHA, context): "post only on
# change" reads it, the details page shows its explanation.
evaluations = Table(
    "evaluations",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("context", String(255), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", String(255), nullable=False),
    Column("details_url", Text, nullable=True),
    Column("report_only", Boolean, nullable=False),
    Column("status_posted", Boolean, nullable=False),
    Column("check_run_id", BigInteger, nullable=True),
    Column("explanation", Text, nullable=True),
    Column("posted_at", UTCDateTime, nullable=False),
)

# Every verdict the bot showed on a PR, in order (migration 0016): the details
# page's history — which head, what verdict, when, and the status line that
# says why. A row is added only when the state or the line changed.
verdict_history = Table(
    "verdict_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("sha", String(64), nullable=False),
    Column("context", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", String(255), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_verdict_history_pull", verdict_history.c.provider, verdict_history.c.repo,
      verdict_history.c.number, verdict_history.c.id)

# The verdict the bot last reached per (PR, head SHA, context), whatever was
# written to the forge: the deploy step ships a merge only if the merged head
# passed for that same PR under the context of the branch it was merged into.
pull_verdicts = Table(
    "pull_verdicts",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("context", String(255), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("report_only", Boolean, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
)

# The forge requests of each evaluation: how many, and which.
evaluation_requests = Table(
    "evaluation_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("head_sha", String(64), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("total", Integer, nullable=False),
    Column("requests", Text, nullable=False),
)
Index(
    "ix_evaluation_requests_provider_repo_number",
    evaluation_requests.c.provider,
    evaluation_requests.c.repo,
    evaluation_requests.c.number,
)

# -- what webhooks tell about PRs, installations and the merge queue (0003) ---

# The PRs the bot has heard of, kept from `pull_request` (and review) events,
# so events that name only a commit (statuses, checks) or a branch (pushes)
# find their PRs without asking the forge. `repo` keeps the forge's spelling
# (the dirty marks use it); `owner` is lower-case for organisation-wide
# lookups. `updated_at` is the forge's own time of the PR in the event: an
# older event delivered late never overwrites a newer one.
pulls = Table(
    "pulls",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("base_ref", String(255), nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("installation_id", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("seen_at", UTCDateTime, nullable=False),
)
Index("ix_pulls_provider_repo_head_sha", pulls.c.provider, pulls.c.repo, pulls.c.head_sha)
Index("ix_pulls_provider_repo_base_ref", pulls.c.provider, pulls.c.repo, pulls.c.base_ref)
Index("ix_pulls_provider_owner_state", pulls.c.provider, pulls.c.owner, pulls.c.state)

# Comments edited by someone other than their author (the webhook's
# `sender`): who, whose, on which head, when. The evaluation decides whether
# the comment looked like an approval.
tamper_marks = Table(
    "tamper_marks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    Column("author", String(255), nullable=False),
    Column("editor", String(255), nullable=False),
    Column("head_sha", String(64), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    # `comment` (a conversation comment) or `review` (a review's body).
    Column("subject", String(16), nullable=False, server_default="comment"),
)
Index(
    "ix_tamper_marks_provider_repo_number",
    tamper_marks.c.provider,
    tamper_marks.c.repo,
    tamper_marks.c.number,
)

# Merge-queue groups to judge: one per (repository, head SHA of the group).
# `id` names the group in the dirty table (see store/merge_groups.py).
merge_groups = Table(
    "merge_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("head_ref", String(255), nullable=False),
    Column("base_ref", String(255), nullable=False),
    Column("base_sha", String(64), nullable=True),
    Column("pull_numbers", String(1000), nullable=False),
    Column("installation_id", BigInteger, nullable=True),
    Column("state", String(16), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "repo", "head_sha"),
)

# The App's installations as its webhooks describe them.
installations = Table(
    "installations",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("installation_id", BigInteger, primary_key=True),
    Column("account", String(255), nullable=True),
    Column("app_id", BigInteger, nullable=True),
    Column("repository_selection", String(16), nullable=True),
    Column("repositories", Text, nullable=True),
    Column("suspended", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The App's own slug, as events that carry its id show it: the bot's statuses
# are written by `<slug>[bot]`, which is how the routing recognises them.
app_identities = Table(
    "app_identities",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("app_id", BigInteger, primary_key=True),
    Column("slug", String(255), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# -- merging (migration 0004) --------------------------------------------------

# One merge per (repository, PR, head SHA): written `open` before the merge
# call and completed (`merged`, `refused`, `abandoned`) after it, so an
# answer lost to a crash or a 5xx is settled against the PR's real state
# before anything is tried again.
merge_intents = Table(
    "merge_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("base_ref", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("armed_by", String(255), nullable=False),
    Column("installation_id", BigInteger, nullable=True),
    # Kept with the intent so a merge found only at reconciliation (after a
    # crash) still cleans up the head branch as the policy asked.
    Column("delete_branch", Boolean, nullable=False, server_default="0"),
    Column("state", String(16), nullable=False),
    Column("merge_sha", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "repo", "number", "head_sha"),
)
Index("ix_merge_intents_state", merge_intents.c.state)

# Every merge outcome, for people (`gatebot audit`): who armed it, what was
# merged at which SHA with which method, and how it ended.
merge_audit = Table(
    "merge_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("head_sha", String(64), nullable=False),
    Column("method", String(16), nullable=False),
    Column("armed_by", String(255), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("merge_sha", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_merge_audit_at", merge_audit.c.at)

# The PR comments the merge step wrote, one per (PR, head SHA, outcome):
# a redelivered event or a second worker never says the same thing twice.
merge_feedback = Table(
    "merge_feedback",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("head_sha", String(64), primary_key=True),
    Column("outcome", String(32), primary_key=True),
    Column("comment_id", BigInteger, nullable=True),
    Column("posted_at", UTCDateTime, nullable=False),
)

# One merge at a time per (repository, base branch), across every worker and
# process: a lease row like the dirty PRs' (a dead holder blocks until expiry).
merge_locks = Table(
    "merge_locks",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("base_ref", String(255), primary_key=True),
    Column("owner", String(128), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
)

# -- deploying (migration 0005) ------------------------------------------------

# One deployment per (repository, merge SHA, deploy name): written `open`
# before the call and completed (`deployed`, `failed`) after it. An intent
# left `open` means the answer was lost: a GitHub deployment is settled by
# listing the SHA's deployments, anything else is never sent again.
deploy_intents = Table(
    "deploy_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("merge_sha", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("number", Integer, nullable=False),
    Column("method", String(32), nullable=False),
    Column("environment", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("link", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The target's own id of the deployment it started (migration 0015).
    Column("reference", String(255), nullable=True),
    UniqueConstraint("provider", "repo", "merge_sha", "name"),
)
Index("ix_deploy_intents_state", deploy_intents.c.state)

# Every deploy outcome, for people: what was shipped where, and how it ended.
deploy_audit = Table(
    "deploy_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("merge_sha", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("method", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("link", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_deploy_audit_at", deploy_audit.c.at)

# Each started deployment followed to its end (migration 0017): its stage
# (`running`, then `succeeded`, `failed` or `timed out`), the target's own id
# of it (`reference`: what events and callbacks name), when it is next asked
# about (`next_check_at`, backing off by `interval_seconds`), and the one PR
# comment telling it: claimed before it is posted (`comment_claimed_at`), then
# edited in place until `comment_stage` is the row's stage.
deploy_outcomes = Table(
    "deploy_outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("merge_sha", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("number", Integer, nullable=False),
    Column("method", String(32), nullable=False),
    Column("environment", String(255), nullable=False),
    Column("target", String(255), nullable=True),
    Column("reference", String(255), nullable=True),
    Column("access", BigInteger, nullable=True),
    Column("stage", String(16), nullable=False),
    Column("link", Text, nullable=True),
    Column("message", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("interval_seconds", Float, nullable=False),
    Column("comment_id", BigInteger, nullable=True),
    Column("comment_claimed_at", UTCDateTime, nullable=True),
    Column("comment_stage", String(16), nullable=True),
    UniqueConstraint("provider", "repo", "merge_sha", "name"),
)
Index(
    "ix_deploy_outcomes_reference",
    deploy_outcomes.c.provider,
    deploy_outcomes.c.method,
    deploy_outcomes.c.reference,
)
Index("ix_deploy_outcomes_stage", deploy_outcomes.c.stage)

# -- comment commands (migration 0006) -------------------------------------------

# The inbox of PR comments that may hold commands, written by the web tier as
# they arrive (`created` only: edited comments never run commands) and worked
# through by the pipeline: `pending` (received) -> `acted` (the commands ran;
# `outcomes` is the pipeline's JSON of what happened, `cheap` how many
# rate-limited commands it counted) -> `answering` (one worker is posting the
# reply) -> `answered` (`reply_id` is the reply, if one was needed).
command_comments = Table(
    "command_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    Column("author", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),  # the comment's own time
    Column("received_at", UTCDateTime, nullable=False),
    Column("installation_id", BigInteger, nullable=True),
    Column("state", String(16), nullable=False),
    Column("outcomes", Text, nullable=True),
    Column("cheap", Integer, nullable=False, server_default="0"),
    Column("acted_at", UTCDateTime, nullable=True),
    Column("reply_id", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "repo", "comment_id"),
)
Index(
    "ix_command_comments_provider_repo_number_state",
    command_comments.c.provider,
    command_comments.c.repo,
    command_comments.c.number,
    command_comments.c.state,
)

# `/gate hold`: at most one hold per person and PR, with the holder's permission
# then (`unhold` lifts only holds of people it does not outrank).
pull_holds = Table(
    "pull_holds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("by", String(255), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    Column("permission", String(16), nullable=True),
    UniqueConstraint("provider", "repo", "number", "by"),
)

# `/gate override <reason>`, bound to the head SHA the bot saw when it ran
# the command. `at` is the comment's own time (the head must have been pushed
# before it), `recorded_at` when the bot took it in. Kept after the head
# moves on: the rows are the override audit log too.
pull_overrides = Table(
    "pull_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("sha", String(64), nullable=False),
    Column("by", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    UniqueConstraint("provider", "repo", "comment_id"),
)
Index(
    "ix_pull_overrides_provider_repo_number",
    pull_overrides.c.provider,
    pull_overrides.c.repo,
    pull_overrides.c.number,
)

# `/gate merge`: the PR merges once its gate passes; `/gate cancel` disarms.
# One arming per PR: the first one stands.
merge_arms = Table(
    "merge_arms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("by", String(255), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    UniqueConstraint("provider", "repo", "number"),
)

# Every command the bot acted on (or refused), for people (`gatebot audit`).
command_audit = Table(
    "command_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", PROVIDER, nullable=False),
    Column("repo", REPO, nullable=False),
    Column("number", Integer, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    Column("login", String(255), nullable=False),
    Column("command", String(32), nullable=False),
    Column("args", Text, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_command_audit_at", command_audit.c.at)

# Keys the service generated for itself, once, and shares between its
# instances (`store/signing_keys.py`): the details links' key when
# GATEBOT_SECRET_KEY is not set.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

gitlab_hooks = Table(
    "gitlab_hooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # project | group
    Column("target_id", BigInteger, nullable=False),  # GitLab's project or group id
    Column("path", String(255), nullable=False),  # its full path, lower-case, as the API said
    Column("hook_id", BigInteger, nullable=False),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 hex of the hook's token
    Column("connected_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "target_id"),
)
Index("ix_gitlab_hooks_path", gitlab_hooks.c.path)

# How far back each repository's PR list is known to match the store
# (`store/reconcile_marks.py`): the catch-up's reconcile walks newer PRs only.
reconcile_marks = Table(
    "reconcile_marks",
    metadata,
    Column("provider", PROVIDER, primary_key=True),
    Column("repo", REPO, primary_key=True),
    Column("reconciled_to", UTCDateTime, nullable=False),
    Column("walked_at", UTCDateTime, nullable=False),
)

# The catch-up rounds (`store/catchup_rounds.py`): the lease that lets one
# instance run a round at a time, and what the last round found.
catchup_rounds = Table(
    "catchup_rounds",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("duration_seconds", Float, nullable=True),
    Column("caught_up_to", UTCDateTime, nullable=True),
    Column("requests", Integer, nullable=False, server_default="0"),
    Column("marked", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Column("failures", Integer, nullable=False, server_default="0"),
)

# How far the GitHub App webhook's delivery log has been checked
# (`store/delivery_log.py`): everything delivered up to `caught_up_to` is
# handled; a walk cut short by its bounds resumes at `walk_cursor`, and
# reaching the mark then moves it to `walk_top`, where that walk began.
delivery_log_marks = Table(
    "delivery_log_marks",
    metadata,
    Column("app_id", BigInteger, primary_key=True),
    Column("caught_up_to", UTCDateTime, nullable=True),
    Column("walk_top", UTCDateTime, nullable=True),
    Column("walk_cursor", String(255), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The deliveries (by guid) the bot asked GitHub to redeliver: one ask per guid, ever.
redelivery_asks = Table(
    "redelivery_asks",
    metadata,
    Column("guid", String(128), primary_key=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("asked_at", UTCDateTime, nullable=False),
)
Index("ix_redelivery_asks_asked_at", redelivery_asks.c.asked_at)
