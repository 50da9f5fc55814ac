"""tenders, bids, collusion alerts

Revision ID: 0004_trading
Revises: 0003_experts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_trading"
down_revision = "0003_experts"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "tenders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("tenderee_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("sector", sa.String(length=20), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("specialty", sa.String(length=10), nullable=True),
        sa.Column("estimate", MONEY, nullable=True),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("opening_at", sa.DateTime(), nullable=True),
        sa.Column("tender_date", sa.Date(), nullable=True),
        sa.Column("centre_uscc", sa.String(length=18), nullable=True),
        sa.Column("awarded_at", sa.DateTime(), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("origin in ('api','import')", name=op.f("ck_tenders_origin")),
        sa.CheckConstraint(
            "sector is null or sector in ('construction','procurement','land','property','other')",
            name=op.f("ck_tenders_sector"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["subjects.id"], name=op.f("fk_tenders_agency_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["tenderee_id"], ["subjects.id"], name=op.f("fk_tenders_tenderee_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenders")),
        sa.UniqueConstraint("ref", name=op.f("uq_tenders_ref")),
    )
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenders_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index("ix_tenders_tender_date", ["tender_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenders_tenderee_id"), ["tenderee_id"], unique=False)

    op.create_table(
        "bids",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("bidder_id", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("project_manager_id", sa.Integer(), nullable=True),
        sa.Column("deposit_account", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=200), nullable=True),
        sa.Column("machine_code", sa.String(length=128), nullable=True),
        sa.Column("mac", sa.String(length=64), nullable=True),
        sa.Column("cpu", sa.String(length=128), nullable=True),
        sa.Column("disk", sa.String(length=128), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("doc_hash", sa.String(length=128), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("winner", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("origin in ('api','import')", name=op.f("ck_bids_origin")),
        sa.CheckConstraint("price > 0", name=op.f("ck_bids_price_positive")),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["subjects.id"], name=op.f("fk_bids_bidder_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["project_manager_id"],
            ["subjects.id"],
            name=op.f("fk_bids_project_manager_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_bids_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
        sa.UniqueConstraint("tender_id", "bidder_id", name=op.f("uq_bids_tender_id_bidder_id")),
    )
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bids_bidder_id"), ["bidder_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bids_project_manager_id"), ["project_manager_id"], unique=False
        )

    op.create_table(
        "tender_screens",
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("n_bids", sa.Integer(), nullable=False),
        sa.Column("cv", sa.Float(), nullable=True),
        sa.Column("spd", sa.Float(), nullable=True),
        sa.Column("diffp", sa.Float(), nullable=True),
        sa.Column("rd", sa.Float(), nullable=True),
        sa.Column("kurt", sa.Float(), nullable=True),
        sa.Column("skew", sa.Float(), nullable=True),
        sa.Column("red_flags", sa.Integer(), nullable=False),
        sa.Column("suspicion", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_tender_screens_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_tender_screens")),
    )
    with op.batch_alter_table("tender_screens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tender_screens_suspicion"), ["suspicion"], unique=False
        )

    op.create_table(
        "collusion_common_values",
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("field", "value", name=op.f("pk_collusion_common_values")),
    )
    op.create_table(
        "collusion_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("tenders", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("scope in ('tender','network')", name=op.f("ck_collusion_alerts_scope")),
        sa.CheckConstraint(
            "status in ('open','confirmed','dismissed')", name=op.f("ck_collusion_alerts_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_collusion_alerts_open_key")),
    )
    with op.batch_alter_table("collusion_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collusion_alerts_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_collusion_alerts_score"), ["score"], unique=False)
        batch_op.create_index(batch_op.f("ix_collusion_alerts_status"), ["status"], unique=False)

    op.create_table(
        "collusion_alert_evidence",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("tender_ref", sa.String(length=64), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["collusion_alerts.id"],
            name=op.f("fk_collusion_alert_evidence_alert_id_collusion_alerts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_alert_evidence")),
    )
    with op.batch_alter_table("collusion_alert_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_alert_evidence_alert_id"), ["alert_id"], unique=False
        )

    op.create_table(
        "collusion_alert_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        sa.Column("status_before", sa.String(length=12), nullable=False),
        sa.Column("status_after", sa.String(length=12), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "decision in ('confirm','dismiss')", name=op.f("ck_collusion_alert_reviews_decision")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["collusion_alerts.id"],
            name=op.f("fk_collusion_alert_reviews_alert_id_collusion_alerts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_alert_reviews")),
    )
    with op.batch_alter_table("collusion_alert_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_alert_reviews_alert_id"), ["alert_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("collusion_alert_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collusion_alert_reviews_alert_id"))
    op.drop_table("collusion_alert_reviews")

    with op.batch_alter_table("collusion_alert_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collusion_alert_evidence_alert_id"))
    op.drop_table("collusion_alert_evidence")

    with op.batch_alter_table("collusion_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collusion_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_collusion_alerts_score"))
        batch_op.drop_index(batch_op.f("ix_collusion_alerts_key"))
    op.drop_table("collusion_alerts")
    op.drop_table("collusion_common_values")

    with op.batch_alter_table("tender_screens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tender_screens_suspicion"))
    op.drop_table("tender_screens")

    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bids_project_manager_id"))
        batch_op.drop_index(batch_op.f("ix_bids_bidder_id"))
    op.drop_table("bids")

    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenders_tenderee_id"))
        batch_op.drop_index("ix_tenders_tender_date")
        batch_op.drop_index(batch_op.f("ix_tenders_agency_id"))
    op.drop_table("tenders")
