"""Tables of market subjects (市场主体) and their relations.

Credit records, listings and the exchange log live beside them in this module.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base

SUBJECT_KINDS = ("bidder", "agency", "practitioner", "tenderee")
RELATION_KINDS = ("shareholder", "subsidiary", "legal_rep", "employment", "relative", "interest")


class Subject(Base):
    """An organisation keyed by USCC, or a person keyed by resident ID number."""

    __tablename__ = "subjects"
    __table_args__ = (
        CheckConstraint("kind in ('bidder','agency','practitioner','tenderee')", name="kind"),
        CheckConstraint("(uscc is not null) or (id_number is not null)", name="identified"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    # Stored for matching; only admin and regulator roles ever see it unmasked.
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    source_platform: Mapped[str | None] = mapped_column(String(60))
    source_id: Mapped[str | None] = mapped_column(String(120))


class Relation(Base):
    """``subject`` *is* (shareholder of | subsidiary of | legal rep of | employed by |
    relative of | holds an interest in) ``other``."""

    __tablename__ = "relations"
    __table_args__ = (
        CheckConstraint(
            "kind in ('shareholder','subsidiary','legal_rep','employment','relative','interest')",
            name="kind",
        ),
        Index("ix_relations_subject_kind", "subject_id", "kind"),
        Index("ix_relations_other_kind", "other_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(20))
    share: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
