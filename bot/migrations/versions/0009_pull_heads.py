"""Each PR's head history: push times per PR, retargets.

Revision ID: 0009_pull_heads
Revises: 0008_holders_and_link_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_pull_heads"
down_revision = "0008_holders_and_link_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_heads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forge_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pull_heads"),
    )
    op.create_index(
        "ix_pull_heads_provider_repo_number", "pull_heads", ["provider", "repo", "number"]
    )


def downgrade() -> None:
    op.drop_index("ix_pull_heads_provider_repo_number", table_name="pull_heads")
    op.drop_table("pull_heads")
