"""Merging: merge intents, the merge audit log, merge feedback keys, per-base merge locks.

Revision ID: 0004_merges
Revises: 0003_routing
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_merges"
down_revision = "0003_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merge_intents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("armed_by", sa.String(255), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("delete_branch", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("merge_sha", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merge_intents"),
        sa.UniqueConstraint(
            "provider",
            "repo",
            "number",
            "head_sha",
            name="uq_merge_intents_provider_repo_number_head_sha",
        ),
    )
    op.create_index("ix_merge_intents_state", "merge_intents", ["state"])
    op.create_table(
        "merge_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("armed_by", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("merge_sha", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merge_audit"),
    )
    op.create_index("ix_merge_audit_at", "merge_audit", ["at"])
    op.create_table(
        "merge_feedback",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "repo", "number", "head_sha", "outcome", name="pk_merge_feedback"
        ),
    )
    op.create_table(
        "merge_locks",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider", "repo", "base_ref", name="pk_merge_locks"),
    )


def downgrade() -> None:
    op.drop_table("merge_locks")
    op.drop_table("merge_feedback")
    op.drop_index("ix_merge_audit_at", table_name="merge_audit")
    op.drop_table("merge_audit")
    op.drop_index("ix_merge_intents_state", table_name="merge_intents")
    op.drop_table("merge_intents")
