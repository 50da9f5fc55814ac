"""jobs and job_files: long work and its uploads; on PostgreSQL the procrastinate queue

Revision ID: 0050_jobs
Revises: 0020_throttle

The queue's schema is procrastinate's own SQL for the version pinned in pyproject.toml
(``procrastinate.schema.SchemaManager.get_schema``). Upgrading procrastinate to a version
with schema migrations of its own means a new migration here applying its delta files.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050_jobs"
down_revision = "0020_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=120), nullable=True),
        sa.Column("has_upload", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_jobs_owner", "jobs", ["owner"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_table(
        "job_files",
        sa.Column(
            "job_id",
            sa.String(length=24),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Raw cursor, no parameters: the SQL's own % and :: reach the server untouched.
        bind.connection.dbapi_connection.cursor().execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for (table,) in bind.exec_driver_sql(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%%'"
        ).all():
            bind.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        for (function,) in bind.exec_driver_sql(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'"
        ).all():
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
        for (kind,) in bind.exec_driver_sql(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%' "
            "AND t.typtype IN ('e', 'c', 'd')"
        ).all():
            bind.exec_driver_sql(f'DROP TYPE IF EXISTS "{kind}" CASCADE')
    op.drop_table("job_files")
    op.drop_index("ix_jobs_created_at", table_name="jobs")
    op.drop_index("ix_jobs_owner", table_name="jobs")
    op.drop_table("jobs")
