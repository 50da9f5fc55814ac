"""Tender and bid tables (招标项目/标段 and 投标).

A tender belongs to a tenderee and is run by an agency, both credit ``Subject`` rows; so are
bidders and the project managers they name (practitioners). Tenders imported from history
may lack the tenderee, agency, sector or region, so those columns are nullable; the API
requires them. The collusion tables live in :mod:`trading.collusion.models` and are imported
at the end so that one import of this module registers every trading table.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base

#: Wide enough for any yuan amount a tender carries, to the fen.
MONEY = Numeric(18, 2)
BIG_ID = BigInteger().with_variant(Integer, "sqlite")

#: The fingerprint an electronic bidding system records for a bid file, in wire order.
FINGERPRINT_FIELDS = ("machine_code", "mac", "cpu", "disk", "ip", "doc_hash", "author")


class Tender(Base):
    """A tender (招标项目 or one of its 标段), with its award once made."""

    __tablename__ = "tenders"
    __table_args__ = (
        CheckConstraint(
            "sector is null or sector in ('construction','procurement','land','property','other')",
            name="sector",
        ),
        CheckConstraint("origin in ('api','import')", name="origin"),
        Index("ix_tenders_tender_date", "tender_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    tenderee_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    sector: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(6))
    specialty: Mapped[str | None] = mapped_column(String(10))
    estimate: Mapped[Decimal | None] = mapped_column(MONEY)
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    opening_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The day the analysis places the tender on (opening day, or the imported date): the
    # busy-project-manager windows and the co-bidding network's time order are in days.
    tender_date: Mapped[date | None] = mapped_column(Date)
    # The trading centre that registered it, when a centre did: only it adds bids.
    centre_uscc: Mapped[str | None] = mapped_column(String(18))
    awarded_at: Mapped[datetime | None] = mapped_column(DateTime)
    origin: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Bid(Base):
    """One bid: who, how much, when, and the traces the bidding system kept of it."""

    __tablename__ = "bids"
    __table_args__ = (
        # One bid per bidder per tender; the index also serves "bids of a tender".
        UniqueConstraint("tender_id", "bidder_id"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("origin in ('api','import')", name="origin"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"))
    bidder_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    price: Mapped[Decimal] = mapped_column(MONEY)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    project_manager_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    deposit_account: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(200))
    machine_code: Mapped[str | None] = mapped_column(String(128))
    mac: Mapped[str | None] = mapped_column(String(64))
    cpu: Mapped[str | None] = mapped_column(String(128))
    disk: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    doc_hash: Mapped[str | None] = mapped_column(String(128))
    author: Mapped[str | None] = mapped_column(String(200))
    winner: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)


# Registered here so that importing the trading tables imports every one of them.
from trading.collusion.models import (  # noqa: E402, F401
    Alert,
    AlertEvidence,
    AlertReview,
    CommonValue,
    LearnedFirmScore,
    LearnedTenderScore,
    ScoreModel,
    TenderReview,
    TenderScreen,
)
