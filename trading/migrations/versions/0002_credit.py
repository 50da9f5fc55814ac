"""credit records, listings, exchange

Revision ID: 0002_credit
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_credit"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def _basis() -> list[sa.Column]:
    return [
        sa.Column("basis_authority", sa.String(length=200), nullable=False),
        sa.Column("basis_document_no", sa.String(length=120), nullable=False),
        sa.Column("basis_decided_on", sa.Date(), nullable=False),
    ]


def _source() -> list[sa.Column]:
    return [
        sa.Column("source_platform", sa.String(length=60), nullable=False),
        sa.Column("source_id", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.create_index("uq_subjects_source", ["source_platform", "source_id"], unique=True)
    with op.batch_alter_table("relations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_platform", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("source_id", sa.String(length=120), nullable=True))
        batch_op.create_index("uq_relations_source", ["source_platform", "source_id"], unique=True)

    op.create_table(
        "credit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("refers_to_id", sa.Integer(), nullable=True),
        sa.Column("polarity", sa.String(length=10), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("basis_authority", sa.String(length=200), nullable=True),
        sa.Column("basis_document_no", sa.String(length=120), nullable=True),
        sa.Column("basis_decided_on", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        *_source(),
        sa.CheckConstraint(
            "event in ('record','correction','revocation','repair')",
            name=op.f("ck_credit_records_event"),
        ),
        sa.CheckConstraint(
            "polarity is null or polarity in ('negative','positive')",
            name=op.f("ck_credit_records_polarity"),
        ),
        sa.CheckConstraint(
            "severity is null or severity in ('minor','general','serious')",
            name=op.f("ck_credit_records_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["refers_to_id"],
            ["credit_records.id"],
            name=op.f("fk_credit_records_refers_to_id_credit_records"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_credit_records_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_records")),
        sa.UniqueConstraint("source_platform", "source_id", name="uq_credit_records_source"),
    )
    with op.batch_alter_table("credit_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_records_subject_to", ["subject_id", "effective_to"], unique=False
        )
        batch_op.create_index("uq_credit_records_refers_to", ["refers_to_id"], unique=True)

    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("sectors", sa.String(length=200), nullable=False),
        sa.Column("regions", sa.String(length=2000), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        *_basis(),
        *_source(),
        sa.CheckConstraint("kind in ('blacklist','abnormal')", name=op.f("ck_listings_kind")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_listings_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
        sa.UniqueConstraint("source_platform", "source_id", name="uq_listings_source"),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index("ix_listings_kind_starts", ["kind", "starts_on"], unique=False)
        batch_op.create_index(
            "ix_listings_subject_starts", ["subject_id", "starts_on"], unique=False
        )

    op.create_table(
        "listing_lifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        *_basis(),
        *_source(),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_listing_lifts_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_lifts")),
        sa.UniqueConstraint("listing_id", name="uq_listing_lifts_listing_id"),
        sa.UniqueConstraint("source_platform", "source_id", name="uq_listing_lifts_source"),
    )

    op.create_table(
        "credit_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_changes")),
    )


def downgrade() -> None:
    op.drop_table("credit_changes")
    op.drop_table("listing_lifts")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index("ix_listings_subject_starts")
        batch_op.drop_index("ix_listings_kind_starts")
    op.drop_table("listings")
    with op.batch_alter_table("credit_records", schema=None) as batch_op:
        batch_op.drop_index("uq_credit_records_refers_to")
        batch_op.drop_index("ix_credit_records_subject_to")
    op.drop_table("credit_records")
    with op.batch_alter_table("relations", schema=None) as batch_op:
        batch_op.drop_index("uq_relations_source")
        batch_op.drop_column("source_id")
        batch_op.drop_column("source_platform")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_index("uq_subjects_source")
