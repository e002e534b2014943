"""Catch-up: how far each repository's PR list was reconciled, and the rounds' record.

Revision ID: 0013_reconcile_marks
Revises: 0012_merge_content
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_reconcile_marks"
down_revision = "0012_merge_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_marks",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("reconciled_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("walked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", name="pk_reconcile_marks"),
    )
    op.create_table(
        "catchup_rounds",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("caught_up_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("marked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name="pk_catchup_rounds"),
    )


def downgrade() -> None:
    op.drop_table("catchup_rounds")
    op.drop_table("reconcile_marks")
