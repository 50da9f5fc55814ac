"""Between the database and the collusion library: views in, screens and alerts out.

Reading is built for a million bids: Core selects of plain columns (no ORM objects), bids
streamed in tender order through a server-side cursor on PostgreSQL (``yield_per``), one
:class:`~trading.collusion.model.TenderView` at a time. Writing is in bulk: screens are
upserted in chunks, alerts and their evidence inserted with executemany.

Alerts are de-duplicated by :meth:`Cluster.key() <trading.collusion.model.Cluster.key>`
(the group's members): while a group has an open alert, a scan that finds it again adds
what is new to that alert instead of raising another. Once the alert is closed (confirmed
or dismissed) the facts the auditor saw are remembered, and the group is raised again only
when a scan brings a fact outside them; a scan of the same evidence, or of part of it (one
tender of a group already judged), raises nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from credit.models import Subject
from trading import audit
from trading.collusion.model import BidView, Cluster, Evidence, TenderView
from trading.collusion.models import Alert, AlertEvidence, CommonValue, TenderScreen
from trading.collusion.network import make_cluster
from trading.collusion.red_flags import COMMON_FIELDS, busy_project_managers, common_values
from trading.collusion.scan import TenderFinding, is_alert
from trading.collusion.scan import scan_tender as library_scan_tender
from trading.models import Bid, Tender

#: How long a project manager stays committed to a won project (busy-manager evidence).
LIVE_DAYS = 180
#: Rows fetched per round trip when streaming bids.
STREAM_BATCH = 5000
#: Rows per executemany when writing (bounded by SQLite's variable limit on every backend).
WRITE_CHUNK = 500
_IN_CHUNK = 5000
_ZERO = Decimal(0)
SCREEN_COLUMNS = ("cv", "spd", "diffp", "rd", "kurt", "skew")

#: What the cross-tender analysis reads of a bid (network, busy managers): who bid what,
#: who won, which project manager; never the file fingerprint.
_SLIM_COLUMNS = (Bid.tender_id, Bid.bidder_id, Bid.price, Bid.project_manager_id, Bid.winner)
_BID_COLUMNS = (
    Bid.tender_id,
    Bid.bidder_id,
    Bid.price,
    Bid.submitted_at,
    Bid.project_manager_id,
    Bid.deposit_account,
    Bid.agent,
    Bid.machine_code,
    Bid.mac,
    Bid.cpu,
    Bid.disk,
    Bid.ip,
    Bid.doc_hash,
    Bid.author,
    Bid.winner,
)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def organisation_usccs(session: Session, ids: Iterable[int] | None = None) -> dict[int, str]:
    """Subject id to USCC, for every organisation (or those of ``ids``)."""
    stmt = select(Subject.id, Subject.uscc).where(Subject.uscc.is_not(None))
    if ids is None:
        return {row.id: row.uscc for row in session.execute(stmt)}
    found: dict[int, str] = {}
    wanted = sorted(set(ids))
    for chunk in _chunks(wanted, _IN_CHUNK):
        found.update(
            {row.id: row.uscc for row in session.execute(stmt.where(Subject.id.in_(chunk)))}
        )
    return found


@dataclass(frozen=True)
class TenderMeta:
    id: int
    ref: str
    date: date | None
    estimate: Decimal | None
    region: str | None
    sector: str | None


def tender_metas(
    session: Session, tender_ids: Sequence[int] | None = None
) -> dict[int, TenderMeta]:
    stmt = select(
        Tender.id, Tender.ref, Tender.tender_date, Tender.estimate, Tender.region, Tender.sector
    )
    rows: list = []
    if tender_ids is None:
        rows = list(session.execute(stmt))
    else:
        for chunk in _chunks(sorted(set(tender_ids)), _IN_CHUNK):
            rows.extend(session.execute(stmt.where(Tender.id.in_(chunk))))
    return {
        r.id: TenderMeta(r.id, r.ref, r.tender_date, r.estimate, r.region, r.sector) for r in rows
    }


@dataclass
class _Names:
    """One string object per bidder and per project manager, shared by every view."""

    usccs: dict[int, str]
    managers: dict[int, str] = field(default_factory=dict)

    def manager(self, subject_id: int | None) -> str | None:
        if subject_id is None:
            return None
        name = self.managers.get(subject_id)
        if name is None:
            name = self.managers[subject_id] = str(subject_id)
        return name


def _bid_view(row: Any, names: _Names) -> BidView:
    return BidView(
        bidder=names.usccs.get(row.bidder_id) or str(row.bidder_id),
        price=row.price,
        submitted_at=row.submitted_at,
        project_manager=names.manager(row.project_manager_id),
        deposit_account=row.deposit_account,
        agent=row.agent,
        machine_code=row.machine_code,
        mac=row.mac,
        cpu=row.cpu,
        disk=row.disk,
        ip=row.ip,
        doc_hash=row.doc_hash,
        author=row.author,
        winner=bool(row.winner),
    )


def _slim_bid_view(row: Any, names: _Names) -> BidView:
    return BidView(
        bidder=names.usccs.get(row.bidder_id) or str(row.bidder_id),
        price=row.price,
        project_manager=names.manager(row.project_manager_id),
        winner=bool(row.winner),
    )


def _view(meta: TenderMeta, bids: list[BidView]) -> TenderView:
    return TenderView(
        ref=meta.ref,
        date=meta.date,
        estimate=meta.estimate,
        bids=tuple(bids),
        region=meta.region,
        sector=meta.sector,
    )


def tender_views(
    session: Session,
    tender_ids: Sequence[int] | None = None,
    *,
    metas: dict[int, TenderMeta] | None = None,
    slim: bool = False,
    batch_size: int = STREAM_BATCH,
) -> Iterator[tuple[int, TenderView]]:
    """``(tender id, view)`` for every tender with bids (or those of ``tender_ids``).

    Bids are streamed ordered by tender, so only one tender's bids are held at a time.
    ``slim`` views carry only what the cross-tender analysis reads (bidder, price, project
    manager, winner; a few hundred bytes a bid), for a scan to keep one per tender. That
    the network needs nothing more is checked by the test comparing a database scan with
    the library's in-memory ``scan`` on the same market.
    """
    metas = metas if metas is not None else tender_metas(session, tender_ids)
    names = _Names(
        organisation_usccs(
            session, None if tender_ids is None else _bidders_of(session, tender_ids)
        )
    )
    make = _slim_bid_view if slim else _bid_view
    stmt = select(*(_SLIM_COLUMNS if slim else _BID_COLUMNS)).order_by(Bid.tender_id, Bid.id)
    if tender_ids is None:
        batches: Iterable = [stmt]
    else:
        batches = [
            stmt.where(Bid.tender_id.in_(chunk))
            for chunk in _chunks(sorted(set(tender_ids)), _IN_CHUNK)
        ]
    for batch_stmt in batches:
        current: int | None = None
        bids: list[BidView] = []
        result = session.execute(batch_stmt.execution_options(yield_per=batch_size))
        for row in result:
            if row.tender_id != current:
                if current is not None and current in metas:
                    yield current, _view(metas[current], bids)
                current, bids = row.tender_id, []
            bids.append(make(row, names))
        if current is not None and current in metas:
            yield current, _view(metas[current], bids)


def _bidders_of(session: Session, tender_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(sorted(set(tender_ids)), _IN_CHUNK):
        found.update(
            session.scalars(select(Bid.bidder_id).where(Bid.tender_id.in_(chunk)).distinct())
        )
    return found


def busy_manager_evidence(
    session: Session, tender_id: int, view: TenderView, *, live_days: int
) -> list[Evidence]:
    """Busy-project-manager evidence about one tender, from the managers' other tenders.

    Only the tenders naming one of this tender's managers within ``live_days`` either side
    are read, so this is cheap enough for every bid registration.
    """
    managers = {int(b.project_manager) for b in view.bids if b.project_manager}
    if not managers or view.date is None:
        return []
    window = timedelta(days=live_days)
    rows = session.execute(
        select(*_SLIM_COLUMNS, Tender.ref, Tender.tender_date)
        .join(Tender, Tender.id == Bid.tender_id)
        .where(
            Bid.project_manager_id.in_(managers),
            Tender.id != tender_id,
            Tender.tender_date >= view.date - window,
            Tender.tender_date <= view.date + window,
        )
    ).all()
    names = _Names(organisation_usccs(session, {r.bidder_id for r in rows}))
    grouped: dict[tuple[str, date], list[BidView]] = defaultdict(list)
    for row in rows:
        grouped[(row.ref, row.tender_date)].append(_slim_bid_view(row, names))
    others = [TenderView(ref, day, None, tuple(bids)) for (ref, day), bids in grouped.items()]
    return [
        e
        for e in busy_project_managers([*others, view], live_days=live_days)
        if e.tender_ref == view.ref
    ]


# --- values shared market-wide --------------------------------------------------------

Common = dict[str, frozenset[str]]


def market_common_values(session: Session, *, batch_size: int = STREAM_BATCH) -> Common:
    """:func:`~trading.collusion.red_flags.common_values` over every bid in the database.

    The library counts the distinct bidders holding each value; the database first reduces
    a million bids to their distinct (bidder, value) pairs, one field at a time, and the
    library sees each pair as a one-bid tender, so its normalisation and threshold apply
    unchanged.
    """
    found: Common = {}
    for name in COMMON_FIELDS:
        column = getattr(Bid, name)
        stmt = (
            select(Bid.bidder_id, column)
            .where(column.is_not(None))
            .distinct()
            .execution_options(yield_per=batch_size)
        )

        def pairs(stmt=stmt, name=name) -> Iterator[TenderView]:
            for bidder_id, value in session.execute(stmt):
                bid = BidView(bidder=str(bidder_id), price=_ZERO, **{name: value})
                yield TenderView(ref="", date=None, estimate=None, bids=(bid,))

        found.update(common_values(pairs(), fields=(name,)))
    return found


def save_common_values(session: Session, common: Common) -> None:
    """Replace the stored market-wide common values (read by scans of one tender)."""
    session.execute(delete(CommonValue))
    rows = [
        {"field": name, "value": value[:200]}
        for name, values in common.items()
        for value in sorted(values)
    ]
    for chunk in _chunks(rows, WRITE_CHUNK):
        session.execute(CommonValue.__table__.insert(), list(chunk))


def stored_common_values(session: Session) -> Common:
    found: dict[str, set[str]] = {name: set() for name in COMMON_FIELDS}
    for name, value in session.execute(select(CommonValue.field, CommonValue.value)):
        found.setdefault(name, set()).add(value)
    return {name: frozenset(values) for name, values in found.items()}


# --- screens -------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderFindings:
    """One tender on its own (the library's finding) and the screens row to store."""

    screen_row: dict
    finding: TenderFinding


def tender_findings(
    tender_id: int,
    tender: TenderView,
    now: datetime,
    common: Common | None = None,
    also: Iterable[Evidence] = (),
) -> TenderFindings:
    """:func:`~trading.collusion.scan.scan_tender` (red flags, screens, suspicion) and its row.

    ``also`` is evidence about the tender found elsewhere (busy project managers).
    """
    finding = library_scan_tender(tender, common=common, also=also)
    values = finding.screens or {}
    row = {
        "tender_id": tender_id,
        "n_bids": len(tender.bids),
        **{key: values.get(key) for key in SCREEN_COLUMNS},
        **finding_columns(finding),
        "computed_at": now,
    }
    return TenderFindings(row, finding)


def finding_columns(finding: TenderFinding) -> dict:
    """The screens row's columns that depend on the evidence: red flags and suspicion."""
    return {
        "red_flags": sum(1 for e in finding.evidence if e.source == "red_flag"),
        "suspicion": min(1.0, max(0.0, finding.suspicion)),
    }


def empty_screen_row(tender_id: int, now: datetime) -> dict:
    return {
        "tender_id": tender_id,
        "n_bids": 0,
        **dict.fromkeys(SCREEN_COLUMNS),
        "red_flags": 0,
        "suspicion": 0.0,
        "computed_at": now,
    }


def store_screens(session: Session, rows: Sequence[dict]) -> None:
    """Insert or replace the screens rows (an upsert on every backend)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(TenderScreen)
    columns = [c for c in rows[0] if c != "tender_id"]
    stmt = stmt.on_conflict_do_update(
        index_elements=[TenderScreen.tender_id],
        set_={c: getattr(stmt.excluded, c) for c in columns},
    )
    for chunk in _chunks(list(rows), WRITE_CHUNK):
        session.execute(stmt, list(chunk))
    # Rows loaded before the upsert must not shadow it in this session.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, TenderScreen):
            session.expire(obj)


def refresh_screens(
    session: Session, tender_ids: Sequence[int], *, now: datetime, live_days: int | None = None
) -> None:
    """Recompute and store the screens and suspicion of these tenders from their bids.

    With ``live_days``, each tender's busy-project-manager evidence counts too (as in a
    full scan); an import leaves that to the next scan rather than query per tender.
    """
    rows = {tid: empty_screen_row(tid, now) for tid in tender_ids}
    common = stored_common_values(session)
    for tender_id, view in tender_views(session, tender_ids):
        busy = []
        if live_days is not None:
            busy = busy_manager_evidence(session, tender_id, view, live_days=live_days)
        rows[tender_id] = tender_findings(tender_id, view, now, common, busy).screen_row
    store_screens(session, list(rows.values()))


# --- alerts --------------------------------------------------------------------------


@dataclass
class PersistCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0  # the group was reviewed and the scan brought nothing new
    below_threshold: int = 0
    alert_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "alerts_created": self.created,
            "alerts_updated": self.updated,
            "alerts_unchanged": self.unchanged,
            "alerts_suppressed": self.suppressed,
            "clusters_below_threshold": self.below_threshold,
        }


def _evidence_rows(alert_id: int, evidence: Iterable[Evidence]) -> list[dict]:
    return [
        {
            "alert_id": alert_id,
            "kind": e.kind,
            "source": e.source,
            "weight": float(e.weight),
            "tender_ref": e.tender_ref,
            "members": sorted(e.members),
            "detail": e.detail,
        }
        for e in evidence
    ]


def _stored_evidence(session: Session, alert_ids: Sequence[int]) -> dict[int, list[Evidence]]:
    found: dict[int, list[Evidence]] = {i: [] for i in alert_ids}
    for chunk in _chunks(sorted(set(alert_ids)), _IN_CHUNK):
        rows = session.execute(
            select(AlertEvidence)
            .where(AlertEvidence.alert_id.in_(chunk))
            .order_by(AlertEvidence.id)
        ).scalars()
        for row in rows:
            found[row.alert_id].append(
                Evidence(
                    kind=row.kind,
                    source=row.source,
                    members=frozenset(row.members),
                    tender_ref=row.tender_ref,
                    weight=min(1.0, max(row.weight, 1e-9)),
                    detail=row.detail,
                )
            )
    return found


def scope_of(cluster: Cluster) -> str:
    network = any(e.source == "network" for e in cluster.evidence)
    return "network" if network or len(cluster.tenders) > 1 else "tender"


def _alert_audit(alert: Alert, cluster: Cluster) -> dict:
    return {
        "scope": alert.scope,
        "members": alert.members,
        "tenders": len(alert.tenders),
        "score": round(alert.score, 6),
        "evidence": len(cluster.evidence),
        "evidence_digest": alert.evidence_digest,
    }


#: Key of the PostgreSQL advisory lock that serialises alert writers ("gxal").
ALERT_WRITER_LOCK = 0x6778616C


#: Key of the PostgreSQL advisory lock that serialises writers of learned scores ("gxsc").
SCORE_WRITER_LOCK = 0x67787363


def one_writer_at_a_time(session: Session, key: int) -> None:
    """Wait, on PostgreSQL, until no other transaction holds the advisory lock ``key``; it
    is held until this transaction ends. SQLite transactions already run one writer at a
    time (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _one_alert_writer_at_a_time(session: Session) -> None:
    """Two scans finishing at once would both miss each other's new alerts and the second
    would hit the one-open-alert-per-group constraint: the second waits here for the first
    to commit, then reads its alerts."""
    one_writer_at_a_time(session, ALERT_WRITER_LOCK)


def persist_clusters(
    session: Session, found: Iterable[Cluster], *, now: datetime, min_score: float
) -> PersistCounts:
    """Store the clusters as alerts, never duplicating one (see the module docstring)."""
    counts = PersistCounts()
    wanted: dict[str, Cluster] = {}
    for cluster in found:
        if not is_alert(cluster, min_score):
            counts.below_threshold += 1
            continue
        key = cluster.key()
        # The same group found twice in one scan (a network cluster and a tender group):
        # one alert, with both sets of evidence.
        if key in wanted:
            other = wanted[key]
            cluster = make_cluster(
                cluster.members, other.tenders + cluster.tenders, other.evidence + cluster.evidence
            )
        wanted[key] = cluster
    if not wanted:
        return counts
    _one_alert_writer_at_a_time(session)
    keys = sorted(wanted)
    open_alerts: dict[str, Alert] = {}
    closed: dict[str, list[int]] = {}
    for chunk in _chunks(keys, _IN_CHUNK):
        for alert in session.scalars(select(Alert).where(Alert.key.in_(chunk))):
            if alert.open_key is not None:
                open_alerts[alert.key] = alert
            else:
                closed.setdefault(alert.key, []).append(alert.id)
    reviewed = _stored_evidence(session, [i for ids in closed.values() for i in ids])
    existing = _stored_evidence(session, [a.id for a in open_alerts.values()])

    new_alerts: list[tuple[Alert, Cluster]] = []
    for key in keys:
        cluster = wanted[key]
        alert = open_alerts.get(key)
        if alert is not None:
            merged = make_cluster(
                cluster.members,
                tuple(alert.tenders) + cluster.tenders,
                tuple(existing[alert.id]) + cluster.evidence,
            )
            if merged.evidence_digest() == alert.evidence_digest:
                counts.unchanged += 1
                continue
            before = {"score": alert.score, "evidence_digest": alert.evidence_digest}
            _refresh(session, alert, merged, now)
            audit.record(
                session,
                "collusion.alert.update",
                "collusion_alert",
                alert.id,
                before=before,
                after=_alert_audit(alert, merged),
            )
            counts.updated += 1
            counts.alert_ids.append(alert.id)
            continue
        explanation = cluster.explanation
        if key in closed:
            seen = {e.identity() for i in closed[key] for e in reviewed[i]}
            new_facts = [e for e in cluster.evidence if e.identity() not in seen]
            if not new_facts:
                counts.suppressed += 1
                continue
            previous = ", ".join(f"#{i}" for i in sorted(closed[key]))
            explanation = (
                f"Raised again after review of alert {previous}: {len(new_facts)} fact(s) "
                f"not seen then. {explanation}"
            )
        alert = Alert(
            key=key,
            open_key=key,
            evidence_digest=cluster.evidence_digest(),
            scope=scope_of(cluster),
            status="open",
            score=float(cluster.score),
            members=sorted(cluster.members),
            tenders=sorted(cluster.tenders),
            explanation=explanation,
            created_at=now,
            updated_at=now,
        )
        session.add(alert)
        new_alerts.append((alert, cluster))
    if new_alerts:
        session.flush()
        rows = [
            r for alert, cluster in new_alerts for r in _evidence_rows(alert.id, cluster.evidence)
        ]
        for chunk in _chunks(rows, WRITE_CHUNK):
            session.execute(AlertEvidence.__table__.insert(), list(chunk))
        for alert, cluster in new_alerts:
            audit.record(
                session,
                "collusion.alert.create",
                "collusion_alert",
                alert.id,
                after=_alert_audit(alert, cluster),
            )
            counts.alert_ids.append(alert.id)
        counts.created = len(new_alerts)
    return counts


def _refresh(session: Session, alert: Alert, merged: Cluster, now: datetime) -> None:
    session.execute(delete(AlertEvidence).where(AlertEvidence.alert_id == alert.id))
    session.execute(AlertEvidence.__table__.insert(), _evidence_rows(alert.id, merged.evidence))
    alert.evidence_digest = merged.evidence_digest()
    alert.score = float(merged.score)
    alert.tenders = sorted(merged.tenders)
    alert.scope = scope_of(merged)
    alert.explanation = merged.explanation
    alert.updated_at = now


def close_alert(session: Session, alert: Alert, status: str) -> None:
    """Close an open alert: from now on its key is free and its evidence is 'seen'."""
    alert.status = status
    alert.open_key = None
    session.flush()
