"""draw_replacement_failures: replacements that found nobody, kept with their refusal

Revision ID: 0022_draw_replacement_failures
Revises: 0021_draw_seat_active
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_draw_replacement_failures"
down_revision = "0021_draw_seat_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draw_replacement_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_replacement_failures_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_draw_replacement_failures_expert_id_experts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_replacement_failures")),
    )
    with op.batch_alter_table("draw_replacement_failures") as batch:
        batch.create_index(
            batch.f("ix_draw_replacement_failures_draw_id"), ["draw_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("draw_replacement_failures") as batch:
        batch.drop_index(batch.f("ix_draw_replacement_failures_draw_id"))
    op.drop_table("draw_replacement_failures")
