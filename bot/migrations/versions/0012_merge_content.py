"""Update merges by content, edited review bodies: merge verdicts, what a tamper mark is on.

Cached PR parts are dropped: they carry update-merge flags judged the old way.

Revision ID: 0012_merge_content
Revises: 0011_gitlab_hooks
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_merge_content"
down_revision = "0011_gitlab_hooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merge_verdicts",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("update_merge", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "sha", name="pk_merge_verdicts"),
    )
    with op.batch_alter_table("tamper_marks") as batch:
        batch.add_column(
            sa.Column("subject", sa.String(16), nullable=False, server_default="comment")
        )
    # Stored PR parts flagged update merges by committer name: read them afresh.
    op.execute(sa.text("DELETE FROM pull_parts"))


def downgrade() -> None:
    with op.batch_alter_table("tamper_marks") as batch:
        batch.drop_column("subject")
    op.drop_table("merge_verdicts")
