"""Deploying: deploy intents and the deploy audit log.

Revision ID: 0005_deploys
Revises: 0004_merges
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_deploys"
down_revision = "0004_merges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_intents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("merge_sha", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deploy_intents"),
        sa.UniqueConstraint(
            "provider",
            "repo",
            "merge_sha",
            "name",
            name="uq_deploy_intents_provider_repo_merge_sha_name",
        ),
    )
    op.create_index("ix_deploy_intents_state", "deploy_intents", ["state"])
    op.create_table(
        "deploy_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("merge_sha", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deploy_audit"),
    )
    op.create_index("ix_deploy_audit_at", "deploy_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_deploy_audit_at", table_name="deploy_audit")
    op.drop_table("deploy_audit")
    op.drop_index("ix_deploy_intents_state", table_name="deploy_intents")
    op.drop_table("deploy_intents")
