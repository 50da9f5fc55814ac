"""subjects.ended_on/end_kind (注销/吊销) and subject_names (曾用名)

Revision ID: 0053_subject_lifecycle
Revises: 0025_draw_commit_reveal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0053_subject_lifecycle"
down_revision = "0025_draw_commit_reveal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("end_kind", sa.String(length=12), nullable=True))
    op.create_table(
        "subject_names",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("subjects.id"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=True),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_subject_names_subject_id", "subject_names", ["subject_id"])
    op.create_index("ix_subject_names_name_key", "subject_names", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_subject_names_name_key", table_name="subject_names")
    op.drop_index("ix_subject_names_subject_id", table_name="subject_names")
    op.drop_table("subject_names")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("end_kind")
        batch.drop_column("ended_on")
