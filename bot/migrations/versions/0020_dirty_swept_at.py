"""A dirty PR remembers when the sweeper last queued it, until a worker claims it.

So a PR whose wake-up may wait in a busy queue is not queued again by
every sweep: each copy costs a worker a claim, and a queue behind its work
got further behind with every pass.

Revision ID: 0020_dirty_swept_at
Revises: 0019_inbox
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_dirty_swept_at"
down_revision = "0019_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dirty_pulls") as batch:
        batch.add_column(sa.Column("swept_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dirty_pulls") as batch:
        batch.drop_column("swept_at")
