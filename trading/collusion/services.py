"""Collusion scans and the review of their alerts.

A scan reads the bids, asks the pure library (:mod:`trading.collusion`) what they show, and
stores the per-tender screens and the alerts (:mod:`trading.collusion.store`). Two scopes:

- **one tender** (at opening): its red flags and screens, its project managers' other live
  projects, and the groups of its bidders that the evidence ties (``tender_clusters``);
- **the whole market**: every tender streamed once, then the co-bidding network over all
  of them, its communities examined for rotation, cover bidding and insularity, and the
  single-tender groups folded into the communities that contain them (``merge_clusters``).

An alert is raised for a group whose score reaches :data:`ALERT_MIN_SCORE`. Auditors close
alerts: a confirmation may write 围标串标 credit records for chosen members through the
credit service, linked to the alert by the record's source (``gongxin.collusion``,
``alert-<id>:<USCC>``) and by the review row that lists the record ids.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session

from credit.models import Subject
from credit.services import add_record, find_subject
from trading import audit, clock
from trading.collusion import store, training
from trading.collusion.model import Cluster, Evidence, TenderView
from trading.collusion.models import Alert, AlertEvidence, AlertReview, LearnedFirmScore
from trading.collusion.network import clusters, co_bidding_graph, tender_clusters
from trading.collusion.red_flags import CONVENTION_FIELD, busy_project_managers, price_conventions
from trading.collusion.scan import (
    ALERT_THRESHOLD,
    ScanResult,
    TenderFinding,
    apply_conventions,
    merge_clusters,
)
from trading.db import storable_id
from trading.errors import Conflict, Invalid, NotFound
from trading.pagination import paginate

#: The score from which a group becomes an alert: the library's threshold, above what one
#: clue that is no proof on its own (a shared public IP, one author name, tight prices)
#: reaches, so an auditor's time goes to cases.
ALERT_MIN_SCORE = ALERT_THRESHOLD
LIVE_DAYS = store.LIVE_DAYS
RECORD_PLATFORM = "gongxin.collusion"

Progress = Callable[[str, int], None]


def _has_group(evidence: Iterable[Evidence]) -> bool:
    return any(e.source == "red_flag" and len(e.members) > 1 for e in evidence)


# --- scans ---------------------------------------------------------------------------


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk scan.

    A market scan allocates millions of small objects (rows, views, evidence) and keeps a
    growing share of them (the network views); each automatic collection walks the whole
    kept heap again, so the cost per bid would grow with the market. The scan creates no
    reference cycles worth collecting early; reference counting still frees everything
    else at once, and the collector resumes (and catches up) when the scan is over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def scan_market(
    session: Session,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    min_score: float = ALERT_MIN_SCORE,
    every: int = 10_000,
) -> dict[str, Any]:
    """Scan every tender and the co-bidding network; store screens and alerts; counts."""
    with _collector_paused():
        return _scan_market(session, now=now, progress=progress, min_score=min_score, every=every)


def _scan_market(
    session: Session,
    *,
    now: datetime | None,
    progress: Progress | None,
    min_score: float,
    every: int,
) -> dict[str, Any]:
    now = now or clock.now()
    started = time.perf_counter()
    metas = store.tender_metas(session)
    # First pass, a few columns: who bid what, won, with which manager. The network and
    # the busy-manager test need every tender at once, so these light views are kept.
    index: dict[str, TenderView] = {}
    for count, (_, view) in enumerate(store.tender_views(session, metas=metas, slim=True), 1):
        index[view.ref] = view
        if progress and count % every == 0:
            progress("tenders indexed", count)
    if progress:
        progress("tenders indexed", len(index))
    # Values that many unrelated bidders share say nothing; found before the red flags.
    common = store.market_common_values(session)
    busy: dict[str, list[Evidence]] = defaultdict(list)
    for item in busy_project_managers(index.values(), live_days=LIVE_DAYS):
        busy[item.tender_ref or ""].append(item)
    if progress:
        progress("common values", sum(len(v) for v in common.values()))
    # Second pass, whole bids one tender at a time: red flags, screens, suspicion.
    flagged: dict[str, TenderFinding] = {}
    findings: dict[str, TenderFinding] = {}
    evidence: list[Evidence] = []
    screen_rows: list[dict] = []
    bids = 0
    for count, (tender_id, view) in enumerate(store.tender_views(session, metas=metas), 1):
        found = store.tender_findings(tender_id, view, now, common, busy.get(view.ref, ()))
        screen_rows.append(found.screen_row)
        evidence.extend(found.finding.evidence)
        findings[view.ref] = found.finding
        bids += len(view.bids)
        if _has_group(found.finding.evidence):
            # Only these can form single-tender groups (see merge_clusters).
            flagged[view.ref] = found.finding
        if progress and count % every == 0:
            progress("tenders", count)
    if progress:
        progress("tenders", len(screen_rows))
    # Price patterns that fire all over this market are its way of pricing: dropped.
    conventions = price_conventions({e.kind for e in f.evidence} for f in findings.values())
    if conventions:
        findings = apply_conventions(findings, conventions)
        evidence = [e for f in findings.values() for e in f.evidence]
        flagged = {ref: f for ref, f in findings.items() if _has_group(f.evidence)}
        rows = {row["tender_id"]: row for row in screen_rows}
        for tender_id, meta in metas.items():
            if meta.ref in findings and tender_id in rows:
                rows[tender_id].update(store.finding_columns(findings[meta.ref]))
    store.save_common_values(session, {**common, CONVENTION_FIELD: conventions})
    seen = {row["tender_id"] for row in screen_rows}
    screen_rows.extend(store.empty_screen_row(i, now) for i in metas if i not in seen)
    graph = co_bidding_graph(index.values(), evidence)
    if progress:
        progress("edges", graph.number_of_edges())
    found_clusters = merge_clusters(clusters(graph, index), flagged, index)
    if progress:
        progress("clusters", len(found_clusters))
    store.store_screens(session, screen_rows)
    counts = store.persist_clusters(session, found_clusters, now=now, min_score=min_score)
    # The learned score, if a model was trained, follows the new bids at once.
    analysed = ScanResult(findings, evidence, found_clusters, graph)
    version = training.rescore(
        session, analysed, index, {meta.ref: tender_id for tender_id, meta in metas.items()}
    )
    if progress and version is not None:
        progress("learned scores", len(index))
    result = {
        "scope": "market",
        "tender_ref": None,
        "tenders": len(index),
        "bids": bids,
        "evidence": len(evidence),
        "clusters": len(found_clusters),
        **counts.as_dict(),
        "alert_ids": counts.alert_ids,
        "model_version": version,
        "seconds": round(time.perf_counter() - started, 3),
    }
    audit.record(
        session,
        "collusion.scan",
        "collusion_scan",
        "market",
        after={k: v for k, v in result.items() if k != "seconds"},
    )
    return result


def scan_tender(
    session: Session,
    ref: str,
    *,
    now: datetime | None = None,
    min_score: float = ALERT_MIN_SCORE,
) -> dict[str, Any]:
    """Scan one tender (at its opening): screens, red flags, busy managers, its groups."""
    from trading.services import get_tender

    now = now or clock.now()
    started = time.perf_counter()
    tender = get_tender(session, ref)
    views = list(store.tender_views(session, [tender.id]))
    groups: list[Cluster] = []
    bids = evidence = 0
    if views:
        tender_id, view = views[0]
        busy = store.busy_manager_evidence(session, tender_id, view, live_days=LIVE_DAYS)
        common = store.stored_common_values(session)
        found = store.tender_findings(tender_id, view, now, common, busy)
        groups = tender_clusters(view, found.finding.evidence)
        store.store_screens(session, [found.screen_row])
        bids, evidence = len(view.bids), len(found.finding.evidence)
    else:
        store.store_screens(session, [store.empty_screen_row(tender.id, now)])
    counts = store.persist_clusters(session, groups, now=now, min_score=min_score)
    result = {
        "scope": "tender",
        "tender_ref": tender.ref,
        "tenders": 1,
        "bids": bids,
        "evidence": evidence,
        "clusters": len(groups),
        **counts.as_dict(),
        "alert_ids": counts.alert_ids,
        "seconds": round(time.perf_counter() - started, 3),
    }
    audit.record(
        session,
        "collusion.scan",
        "collusion_scan",
        tender.ref,
        after={k: v for k, v in result.items() if k != "seconds"},
    )
    return result


# --- alerts --------------------------------------------------------------------------


def get_alert(session: Session, alert_id: int, *, lock: bool = False) -> Alert:
    valid = storable_id(alert_id)
    alert = session.get(Alert, alert_id, with_for_update=lock or None) if valid else None
    if alert is None:
        raise NotFound(f"No collusion alert #{alert_id}.", rule="collusion.alert_exists")
    return alert


def alerts_page(session: Session, args: dict) -> dict:
    """One page of alerts matching ``args``, the highest score first."""
    page = paginate(session, alerts_query(args), args["page"], args["page_size"])
    return {**page, "items": alert_summaries(session, page["items"])}


def alert_summaries(session: Session, alerts: Iterable[Alert]) -> list[dict]:
    """:func:`alert_summary` of each alert, names and learned scores read in a few queries."""
    from trading.collusion.training import learned_alert_scores

    alerts = list(alerts)
    names = member_names(session, alerts)
    learned = learned_alert_scores(session, alerts)
    firms = member_scores(session, alerts)
    return [alert_summary(a, names, learned.get(a.id), firms) for a in alerts]


def member_scores(session: Session, alerts: Iterable[Alert]) -> dict[str, float]:
    """USCC -> the learned firm score of each member of ``alerts`` that has one."""
    usccs = sorted({m for a in alerts for m in a.members})
    if not usccs:
        return {}
    rows = session.execute(
        select(Subject.uscc, LearnedFirmScore.score)
        .join(LearnedFirmScore, LearnedFirmScore.subject_id == Subject.id)
        .where(Subject.uscc.in_(usccs))
    )
    return {uscc: score for uscc, score in rows}


def member_names(session: Session, alerts: Iterable[Alert]) -> dict[str, str]:
    """USCC -> name of every member of ``alerts``, in one query."""
    usccs = sorted({m for a in alerts for m in a.members})
    if not usccs:
        return {}
    rows = session.execute(select(Subject.uscc, Subject.name).where(Subject.uscc.in_(usccs)))
    return {uscc: name for uscc, name in rows}


def _json_list_has(column, pattern: str):
    """``column`` (a JSON list of strings) holds an item matching the LIKE ``pattern``.

    Matched on the list's text (``["A", "B"]`` on both databases), the item between its
    quotes; ``pattern`` is already escaped with ``\\``. Portable and needs no table of
    members; it reads each alert's list, which is what a filtered page of alerts costs.
    """
    return cast(column, String).like(f'%"{pattern}"%', escape="\\")


def _like_literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def alerts_query(args: dict) -> Select:
    """Alerts filtered by status, scope and score, the highest score first."""
    stmt = select(Alert)
    if args.get("status"):
        stmt = stmt.where(Alert.status == args["status"])
    if args.get("scope"):
        stmt = stmt.where(Alert.scope == args["scope"])
    if args.get("min_score") is not None:
        stmt = stmt.where(Alert.score >= args["min_score"])
    if args.get("max_score") is not None:
        stmt = stmt.where(Alert.score <= args["max_score"])
    if args.get("member"):
        stmt = stmt.where(_json_list_has(Alert.members, args["member"].upper()))
    if args.get("tender"):
        stmt = stmt.where(_json_list_has(Alert.tenders, _like_literal(args["tender"])))
    if args.get("region"):
        # A USCC's characters 3-8 are its registration region (GB 32100-2015).
        stmt = stmt.where(_json_list_has(Alert.members, f"__{args['region']}%"))
    return stmt.order_by(Alert.score.desc(), Alert.id)


def alert_summary(
    alert: Alert,
    names: dict[str, str] | None = None,
    learned: tuple[float, int] | None = None,
    firms: dict[str, float] | None = None,
) -> dict:
    """An alert for lists; ``names`` (USCC -> name, see :func:`member_names`) names members,
    ``learned`` is (mean learned score of its tenders, model version), ``firms`` the
    members' learned scores."""
    names = names or {}
    firms = firms or {}
    return {
        "id": alert.id,
        "status": alert.status,
        "scope": alert.scope,
        "score": alert.score,
        "members": list(alert.members),
        "tenders": list(alert.tenders),
        "explanation": alert.explanation,
        "created_at": alert.created_at,
        "updated_at": alert.updated_at,
        "bidders": [
            {"uscc": m, "name": names.get(m), "learned_score": firms.get(m)} for m in alert.members
        ],
        "learned_score": learned[0] if learned else None,
        "model_version": learned[1] if learned else None,
    }


def alert_detail(session: Session, alert: Alert) -> dict:
    """Everything an auditor needs to judge the alert, and its review history."""
    evidence = session.scalars(
        select(AlertEvidence)
        .where(AlertEvidence.alert_id == alert.id)
        .order_by(AlertEvidence.weight.desc(), AlertEvidence.id)
    ).all()
    reviews = session.scalars(
        select(AlertReview).where(AlertReview.alert_id == alert.id).order_by(AlertReview.id)
    ).all()
    detail = alert_summaries(session, [alert])[0]
    detail.update(
        evidence=[
            {
                "kind": e.kind,
                "source": e.source,
                "weight": e.weight,
                "tender": e.tender_ref,
                "members": list(e.members),
                "detail": e.detail,
            }
            for e in evidence
        ],
        reviews=[
            {
                "decision": r.decision,
                "note": r.note,
                "reviewer": r.reviewer,
                "reviewed_at": r.reviewed_at,
                "status_before": r.status_before,
                "status_after": r.status_after,
                "record_ids": list(r.record_ids or []),
            }
            for r in reviews
        ],
    )
    return detail


def review_alert(
    session: Session, alert_id: int, data: dict, *, reviewer: str, now: datetime | None = None
) -> Alert:
    """Confirm or dismiss an open alert, with a note; a confirmation may write credit records.

    ``record_members`` (USCCs of the alert's members) get one serious 围标串标 record each,
    with the legal ``basis`` the decision rests on; the records name the alert.
    """
    now = now or clock.now()
    # Locked: two auditors deciding at once queue, and the second finds the alert closed.
    alert = get_alert(session, alert_id, lock=True)
    if alert.status != "open":
        raise Conflict(
            f"Alert #{alert.id} is already {alert.status}; a review is final.",
            errors={"decision": [f"alert is {alert.status}"]},
            rule="collusion.review_open_alert",
        )
    decision = data["decision"]
    wanted = [m.strip().upper() for m in data.get("record_members") or []]
    errors: dict[str, list[str]] = {}
    if wanted and decision != "confirm":
        errors["record_members"] = ["credit records are written only when confirming"]
    outsiders = [m for m in wanted if m not in alert.members]
    if outsiders:
        errors.setdefault("record_members", []).append(
            f"not members of alert #{alert.id}: {', '.join(outsiders)}"
        )
    if wanted and not data.get("basis"):
        errors["basis"] = [
            "a legal basis {authority, document_no, decided_on} is required to write credit records"
        ]
    if errors:
        raise Invalid(errors, rule="collusion.review_valid")
    record_ids = []
    for uscc in dict.fromkeys(wanted):
        subject = find_subject(session, uscc)
        if subject is None:  # a member imported under another key since: refuse, say who
            raise NotFound(
                f"No subject {uscc}.",
                errors={"record_members": [uscc]},
                rule="credit.subject_exists",
            )
        record = add_record(
            session, subject, _record_body(alert, uscc, data), today=clock.china_date(now)
        )
        record_ids.append(record.id)
    status = "confirmed" if decision == "confirm" else "dismissed"
    review = AlertReview(
        alert_id=alert.id,
        decision=decision,
        note=data["note"].strip(),
        reviewer=reviewer,
        reviewed_at=now,
        status_before=alert.status,
        status_after=status,
        record_ids=record_ids,
    )
    session.add(review)
    store.close_alert(session, alert, status)
    audit.record(
        session,
        f"collusion.alert.{status}",
        "collusion_alert",
        alert.id,
        before={"status": "open"},
        after={"status": status, "note": review.note, "record_ids": record_ids},
    )
    return alert


def _record_body(alert: Alert, uscc: str, data: dict) -> dict:
    others = [m for m in alert.members if m != uscc]
    description = (
        f"围标串标 (collusive bidding) confirmed on collusion alert #{alert.id} with "
        f"{', '.join(others)} in {len(alert.tenders)} tender(s): {data['note'].strip()}"
    )
    basis = data["basis"]
    body = {
        "polarity": "negative",
        "category": "collusion",
        "severity": data.get("severity") or "serious",
        "description": description[:4000],
        "basis": {
            "authority": basis["authority"],
            "document_no": basis["document_no"],
            "decided_on": basis["decided_on"],
        },
        "effective_from": data.get("effective_from") or basis["decided_on"],
        "source": {"platform": RECORD_PLATFORM, "id": f"alert-{alert.id}:{uscc}"},
    }
    if data.get("effective_to"):
        body["effective_to"] = data["effective_to"]
    return body
