"""audit_entries.key_id: the key of each entry's keyed hash (HMAC-SHA256)

Revision ID: 0051_audit_keys
Revises: 0050_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0051_audit_keys"
down_revision = "0050_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("key_id")
