"""Failing evaluations back off: how often a dirty PR's evaluation failed in a row, and
when it may be tried again.

Revision ID: 0010_backoff
Revises: 0009_pull_heads
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_backoff"
down_revision = "0009_pull_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dirty_pulls") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dirty_pulls") as batch:
        batch.drop_column("retry_at")
        batch.drop_column("failures")
