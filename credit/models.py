"""Tables of market subjects (市场主体), their relations, credit records, listings and the
change feed.

Nothing here is ever updated in place: records, listings, lifts and changes are appended.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
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
        # Added by 0002_credit: a subject imported from another platform is known once.
        Index("uq_subjects_source", "source_platform", "source_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # Added by 0016_credit_name_key: the name as compared (credit.names.name_key).
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    # Stored for matching; only admin and regulator roles ever see it unmasked.
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    source_platform: Mapped[str | None] = mapped_column(String(60))
    source_id: Mapped[str | None] = mapped_column(String(120))
    # Added by 0053_subject_lifecycle: the day an organisation ceased to exist in law, and how
    # (deregistered 注销 / revoked 吊销); from that day it cannot bid or act as agency.
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_kind: Mapped[str | None] = mapped_column(String(12))


class SubjectName(Base):
    """A name a subject used before (曾用名), kept searchable after a rename."""

    __tablename__ = "subject_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    until: Mapped[date] = mapped_column(Date)  # the last day it was the subject's name
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


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
        # Added by 0002_credit: a relation imported from another platform is known once.
        Index("uq_relations_source", "source_platform", "source_id", unique=True),
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
    # Added by 0002_credit.
    source_platform: Mapped[str | None] = mapped_column(String(60))
    source_id: Mapped[str | None] = mapped_column(String(120))


LIST_KINDS = ("blacklist", "abnormal")  # 严重失信主体名单 / 经营异常名录
RECORD_EVENTS = ("record", "correction", "revocation", "repair")
POLARITIES = ("negative", "positive")
SEVERITIES = ("minor", "general", "serious")  # 轻微 / 一般 / 严重


class CreditRecord(Base):
    """One credit event (信用记录). Never updated or deleted: every change is a new row.

    ``event`` says what the row is:

    * ``record``: an original positive (表彰) or negative (不良行为) event;
    * ``correction``: a full record that replaces ``refers_to`` from its ``effective_from``;
    * ``revocation`` (撤销) and ``repair`` (信用修复): ``refers_to`` stops counting from
      ``effective_from``; they carry no polarity, category or severity of their own.

    ``(source_platform, source_id)`` identifies the event across platforms; records entered
    through this service get this platform's name and a random id.
    """

    __tablename__ = "credit_records"
    __table_args__ = (
        CheckConstraint("event in ('record','correction','revocation','repair')", name="event"),
        CheckConstraint("polarity is null or polarity in ('negative','positive')", name="polarity"),
        CheckConstraint(
            "severity is null or severity in ('minor','general','serious')", name="severity"
        ),
        UniqueConstraint("source_platform", "source_id", name="uq_credit_records_source"),
        # Eligibility and the credit view: a subject's records that cover a date.
        Index("ix_credit_records_subject_to", "subject_id", "effective_to"),
        # At most one later event (correction, revocation, repair) per record.
        Index("uq_credit_records_refers_to", "refers_to_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    event: Mapped[str] = mapped_column(String(12))
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"))
    polarity: Mapped[str | None] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    basis_authority: Mapped[str | None] = mapped_column(String(200))
    basis_document_no: Mapped[str | None] = mapped_column(String(120))
    basis_decided_on: Mapped[date | None] = mapped_column(Date)
    effective_from: Mapped[date] = mapped_column(Date)
    # Inclusive. None only for revocations and repairs, which last for ever.
    effective_to: Mapped[date | None] = mapped_column(Date)
    source_platform: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Listing(Base):
    """A move into a list (名单): blacklist or abnormal list, with its scope and basis.

    Scope columns hold codes between commas (``",construction,land,"``), empty for
    national scope (一处失信、处处受限), so that a scope filter is a plain ``LIKE`` on every
    database. Whether a listing applies on a date is derived from ``starts_on``,
    ``ends_on`` (inclusive) and its lift, never stored.
    """

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("kind in ('blacklist','abnormal')", name="kind"),
        UniqueConstraint("source_platform", "source_id", name="uq_listings_source"),
        Index("ix_listings_subject_starts", "subject_id", "starts_on"),
        Index("ix_listings_kind_starts", "kind", "starts_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(12))
    sectors: Mapped[str] = mapped_column(String(200), default="")
    regions: Mapped[str] = mapped_column(String(2000), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    basis_authority: Mapped[str] = mapped_column(String(200))
    basis_document_no: Mapped[str] = mapped_column(String(120))
    basis_decided_on: Mapped[date] = mapped_column(Date)
    source_platform: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ListingLift(Base):
    """The move out of a list (移出), with its own basis; at most one per listing."""

    __tablename__ = "listing_lifts"
    __table_args__ = (
        UniqueConstraint("listing_id", name="uq_listing_lifts_listing_id"),
        UniqueConstraint("source_platform", "source_id", name="uq_listing_lifts_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    # The first day on which the listing no longer applies.
    lifted_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    basis_authority: Mapped[str] = mapped_column(String(200))
    basis_document_no: Mapped[str] = mapped_column(String(120))
    basis_decided_on: Mapped[date] = mapped_column(Date)
    source_platform: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CreditChange(Base):
    """The change feed (``GET /exchange/changes``): one row per write, in commit order.

    Entities are append-only, so the payload (the row in the exchange file format, which a
    mirror can import) is rendered from them when the feed is read. Rows are numbered while
    the writer holds the audit head lock, so a poller that has seen cursor N never later
    finds a row below N.
    """

    __tablename__ = "credit_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int | None] = mapped_column(Integer)
