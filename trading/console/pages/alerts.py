"""Collusion alerts (围标串标预警): the list by score, one alert's picture, evidence and review;
and the full market scan as a job.

Roles as in the API: auditors and regulators read alerts and start scans; only auditors
(and admins) review.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from credit.models import Subject
from trading import jobs
from trading import services as tenders_service
from trading.collusion import services as collusion
from trading.collusion.models import ALERT_SCOPES, ALERT_STATUSES
from trading.collusion.schemas import ReviewCreateSchema
from trading.console import graph
from trading.console.blueprint import console, translate
from trading.console.forms import flatten_errors, form_fields, nest, page_number, refusal
from trading.console.signin import page, user
from trading.db import get_session
from trading.errors import ServiceError
from trading.models import Bid, Tender
from trading.pagination import paginate

PAGE_SIZE = 50
READERS = ("auditor", "regulator")
REVIEWERS = ("auditor",)


def _score_floor(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return None if value is None else min(max(value, 0.0), 1.0)


@console.route("/alerts")
@page(*READERS)
def alerts() -> Any:
    status = request.args.get("status", "open")
    filters = {
        "status": status if status in ALERT_STATUSES else None,
        "scope": request.args.get("scope") if request.args.get("scope") in ALERT_SCOPES else None,
        "min_score": _score_floor(request.args.get("min_score")),
    }
    session = get_session()
    result = paginate(session, collusion.alerts_query(filters), page_number(), PAGE_SIZE)
    result["items"] = [collusion.alert_summary(alert) for alert in result["items"]]
    return render_template(
        "console/alerts/list.html",
        result=result,
        filters=filters,
        status_arg=status,
        statuses=ALERT_STATUSES,
        scopes=ALERT_SCOPES,
    )


def _drawing(detail: dict[str, Any]) -> graph.Drawing:
    items = [
        graph.EvidenceItem(
            e["kind"], tuple(e["members"]), e.get("tender"), float(e["weight"]), e["detail"]
        )
        for e in detail["evidence"]
    ]
    names = {b["uscc"]: b["name"] for b in detail["bidders"] if b.get("name")}
    return graph.layout(detail["members"], items, detail["tenders"], names)


def rotation_matrix(session, detail: dict[str, Any]) -> dict[str, Any]:
    """Who bid and who won in each of the alert's tenders: rows are tenders (by date),
    columns the members; a cell is ``won``, ``bid`` or empty. Tenders whose bids are still
    sealed show no cells. A ring that takes turns to win (轮流中标) shows as a diagonal."""
    members = list(detail["members"])
    refs = list(detail["tenders"])
    if not refs or not members:
        return {"members": members, "rows": []}
    rows = session.execute(
        select(Tender, Subject.uscc, Bid.winner)
        .join(Bid, Bid.tender_id == Tender.id)
        .join(Subject, Subject.id == Bid.bidder_id)
        .where(Tender.ref.in_(refs), Subject.uscc.in_(members))
    ).all()
    cells: dict[str, dict[str, str]] = {ref: {} for ref in refs}
    tenders: dict[str, Tender] = {}
    for tender, uscc, winner in rows:
        tenders[tender.ref] = tender
        cells[tender.ref][uscc] = "won" if winner else "bid"
    ordered = sorted(
        refs,
        key=lambda r: (tenders[r].tender_date or date.min, r) if r in tenders else (date.min, r),
    )
    out = []
    for ref in ordered:
        tender = tenders.get(ref)
        sealed = tender is not None and tenders_service.sealed_until(tender) is not None
        out.append(
            {
                "ref": ref,
                "date": tender.tender_date if tender else None,
                "sealed": sealed,
                "cells": {} if sealed else cells[ref],
            }
        )
    wins = {m: sum(1 for r in out if r["cells"].get(m) == "won") for m in members}
    return {"members": members, "rows": out, "wins": wins}


def evidence_by_kind(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The evidence summed up by kind across tenders: how many pieces, in how many tenders,
    what weight; strongest first."""
    kinds: dict[str, dict[str, Any]] = {}
    for item in detail["evidence"]:
        entry = kinds.setdefault(
            item["kind"], {"kind": item["kind"], "count": 0, "tenders": set(), "weight": 0.0}
        )
        entry["count"] += 1
        entry["weight"] += float(item["weight"])
        if item.get("tender"):
            entry["tenders"].add(item["tender"])
    summary = [{**e, "tenders": len(e["tenders"])} for e in kinds.values()]
    return sorted(summary, key=lambda e: (-e["weight"], e["kind"]))


def _show(alert_id: int, errors: dict | None = None, form: dict | None = None, code: int = 200):
    session = get_session()
    detail = collusion.alert_detail(session, collusion.get_alert(session, alert_id))
    return (
        render_template(
            "console/alerts/detail.html",
            alert=detail,
            drawing=_drawing(detail),
            matrix=rotation_matrix(session, detail),
            by_kind=evidence_by_kind(detail),
            names={b["uscc"]: b.get("name") for b in detail["bidders"]},
            families=graph.FAMILY_ORDER,
            may_review=user().role in (*REVIEWERS, "admin") and detail["status"] == "open",
            errors=errors or {},
            form=form or {},
        ),
        code,
    )


@console.route("/alerts/<int:alert_id>")
@page(*READERS)
def alert(alert_id: int) -> Any:
    return _show(alert_id)


@console.route("/alerts/<int:alert_id>/review", methods=["POST"])
@page(*REVIEWERS)
def alert_review(alert_id: int) -> Any:
    fields = form_fields()
    raw = nest(fields)
    raw["record_members"] = [m for m in request.form.getlist("record_members") if m.strip()]
    if not raw["record_members"]:
        raw.pop("record_members")
    try:
        data = ReviewCreateSchema().load(raw)
        collusion.review_alert(get_session(), alert_id, data, reviewer=user().actor)
    except ma.ValidationError as error:
        return _show(alert_id, flatten_errors(error.messages), fields, 422)
    except ServiceError as error:
        if error.code == 404 and not error.errors:
            raise
        messages = refusal(error)
        return _show(alert_id, messages, fields, error.code)
    flash(translate("alerts.reviewed", id=alert_id), "ok")
    return redirect(url_for("console.alert", alert_id=alert_id), code=303)


@console.route("/alerts/scan", methods=["POST"])
@page(*READERS)
def collusion_scan() -> Any:
    job = jobs.start("collusion_scan", user().actor)
    return redirect(url_for("console.job", job_id=job.id), code=303)
