"""throttle_buckets: failed sign-in attempts per address and per token prefix

Revision ID: 0020_throttle
Revises: 0041_collusion_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_throttle"
down_revision = "0041_collusion_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_buckets",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("last_block", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("throttle_buckets")
