"""Deploy intents keep the target's own id of what they started.

A GitHub deployment id, a workflow run id, a Jenkins queue item, a GitLab
pipeline id or an AWS CodeDeploy deployment id: whatever the target answered
that names the deployment, so its outcome can be followed to its end.

Revision ID: 0015_deploy_references
Revises: 0014_delivery_log_marks
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_deploy_references"
down_revision = "0014_delivery_log_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deploy_intents") as batch:
        batch.add_column(sa.Column("reference", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deploy_intents") as batch:
        batch.drop_column("reference")
