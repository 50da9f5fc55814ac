"""Tables of the collusion analysis: per-tender screens, alerts, their evidence and reviews.

An alert is identified across scans by ``key``, the digest of its sorted members
(:meth:`trading.collusion.model.Cluster.key`). ``open_key`` repeats it while the alert is
open and is NULL once it is closed: its unique constraint lets the database itself refuse
a second open alert for one group, on every backend (NULLs never collide). A closed alert
keeps ``evidence_digest``, the digest of the facts the auditor saw, so a later scan raises
the same group again only when it brings facts not yet seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base

ALERT_STATUSES = ("open", "confirmed", "dismissed")
ALERT_SCOPES = ("tender", "network")
DECISIONS = ("confirm", "dismiss")


class TenderScreen(Base):
    """The price screens and suspicion of one tender, as last computed (a cache of the bids)."""

    __tablename__ = "tender_screens"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    n_bids: Mapped[int] = mapped_column(Integer)
    # Screens exist from three bids (kurtosis from four); NULL below that.
    cv: Mapped[float | None] = mapped_column(Float)
    spd: Mapped[float | None] = mapped_column(Float)
    diffp: Mapped[float | None] = mapped_column(Float)
    rd: Mapped[float | None] = mapped_column(Float)
    kurt: Mapped[float | None] = mapped_column(Float)
    skew: Mapped[float | None] = mapped_column(Float)
    red_flags: Mapped[int] = mapped_column(Integer)
    suspicion: Mapped[float] = mapped_column(Float, index=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class CommonValue(Base):
    """A fingerprint value that many unrelated bidders share (a preset author name, a CPU
    model, a carrier's address), as found by the last full scan: sharing it proves nothing,
    so scans of one tender between full scans ignore it too."""

    __tablename__ = "collusion_common_values"

    field: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class Alert(Base):
    """A group of bidders the evidence ties together (围标串标预警)."""

    __tablename__ = "collusion_alerts"
    __table_args__ = (
        CheckConstraint("status in ('open','confirmed','dismissed')", name="status"),
        CheckConstraint("scope in ('tender','network')", name="scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    evidence_digest: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), index=True)
    score: Mapped[float] = mapped_column(Float, index=True)
    members: Mapped[Any] = mapped_column(JSON)  # sorted USCCs
    tenders: Mapped[Any] = mapped_column(JSON)  # sorted tender refs
    explanation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AlertEvidence(Base):
    """One fact behind an alert, as the analysis stated it."""

    __tablename__ = "collusion_alert_evidence"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("collusion_alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(12))
    weight: Mapped[float] = mapped_column(Float)
    tender_ref: Mapped[str | None] = mapped_column(String(64))
    members: Mapped[Any] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text)


class AlertReview(Base):
    """An auditor's decision on an alert, kept for ever (who, when, why, what it wrote)."""

    __tablename__ = "collusion_alert_reviews"
    __table_args__ = (CheckConstraint("decision in ('confirm','dismiss')", name="decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("collusion_alerts.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime)
    status_before: Mapped[str] = mapped_column(String(12))
    status_after: Mapped[str] = mapped_column(String(12))
    # Ids of the credit records (围标串标) written for members on confirmation.
    record_ids: Mapped[Any] = mapped_column(JSON)


VERDICTS = ("collusive", "competitive")


class TenderReview(Base):
    """An auditor's verdict on one tender (a label for the learned score); the latest counts."""

    __tablename__ = "collusion_tender_reviews"
    __table_args__ = (CheckConstraint("verdict in ('collusive','competitive')", name="verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    verdict: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime)


class ScoreModel(Base):
    """One version of the score learned from reviews: its parameters, how it was trained.

    ``params`` is the model itself (canonical JSON of :class:`LearnedModel
    <trading.collusion.learning.LearnedModel>`), so every host scores with the same numbers;
    ``labels_digest`` names the reviews it learned from, ``params_digest`` the result.
    """

    __tablename__ = "collusion_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the version
    algorithm: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(Integer)
    params: Mapped[str] = mapped_column(Text)
    params_digest: Mapped[str] = mapped_column(String(64))
    labels_digest: Mapped[str] = mapped_column(String(64))
    confirmed: Mapped[int] = mapped_column(Integer)  # positive reviews (alerts and tenders)
    dismissed: Mapped[int] = mapped_column(Integer)  # negative reviews (alerts and tenders)
    training_tenders: Mapped[int] = mapped_column(Integer)
    cv_auc: Mapped[float | None] = mapped_column(Float)
    tenders_scored: Mapped[int] = mapped_column(Integer)
    firms_scored: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LearnedTenderScore(Base):
    """A tender's score from the latest model, and the features that moved it."""

    __tablename__ = "collusion_tender_scores"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("collusion_models.id"), index=True)
    score: Mapped[float] = mapped_column(Float, index=True)
    explanation: Mapped[Any] = mapped_column(JSON)


class LearnedFirmScore(Base):
    """A bidder's score from the latest model: the mean score of the tenders it bid in."""

    __tablename__ = "collusion_firm_scores"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("collusion_models.id"), index=True)
    score: Mapped[float] = mapped_column(Float, index=True)
    tenders: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[Any] = mapped_column(JSON)
