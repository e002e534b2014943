"""Forge caches (files, directory facts, PR parts), posted verdicts and request counts.

Revision ID: 0002_forge_caches
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_forge_caches"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forge_files",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "ref", "path", name="pk_forge_files"),
    )
    op.create_table(
        "directory_facts",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "kind", "scope", "login", name="pk_directory_facts"),
    )
    op.create_index("ix_directory_facts_provider_login", "directory_facts", ["provider", "login"])
    op.create_table(
        "pull_parts",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "number", name="pk_pull_parts"),
    )
    op.create_table(
        "evaluations",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("context", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("details_url", sa.Text(), nullable=True),
        sa.Column("report_only", sa.Boolean(), nullable=False),
        sa.Column("status_posted", sa.Boolean(), nullable=False),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "repo", "sha", "context", name="pk_evaluations"),
    )
    op.create_table(
        "evaluation_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_requests"),
    )
    op.create_index(
        "ix_evaluation_requests_provider_repo_number",
        "evaluation_requests",
        ["provider", "repo", "number"],
    )


def downgrade() -> None:
    op.drop_index("ix_evaluation_requests_provider_repo_number", table_name="evaluation_requests")
    op.drop_table("evaluation_requests")
    op.drop_table("evaluations")
    op.drop_table("pull_parts")
    op.drop_index("ix_directory_facts_provider_login", table_name="directory_facts")
    op.drop_table("directory_facts")
    op.drop_table("forge_files")
