"""subjects.name_key: the name as compared (credit.names.name_key), indexed

Revision ID: 0016_credit_name_key
Revises: 0016_credit_authority
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_credit_name_key"
down_revision = "0016_credit_authority"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
        batch.create_index("ix_subjects_name_key", ["name_key"])
    from credit.names import name_key

    bind = op.get_bind()
    subjects = sa.table("subjects", sa.column("id"), sa.column("name"), sa.column("name_key"))
    rows = bind.execute(sa.select(subjects.c.id, subjects.c.name)).all()
    for start in range(0, len(rows), 1000):
        bind.execute(
            subjects.update().where(subjects.c.id == sa.bindparam("_id")),
            [{"_id": r.id, "name_key": name_key(r.name)} for r in rows[start : start + 1000]],
        )


def downgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.drop_index("ix_subjects_name_key")
        batch.drop_column("name_key")
