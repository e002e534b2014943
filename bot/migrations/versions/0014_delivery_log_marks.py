"""The GitHub App webhook's delivery log: how far it was checked, and the redeliveries asked.

Revision ID: 0014_delivery_log_marks
Revises: 0013_reconcile_marks
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_delivery_log_marks"
down_revision = "0013_reconcile_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_log_marks",
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("caught_up_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_top", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_cursor", sa.String(255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name="pk_delivery_log_marks"),
    )
    op.create_table(
        "redelivery_asks",
        sa.Column("guid", sa.String(128), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guid", name="pk_redelivery_asks"),
    )
    op.create_index("ix_redelivery_asks_asked_at", "redelivery_asks", ["asked_at"])


def downgrade() -> None:
    op.drop_index("ix_redelivery_asks_asked_at", table_name="redelivery_asks")
    op.drop_table("redelivery_asks")
    op.drop_table("delivery_log_marks")
