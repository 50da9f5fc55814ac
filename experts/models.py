"""Tables of the expert pool (评标专家库), draws (抽取), bookings and random inspections.

An expert is a credit subject of kind ``practitioner`` (``subject_id``): employment,
relatives and declared interests are credit relations of that subject, and a penalty
recorded against it bars the expert through the one eligibility function.

A draw keeps everything needed to recompute it later: per round (the main draw, then any
supplementary draw) the seed's commitment and the seed, and per seat group the canonical
pool snapshot, its digest, the exclusions with their reasons, the seats and the committed
backup order. Those columns are written once and never edited; later events (replacements,
feedback) are rows of their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base

EXPERT_STATUSES = ("active", "suspended", "retired")
REPLACEMENT_REASONS = ("declined", "no_answer", "conflict")
ATTENDANCE = ("attended", "late", "left_early", "absent")  # absent = 无故缺席 (no-show)
CONDUCT = ("good", "poor", "misconduct")


class Expert(Base):
    __tablename__ = "experts"
    __table_args__ = (CheckConstraint("status in ('active','suspended','retired')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    # The employer as given; also an employment relation when the employer is a known subject.
    employer_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    # Private: returned to admins and to the centre that drew the expert, never to anyone else.
    contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ExpertSpecialty(Base):
    """One row per code an expert can sit for: each held code and every code above it.

    Storing the ancestors (``held`` false) turns "holds the requested code or one below it"
    into an equality on an index, which stays fast whatever the database's collation. The
    expert's region is repeated here so that a draw's pool (one code, one region range) is a
    single range scan of ``(code, region)`` whose cost follows the pool, not the register.
    """

    __tablename__ = "expert_specialties"
    __table_args__ = (Index("ix_expert_specialties_code_region", "code", "region", "expert_id"),)

    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    held: Mapped[bool] = mapped_column(Boolean)
    region: Mapped[str] = mapped_column(String(6))


class ExpertLeave(Base):
    """A period the expert is unavailable (请假), inclusive at both ends."""

    __tablename__ = "expert_leaves"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ExpertStatusChange(Base):
    __tablename__ = "expert_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class Draw(Base):
    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_uscc: Mapped[str] = mapped_column(String(18), index=True)
    tender_ref: Mapped[str] = mapped_column(String(100), index=True)
    request: Mapped[Any] = mapped_column(JSON)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    window_end: Mapped[datetime] = mapped_column(DateTime)
    # Names, exclusions and seeds are sealed to everyone but the centre until then.
    unseal_at: Mapped[datetime] = mapped_column(DateTime)
    # committed (awaiting entropy), drawn, or void (作废, with reason and basis)
    state: Mapped[str] = mapped_column(String(12), server_default="drawn")
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    void_basis: Mapped[str | None] = mapped_column(Text)
    voided_by: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DrawRound(Base):
    """One run of the engine under one seed: number 0 is the draw, later ones supplementary."""

    __tablename__ = "draw_rounds"
    __table_args__ = (UniqueConstraint("draw_id", "number", name="uq_draw_rounds_draw_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    number: Mapped[int] = mapped_column(Integer)
    # v1: commitment = SHA-256(seed); v2: commit, then reveal (see experts.draw).
    scheme: Mapped[str] = mapped_column(String(4), server_default="v1")
    seed_commitment: Mapped[str] = mapped_column(String(64))
    # Hex of the 32-byte seed (None until revealed); shown only after the unseal time.
    seed: Mapped[str | None] = mapped_column(String(64))
    # v2: the committed secret, the request's digest, and the entropy supplied after it.
    server_secret: Mapped[str | None] = mapped_column(String(64))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    entropy_kind: Mapped[str | None] = mapped_column(String(12))
    entropy_name: Mapped[str | None] = mapped_column(String(300))
    entropy: Mapped[str | None] = mapped_column(Text)
    entropy_by: Mapped[str | None] = mapped_column(String(200))
    entropy_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Experts of the committed pools another draw took before the reveal, with why.
    withdrawn: Mapped[Any] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DrawGroup(Base):
    """One seat group of a round: its pool snapshot, exclusions, seats and backup order."""

    __tablename__ = "draw_groups"
    __table_args__ = (
        UniqueConstraint("round_id", "position", name="uq_draw_groups_round_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("draw_rounds.id"))
    position: Mapped[int] = mapped_column(Integer)
    specialty: Mapped[str] = mapped_column(String(7))
    seats: Mapped[int] = mapped_column(Integer)
    backups_requested: Mapped[int] = mapped_column(Integer)
    # Canonical pool (expert ids as strings, in code point order) and its SHA-256.
    pool: Mapped[Any] = mapped_column(JSON)
    pool_digest: Mapped[str] = mapped_column(String(64))
    # [{"expert_id": int, "reasons": [{"rule", "message"}]}] for candidates left out.
    exclusions: Mapped[Any] = mapped_column(JSON)
    selected: Mapped[Any] = mapped_column(JSON)
    backups: Mapped[Any] = mapped_column(JSON)


class DrawSeat(Base):
    """Who sits in each seat now; a replacement closes one row and opens the next."""

    __tablename__ = "draw_seats"
    __table_args__ = (
        Index("ix_draw_seats_draw_seat", "draw_id", "seat"),
        # A second guard behind the draw's row lock: one expert sits in a seat at a time.
        Index(
            "uq_draw_seats_active_seat",
            "draw_id",
            "seat",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    seat: Mapped[int] = mapped_column(Integer)
    specialty: Mapped[str] = mapped_column(String(7))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    # "draw" (round 0), "backup" (the committed order) or "supplementary" (a later round)
    source: Mapped[str] = mapped_column(String(20))
    round_number: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DrawReplacement(Base):
    __tablename__ = "draw_replacements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer)
    old_expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    new_expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    round_number: Mapped[int] = mapped_column(Integer)
    # Backups passed over on the way, each with why: [{"expert_id", "reasons": [...]}].
    skipped: Mapped[Any] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class DrawReplacementFailure(Base):
    """A replacement that found nobody: the seat stays as it was, the attempt is kept."""

    __tablename__ = "draw_replacement_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # The refusal: its rule, message and details (each short group, backups passed over).
    rule: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class ExpertBooking(Base):
    """An expert taken for a window. Overlapping live bookings of one expert never coexist:
    every writer locks the expert's row first (see ``experts.draws``)."""

    __tablename__ = "expert_bookings"
    __table_args__ = (
        Index("ix_expert_bookings_expert_starts", "expert_id", "starts_at"),
        # Overlap checks read bookings ending after a window starts (few: the recent and
        # the future); the monthly cap counts those starting in a month.
        Index("ix_expert_bookings_ends_at", "ends_at"),
        Index("ix_expert_bookings_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DrawFeedback(Base):
    __tablename__ = "draw_feedback"
    __table_args__ = (
        UniqueConstraint("draw_id", "expert_id", name="uq_draw_feedback_draw_expert"),
        CheckConstraint(
            "attendance in ('attended','late','left_early','absent')", name="attendance"
        ),
        CheckConstraint("conduct in ('good','poor','misconduct')", name="conduct"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"))
    attendance: Mapped[str] = mapped_column(String(12))
    conduct: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    credit_record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class InspectionDraw(Base):
    """A random inspection (双随机一公开): subjects to inspect and inspectors to send."""

    __tablename__ = "inspection_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    request: Mapped[Any] = mapped_column(JSON)
    seed_commitment: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(64))
    # Pools are canonical lists of subject ids as strings (inspectors by their subject id).
    subject_pool: Mapped[Any] = mapped_column(JSON)
    subject_pool_digest: Mapped[str] = mapped_column(String(64))
    inspector_pool: Mapped[Any] = mapped_column(JSON)
    inspector_pool_digest: Mapped[str] = mapped_column(String(64))
    inspector_exclusions: Mapped[Any] = mapped_column(JSON)
    subjects: Mapped[Any] = mapped_column(JSON)
    inspectors: Mapped[Any] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class InspectionResult(Base):
    """One result; before publication one per subject, after it further entries may follow."""

    __tablename__ = "inspection_results"
    __table_args__ = (
        Index("ix_inspection_results_inspection_subject", "inspection_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection_draws.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)
