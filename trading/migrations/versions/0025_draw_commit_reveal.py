"""draws: commit before reveal (scheme v2), states and voiding

Revision ID: 0025_draw_commit_reveal
Revises: 0024_inspection_late_results
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_draw_commit_reveal"
down_revision = "0024_inspection_late_results"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("draws") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=12), server_default="drawn", nullable=False)
        )
        batch.add_column(sa.Column("voided_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("void_basis", sa.Text(), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("draw_rounds") as batch:
        batch.add_column(
            sa.Column("scheme", sa.String(length=4), server_default="v1", nullable=False)
        )
        batch.alter_column("seed", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("server_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("entropy_kind", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("entropy_name", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("entropy", sa.Text(), nullable=True))
        batch.add_column(sa.Column("entropy_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("entropy_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("withdrawn", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draw_rounds") as batch:
        for column in (
            "withdrawn",
            "entropy_at",
            "entropy_by",
            "entropy",
            "entropy_name",
            "entropy_kind",
            "request_digest",
            "server_secret",
            "scheme",
        ):
            batch.drop_column(column)
        batch.alter_column("seed", existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table("draws") as batch:
        for column in ("voided_by", "void_basis", "void_reason", "voided_at", "state"):
            batch.drop_column(column)
