"""inspection_results: results after publication are further entries (no unique subject)

Revision ID: 0024_inspection_late_results
Revises: 0023_audit_target
"""

from __future__ import annotations

from alembic import op

revision = "0024_inspection_late_results"
down_revision = "0023_audit_target"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_results") as batch:
        batch.drop_constraint("uq_inspection_results_subject", type_="unique")
        batch.create_index(
            "ix_inspection_results_inspection_subject", ["inspection_id", "subject_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_results") as batch:
        batch.drop_index("ix_inspection_results_inspection_subject")
        batch.create_unique_constraint(
            "uq_inspection_results_subject", ["inspection_id", "subject_id"]
        )
