"""draw_seats: at most one active row per seat of a draw

Revision ID: 0021_draw_seat_active
Revises: 0052_credit_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_draw_seat_active"
down_revision = "0052_credit_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_draw_seats_active_seat",
        "draw_seats",
        ["draw_id", "seat"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index("uq_draw_seats_active_seat", table_name="draw_seats")
