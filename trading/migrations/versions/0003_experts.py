"""expert pool and draws

Revision ID: 0003_experts
Revises: 0002_credit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_experts"
down_revision = "0002_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_uscc", sa.String(length=18), nullable=False),
        sa.Column("tender_ref", sa.String(length=100), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("unseal_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draws")),
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draws_centre_uscc"), ["centre_uscc"], unique=False)
        batch_op.create_index(batch_op.f("ix_draws_tender_ref"), ["tender_ref"], unique=False)
    op.create_table(
        "inspection_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("seed_commitment", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("subject_pool", sa.JSON(), nullable=False),
        sa.Column("subject_pool_digest", sa.String(length=64), nullable=False),
        sa.Column("inspector_pool", sa.JSON(), nullable=False),
        sa.Column("inspector_pool_digest", sa.String(length=64), nullable=False),
        sa.Column("inspector_exclusions", sa.JSON(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("inspectors", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_draws")),
    )
    op.create_table(
        "draw_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seed_commitment", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_rounds_draw_id_draws")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_rounds")),
        sa.UniqueConstraint("draw_id", "number", name="uq_draw_rounds_draw_number"),
    )
    op.create_table(
        "experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("employer_uscc", sa.String(length=18), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status in ('active','suspended','retired')", name=op.f("ck_experts_status")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_experts_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experts")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_experts_subject_id")),
    )
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experts_employer_uscc"), ["employer_uscc"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_experts_region"), ["region"], unique=False)
    op.create_table(
        "inspection_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection_draws.id"],
            name=op.f("fk_inspection_results_inspection_id_inspection_draws"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_inspection_results_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_results")),
        sa.UniqueConstraint("inspection_id", "subject_id", name="uq_inspection_results_subject"),
    )
    op.create_table(
        "draw_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.String(length=12), nullable=False),
        sa.Column("conduct", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("credit_record_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "attendance in ('attended','late','left_early','absent')",
            name=op.f("ck_draw_feedback_attendance"),
        ),
        sa.CheckConstraint(
            "conduct in ('good','poor','misconduct')", name=op.f("ck_draw_feedback_conduct")
        ),
        sa.ForeignKeyConstraint(
            ["credit_record_id"],
            ["credit_records.id"],
            name=op.f("fk_draw_feedback_credit_record_id_credit_records"),
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_feedback_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_draw_feedback_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_feedback")),
        sa.UniqueConstraint("draw_id", "expert_id", name="uq_draw_feedback_draw_expert"),
    )
    op.create_table(
        "draw_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("specialty", sa.String(length=7), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("backups_requested", sa.Integer(), nullable=False),
        sa.Column("pool", sa.JSON(), nullable=False),
        sa.Column("pool_digest", sa.String(length=64), nullable=False),
        sa.Column("exclusions", sa.JSON(), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.Column("backups", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["draw_rounds.id"], name=op.f("fk_draw_groups_round_id_draw_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_groups")),
        sa.UniqueConstraint("round_id", "position", name="uq_draw_groups_round_position"),
    )
    op.create_table(
        "draw_replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("old_expert_id", sa.Integer(), nullable=False),
        sa.Column("new_expert_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_replacements_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["new_expert_id"],
            ["experts.id"],
            name=op.f("fk_draw_replacements_new_expert_id_experts"),
        ),
        sa.ForeignKeyConstraint(
            ["old_expert_id"],
            ["experts.id"],
            name=op.f("fk_draw_replacements_old_expert_id_experts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_replacements")),
    )
    with op.batch_alter_table("draw_replacements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draw_replacements_draw_id"), ["draw_id"], unique=False)
    op.create_table(
        "draw_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("specialty", sa.String(length=7), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_draw_seats_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_draw_seats_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_seats")),
    )
    with op.batch_alter_table("draw_seats", schema=None) as batch_op:
        batch_op.create_index("ix_draw_seats_draw_seat", ["draw_id", "seat"], unique=False)
        batch_op.create_index(batch_op.f("ix_draw_seats_expert_id"), ["expert_id"], unique=False)
    op.create_table(
        "expert_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draws.id"], name=op.f("fk_expert_bookings_draw_id_draws")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_bookings_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_bookings")),
    )
    with op.batch_alter_table("expert_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_bookings_draw_id"), ["draw_id"], unique=False)
        batch_op.create_index("ix_expert_bookings_ends_at", ["ends_at"], unique=False)
        batch_op.create_index(
            "ix_expert_bookings_expert_starts", ["expert_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_expert_bookings_starts_at", ["starts_at"], unique=False)
    op.create_table(
        "expert_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_expert_leaves_ordered")),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_leaves_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_leaves")),
    )
    with op.batch_alter_table("expert_leaves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_leaves_ends_on"), ["ends_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_leaves_expert_id"), ["expert_id"], unique=False)
    op.create_table(
        "expert_specialties",
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=7), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_specialties_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("expert_id", "code", name=op.f("pk_expert_specialties")),
    )
    with op.batch_alter_table("expert_specialties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_expert_specialties_code_region", ["code", "region", "expert_id"], unique=False
        )
    op.create_table(
        "expert_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=False),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_status_changes_expert_id_experts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_status_changes")),
    )
    with op.batch_alter_table("expert_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_status_changes_expert_id"), ["expert_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("expert_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_status_changes_expert_id"))
    op.drop_table("expert_status_changes")
    with op.batch_alter_table("expert_specialties", schema=None) as batch_op:
        batch_op.drop_index("ix_expert_specialties_code_region")
    op.drop_table("expert_specialties")
    with op.batch_alter_table("expert_leaves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_leaves_expert_id"))
        batch_op.drop_index(batch_op.f("ix_expert_leaves_ends_on"))
    op.drop_table("expert_leaves")
    with op.batch_alter_table("expert_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_expert_bookings_starts_at")
        batch_op.drop_index("ix_expert_bookings_expert_starts")
        batch_op.drop_index("ix_expert_bookings_ends_at")
        batch_op.drop_index(batch_op.f("ix_expert_bookings_draw_id"))
    op.drop_table("expert_bookings")
    with op.batch_alter_table("draw_seats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draw_seats_expert_id"))
        batch_op.drop_index("ix_draw_seats_draw_seat")
    op.drop_table("draw_seats")
    with op.batch_alter_table("draw_replacements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draw_replacements_draw_id"))
    op.drop_table("draw_replacements")
    op.drop_table("draw_groups")
    op.drop_table("draw_feedback")
    op.drop_table("inspection_results")
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experts_region"))
        batch_op.drop_index(batch_op.f("ix_experts_employer_uscc"))
    op.drop_table("experts")
    op.drop_table("draw_rounds")
    op.drop_table("inspection_draws")
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draws_tender_ref"))
        batch_op.drop_index(batch_op.f("ix_draws_centre_uscc"))
    op.drop_table("draws")
