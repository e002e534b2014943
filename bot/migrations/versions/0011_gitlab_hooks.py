"""GitLab hooks the bot manages, one secret each (`gatebot gitlab connect`).

Revision ID: 0011_gitlab_hooks
Revises: 0010_backoff
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_gitlab_hooks"
down_revision = "0010_backoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gitlab_hooks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("hook_id", sa.BigInteger(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gitlab_hooks"),
        sa.UniqueConstraint("kind", "target_id", name="uq_gitlab_hooks_kind_target_id"),
    )
    op.create_index("ix_gitlab_hooks_path", "gitlab_hooks", ["path"])


def downgrade() -> None:
    op.drop_index("ix_gitlab_hooks_path", table_name="gitlab_hooks")
    op.drop_table("gitlab_hooks")
