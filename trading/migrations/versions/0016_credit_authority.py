"""regulator tokens bound to an authority (谁认定、谁修复)

Revision ID: 0016_credit_authority
Revises: 0004_trading
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_credit_authority"
down_revision = "0004_trading"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("authority", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("authority")
