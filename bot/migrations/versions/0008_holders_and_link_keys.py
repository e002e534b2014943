"""Holders' permissions on holds; the generated key that signs details links.

Revision ID: 0008_holders_and_link_keys
Revises: 0007_pull_verdicts
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_holders_and_link_keys"
down_revision = "0007_pull_verdicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Holds recorded before this revision keep no permission: `unhold` treats
    # them as an admin's (only their holder or an admin lifts them).
    with op.batch_alter_table("pull_holds") as batch:
        batch.add_column(sa.Column("permission", sa.String(16), nullable=True))
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_signing_keys"),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    with op.batch_alter_table("pull_holds") as batch:
        batch.drop_column("permission")
