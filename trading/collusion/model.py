"""The plain values the collusion library reads and writes.

The database layer builds :class:`TenderView` and :class:`BidView` from its rows and
stores :class:`Evidence` and :class:`Cluster`. Everything is frozen and hashable so
the same inputs always give the same outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

EVIDENCE_SOURCES = frozenset({"red_flag", "screen", "network"})


@dataclass(frozen=True)
class BidView:
    """One bid as the electronic bidding system recorded it."""

    bidder: str  # USCC
    price: Decimal
    submitted_at: datetime | None = None
    project_manager: str | None = None  # practitioner id (hashed or internal id string)
    deposit_account: str | None = None
    agent: str | None = None
    # File fingerprint (文件制作机器码 and hardware identifiers) recorded by the system.
    machine_code: str | None = None
    mac: str | None = None
    cpu: str | None = None
    disk: str | None = None
    ip: str | None = None
    doc_hash: str | None = None
    author: str | None = None
    winner: bool = False


@dataclass(frozen=True)
class TenderView:
    """One tender (招标项目/标段) with its bids."""

    ref: str
    date: date | None
    estimate: Decimal | None
    bids: tuple[BidView, ...]
    region: str | None = None
    sector: str | None = None


@dataclass(frozen=True)
class Evidence:
    """One fact suggesting that ``members`` coordinate.

    ``kind`` is a stable code: ``same_machine_code``, ``same_mac``, ``same_cpu``,
    ``same_disk``, ``same_ip``, ``same_doc_hash``, ``same_author``, ``same_agent``,
    ``same_project_manager``, ``same_deposit_account``, ``identical_prices``,
    ``price_constant_difference``, ``price_constant_ratio`` (source ``red_flag``);
    ``tight_prices`` (source ``screen``); ``co_bidding``, ``winner_rotation``,
    ``cover_bidding``, ``insular_group`` (source ``network``); ``pm_busy_elsewhere``
    (source ``red_flag``, across tenders).
    """

    kind: str
    source: str  # 'red_flag' | 'screen' | 'network'
    members: frozenset[str]  # USCCs
    tender_ref: str | None
    weight: float  # in (0, 1]
    detail: str  # plain English sentence with the values and counts

    def __post_init__(self) -> None:
        if self.source not in EVIDENCE_SOURCES:
            raise ValueError(f"unknown evidence source {self.source!r}")
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"evidence weight must be in (0, 1], got {self.weight!r}")
        if not self.members:
            raise ValueError("evidence needs at least one member")

    def identity(self) -> tuple[str, str, tuple[str, ...]]:
        """What makes two pieces of evidence the same fact: kind, tender and members."""
        return (self.kind, self.tender_ref or "", tuple(sorted(self.members)))


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Cluster:
    """A group of bidders that the evidence ties together, with a score in [0, 1]."""

    members: frozenset[str]
    tenders: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    score: float  # 0..1
    explanation: str

    def key(self) -> str:
        """Stable digest of the sorted members, to recognise the same group across scans."""
        return _digest(sorted(self.members))

    def evidence_digest(self) -> str:
        """Stable digest of the (kind, tender, members) of the evidence.

        A dismissed alert is raised again only when this changes, that is when there is
        evidence the auditor has not seen; weights and wording do not count.
        """
        lines = sorted({"|".join((k, t, ",".join(m))) for k, t, m in self._identities()})
        return _digest(lines)

    def _identities(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [e.identity() for e in self.evidence]
