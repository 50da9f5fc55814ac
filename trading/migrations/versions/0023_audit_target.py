"""audit_entries: index on (target_type, target_id, seq) for a target's history

Revision ID: 0023_audit_target
Revises: 0022_draw_replacement_failures
"""

from __future__ import annotations

from alembic import op

revision = "0023_audit_target"
down_revision = "0022_draw_replacement_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.create_index("ix_audit_entries_target", ["target_type", "target_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_index("ix_audit_entries_target")
