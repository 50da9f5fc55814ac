"""tenders, bids, collusion alerts

Revision ID: 0004_trading
Revises: 0003_experts
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_trading"
down_revision = "0003_experts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
