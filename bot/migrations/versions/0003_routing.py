"""What webhooks tell: known PRs, tamper marks, merge groups, installations, the App's slug.

Revision ID: 0003_routing
Revises: 0002_forge_caches
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_routing"
down_revision = "0002_forge_caches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulls",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "number", name="pk_pulls"),
    )
    op.create_index("ix_pulls_provider_repo_head_sha", "pulls", ["provider", "repo", "head_sha"])
    op.create_index("ix_pulls_provider_repo_base_ref", "pulls", ["provider", "repo", "base_ref"])
    op.create_index("ix_pulls_provider_owner_state", "pulls", ["provider", "owner", "state"])
    op.create_table(
        "tamper_marks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("editor", sa.String(255), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tamper_marks"),
    )
    op.create_index(
        "ix_tamper_marks_provider_repo_number", "tamper_marks", ["provider", "repo", "number"]
    )
    op.create_table(
        "merge_groups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("head_ref", sa.String(255), nullable=False),
        sa.Column("base_ref", sa.String(255), nullable=False),
        sa.Column("base_sha", sa.String(64), nullable=True),
        sa.Column("pull_numbers", sa.String(1000), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merge_groups"),
        sa.UniqueConstraint(
            "provider", "repo", "head_sha", name="uq_merge_groups_provider_repo_head_sha"
        ),
    )
    op.create_table(
        "installations",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("app_id", sa.BigInteger(), nullable=True),
        sa.Column("repository_selection", sa.String(16), nullable=True),
        sa.Column("repositories", sa.Text(), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "installation_id", name="pk_installations"),
    )
    op.create_table(
        "app_identities",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "app_id", name="pk_app_identities"),
    )


def downgrade() -> None:
    op.drop_table("app_identities")
    op.drop_table("installations")
    op.drop_table("merge_groups")
    op.drop_index("ix_tamper_marks_provider_repo_number", table_name="tamper_marks")
    op.drop_table("tamper_marks")
    op.drop_index("ix_pulls_provider_owner_state", table_name="pulls")
    op.drop_index("ix_pulls_provider_repo_base_ref", table_name="pulls")
    op.drop_index("ix_pulls_provider_repo_head_sha", table_name="pulls")
    op.drop_table("pulls")
