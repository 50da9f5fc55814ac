"""expert pool and draws

Revision ID: 0003_experts
Revises: 0002_credit
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_experts"
down_revision = "0002_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
