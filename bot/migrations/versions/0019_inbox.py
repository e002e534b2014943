"""Verified webhook deliveries kept before they are answered, until the consumer ingests them.

Revision ID: 0019_inbox
Revises: 0018_pull_snapshots
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_inbox"
down_revision = "0018_pull_snapshots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("provider", "delivery_id", name="uq_inbox_provider_delivery_id"),
    )
    op.create_index("ix_inbox_taken_at", "inbox", ["taken_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_taken_at", table_name="inbox")
    op.drop_table("inbox")
