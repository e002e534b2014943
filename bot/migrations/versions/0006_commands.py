"""Comment commands: the comment inbox, holds, overrides, armed merges, the command audit log.

Revision ID: 0006_commands
Revises: 0005_deploys
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_commands"
down_revision = "0005_deploys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "command_comments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=True),
        sa.Column("cheap", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_command_comments"),
        sa.UniqueConstraint(
            "provider",
            "repo",
            "comment_id",
            name="uq_command_comments_provider_repo_comment_id",
        ),
    )
    op.create_index(
        "ix_command_comments_provider_repo_number_state",
        "command_comments",
        ["provider", "repo", "number", "state"],
    )
    op.create_table(
        "pull_holds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pull_holds"),
        sa.UniqueConstraint(
            "provider", "repo", "number", "by", name="uq_pull_holds_provider_repo_number_by"
        ),
    )
    op.create_table(
        "pull_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pull_overrides"),
        sa.UniqueConstraint(
            "provider",
            "repo",
            "comment_id",
            name="uq_pull_overrides_provider_repo_comment_id",
        ),
    )
    op.create_index(
        "ix_pull_overrides_provider_repo_number",
        "pull_overrides",
        ["provider", "repo", "number"],
    )
    op.create_table(
        "merge_arms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merge_arms"),
        sa.UniqueConstraint(
            "provider", "repo", "number", name="uq_merge_arms_provider_repo_number"
        ),
    )
    op.create_table(
        "command_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_command_audit"),
    )
    op.create_index("ix_command_audit_at", "command_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_command_audit_at", table_name="command_audit")
    op.drop_table("command_audit")
    op.drop_table("merge_arms")
    op.drop_index("ix_pull_overrides_provider_repo_number", table_name="pull_overrides")
    op.drop_table("pull_overrides")
    op.drop_table("pull_holds")
    op.drop_index("ix_command_comments_provider_repo_number_state", table_name="command_comments")
    op.drop_table("command_comments")
