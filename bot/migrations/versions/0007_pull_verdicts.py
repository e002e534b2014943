"""The verdict per PR, head and context, which the deploy step checks before shipping a merge.

Revision ID: 0007_pull_verdicts
Revises: 0006_commands
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_pull_verdicts"
down_revision = "0006_commands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_verdicts",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("context", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("report_only", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "repo", "number", "sha", "context", name="pk_pull_verdicts"
        ),
    )


def downgrade() -> None:
    op.drop_table("pull_verdicts")
