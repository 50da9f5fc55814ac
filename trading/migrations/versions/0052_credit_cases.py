"""credit_cases: repair applications (信用修复) and objections (异议申诉)

Revision ID: 0052_credit_cases
Revises: 0051_audit_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0052_credit_cases"
down_revision = "0051_audit_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("credit_records.id"), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=True),
        sa.Column("commitment", sa.JSON(), nullable=True),
        sa.Column("proofs", sa.JSON(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("decision_due", sa.Date(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome_record_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_credit_cases_record_id", "credit_cases", ["record_id"])
    op.create_index("ix_credit_cases_subject_id", "credit_cases", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_credit_cases_subject_id", table_name="credit_cases")
    op.drop_index("ix_credit_cases_record_id", table_name="credit_cases")
    op.drop_table("credit_cases")
