"""audit_entries.request_id: the request that wrote the entry (X-Request-Id)

Revision ID: 0019_audit_request_id
Revises: 0016_credit_name_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_audit_request_id"
down_revision = "0016_credit_name_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_audit_entries_request_id", ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_index("ix_audit_entries_request_id")
        batch.drop_column("request_id")
