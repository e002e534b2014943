"""Deploy outcomes: each started deployment followed to its end.

One row per deployment the bot started: its stage (running, succeeded,
failed, timed out), when it started and ended, its link, the target's own
id of it (to match the forge's events and callbacks), when it is next
asked about, and the one PR comment that tells it, edited in place.

Revision ID: 0017_deploy_outcomes
Revises: 0016_verdict_history
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_deploy_outcomes"
down_revision = "0016_verdict_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("merge_sha", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("access", sa.BigInteger(), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("comment_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment_stage", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deploy_outcomes"),
        sa.UniqueConstraint(
            "provider",
            "repo",
            "merge_sha",
            "name",
            name="uq_deploy_outcomes_provider_repo_merge_sha_name",
        ),
    )
    op.create_index(
        "ix_deploy_outcomes_reference", "deploy_outcomes", ["provider", "method", "reference"]
    )
    op.create_index("ix_deploy_outcomes_stage", "deploy_outcomes", ["stage"])


def downgrade() -> None:
    op.drop_index("ix_deploy_outcomes_stage", table_name="deploy_outcomes")
    op.drop_index("ix_deploy_outcomes_reference", table_name="deploy_outcomes")
    op.drop_table("deploy_outcomes")
