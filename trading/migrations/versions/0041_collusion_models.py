"""Learned collusion score: tender reviews, model versions, tender and firm scores

Revision ID: 0041_collusion_models
Revises: 0019_audit_request_id
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041_collusion_models"
down_revision = "0019_audit_request_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collusion_tender_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "verdict in ('collusive','competitive')",
            name=op.f("ck_collusion_tender_reviews_verdict"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_collusion_tender_reviews_tender_id_tenders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_tender_reviews")),
    )
    with op.batch_alter_table("collusion_tender_reviews") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_tender_reviews_tender_id"), ["tender_id"], unique=False
        )

    op.create_table(
        "collusion_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("params_digest", sa.String(length=64), nullable=False),
        sa.Column("labels_digest", sa.String(length=64), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("dismissed", sa.Integer(), nullable=False),
        sa.Column("training_tenders", sa.Integer(), nullable=False),
        sa.Column("cv_auc", sa.Float(), nullable=True),
        sa.Column("tenders_scored", sa.Integer(), nullable=False),
        sa.Column("firms_scored", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collusion_models")),
    )

    op.create_table(
        "collusion_tender_scores",
        sa.Column("tender_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["collusion_models.id"],
            name=op.f("fk_collusion_tender_scores_model_id_collusion_models"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_collusion_tender_scores_tender_id_tenders"),
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_collusion_tender_scores")),
    )
    with op.batch_alter_table("collusion_tender_scores") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_tender_scores_model_id"), ["model_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_collusion_tender_scores_score"), ["score"], unique=False
        )

    op.create_table(
        "collusion_firm_scores",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tenders", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["collusion_models.id"],
            name=op.f("fk_collusion_firm_scores_model_id_collusion_models"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_collusion_firm_scores_subject_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_collusion_firm_scores")),
    )
    with op.batch_alter_table("collusion_firm_scores") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collusion_firm_scores_model_id"), ["model_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_collusion_firm_scores_score"), ["score"], unique=False)


def downgrade() -> None:
    for table, columns in (
        ("collusion_firm_scores", ("model_id", "score")),
        ("collusion_tender_scores", ("model_id", "score")),
    ):
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
    op.drop_table("collusion_models")
    with op.batch_alter_table("collusion_tender_reviews") as batch_op:
        batch_op.drop_index(batch_op.f("ix_collusion_tender_reviews_tender_id"))
    op.drop_table("collusion_tender_reviews")
