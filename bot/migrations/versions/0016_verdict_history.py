"""Every verdict shown on a PR, in order: the details page's history.

Revision ID: 0016_verdict_history
Revises: 0015_deploy_references
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_verdict_history"
down_revision = "0015_deploy_references"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdict_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("context", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verdict_history"),
    )
    op.create_index(
        "ix_verdict_history_pull", "verdict_history", ["provider", "repo", "number", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_verdict_history_pull", table_name="verdict_history")
    op.drop_table("verdict_history")
