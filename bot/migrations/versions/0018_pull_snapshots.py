"""Each open PR's latest snapshot, kept so a proposed policy can be tried on it.

Revision ID: 0018_pull_snapshots
Revises: 0017_deploy_outcomes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_pull_snapshots"
down_revision = "0017_deploy_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_snapshots",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=True),
        sa.Column("policy_file", sa.String(255), nullable=True),
        sa.Column("policy_text", sa.Text(), nullable=True),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("proposes", sa.String(16), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "number", name="pk_pull_snapshots"),
    )
    op.create_index(
        "ix_pull_snapshots_provider_repo_base_ref",
        "pull_snapshots",
        ["provider", "repo", "base_ref"],
    )
    op.create_index(
        "ix_pull_snapshots_provider_owner", "pull_snapshots", ["provider", "owner"]
    )


def downgrade() -> None:
    op.drop_index("ix_pull_snapshots_provider_owner", table_name="pull_snapshots")
    op.drop_index("ix_pull_snapshots_provider_repo_base_ref", table_name="pull_snapshots")
    op.drop_table("pull_snapshots")
