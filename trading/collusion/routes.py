"""Collusion alert API: scans, alerts, reviews."""

from __future__ import annotations

from flask import current_app, jsonify, request, url_for
from sqlalchemy import func, select

from trading import jobs
from trading.auth import access, principal
from trading.collusion import services, training
from trading.collusion.schemas import (
    AlertListArgs,
    AlertSchema,
    AlertSummarySchema,
    ReviewCreateSchema,
    ScanRequestSchema,
    ScanResultSchema,
    ScoreModelDetailSchema,
    ScoreModelSchema,
    TenderReviewCreateSchema,
    TenderReviewSchema,
    TrainResultSchema,
)
from trading.db import get_session
from trading.errors import ErrorSchema, Forbidden
from trading.idempotency import idempotent
from trading.jobs_api import JobSchema
from trading.metrics import counters
from trading.models import Tender
from trading.openapi import Blueprint
from trading.pagination import PageArgs, page_of
from trading.services import Caller, check_own_tender

blp = Blueprint("collusion", __name__, url_prefix="/api/v1", description="Collusion alerts")


@blp.route("/collusion/scans", methods=["POST"])
@access(blp)
@blp.arguments(ScanRequestSchema)
@blp.response(200, ScanResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such tender")
@blp.alt_response(
    202,
    schema=JobSchema,
    description="A whole-market scan started as a job (`Prefer: respond-async`, or a market "
    "larger than SCAN_INLINE_MAX_TENDERS); follow it at `Location`",
)
def create_scan(data):
    """Scan one tender (at opening; centres may only do this) or the whole market.

    A whole market is scanned in the request only when it is small and the caller did not
    ask otherwise; else the answer is 202 with the job that scans it.
    """
    session = get_session()
    ref = data.get("tender_ref")
    if ref:
        who = principal()
        if who.role == "centre":  # centre B does not scan centre A's tender
            check_own_tender(session, ref, Caller(who.actor, who.role, who.org))
        _may_scan_sealed(session, ref)
        result = services.scan_tender(session, ref)
        counters().alerts.inc(result.get("alerts_created", 0))
        return result
    if principal().role == "centre":
        raise Forbidden(
            "A trading centre scans one tender at its opening; give tender_ref.",
            errors={"tender_ref": ["required for a centre"]},
            rule="collusion.centre_scans_one_tender",
        )
    limit = current_app.config["SCAN_INLINE_MAX_TENDERS"]
    asked = "respond-async" in request.headers.get("Prefer", "").lower()
    if asked or (session.scalar(select(func.count(Tender.id))) or 0) > limit:
        job = jobs.start("collusion_scan", principal().actor)
        response = jsonify(JobSchema().dump(job))
        response.status_code = 202
        response.headers["Location"] = url_for("jobs.get_job", job_id=job.id)
        return response
    result = services.scan_market(session)
    counters().alerts.inc(result.get("alerts_created", 0))
    return result


def _may_scan_sealed(session, ref: str) -> None:
    """Before the opening, a tender's bids are scanned only for its centre or auditors (the
    answer carries no price; nobody else learns anything about the sealed bids)."""
    from trading import services as tenders

    tender = tenders.get_tender(session, ref)
    who = principal()
    if tenders.sealed_until(tender) is None or who.role in ("auditor", "admin"):
        return
    if who.role == "centre" and who.org == tender.centre_uscc:
        return
    raise Forbidden(
        "The bids of this tender are sealed until its opening: only its centre or an auditor "
        "scans it before then.",
        errors={"tender_ref": ["bids sealed until the opening"]},
        rule="tenders.bids_sealed",
    )


@blp.route("/collusion/alerts", methods=["GET"])
@access(blp)
@blp.arguments(AlertListArgs, location="query")
@blp.response(200, page_of(AlertSummarySchema))
def list_alerts(args):
    """Alerts, highest score first, by status."""
    return services.alerts_page(get_session(), args)


@blp.route("/collusion/alerts/<int:alert_id>", methods=["GET"])
@access(blp)
@blp.response(200, AlertSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such alert")
def get_alert(alert_id):
    """An alert: members, tenders, every piece of evidence with its weight, its reviews."""
    session = get_session()
    return services.alert_detail(session, services.get_alert(session, alert_id))


@blp.route("/collusion/alerts/<int:alert_id>/reviews", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(ReviewCreateSchema)
@blp.response(201, AlertSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such alert or member")
@blp.alt_response(409, schema=ErrorSchema, description="The alert is already closed")
def review_alert(data, alert_id):
    """Confirm or dismiss an open alert; confirming may write 围标串标 credit records."""
    session = get_session()
    alert = services.review_alert(session, alert_id, data, reviewer=principal().actor)
    return services.alert_detail(session, alert)


@blp.route("/collusion/tenders/<ref>/reviews", methods=["POST"])
@access(blp)
@blp.arguments(TenderReviewCreateSchema)
@blp.response(201, TenderReviewSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such tender")
def review_tender(data, ref):
    """An auditor's verdict on a tender, collusive or competitive: a label for the model."""
    return training.review_tender(get_session(), ref, data, reviewer=principal().actor)


@blp.route("/collusion/models", methods=["GET"])
@access(blp)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ScoreModelSchema))
def list_models(args):
    """Versions of the learned score, newest first, with cross-validated AUC and counts."""
    return training.models_page(get_session(), args)


@blp.route("/collusion/models", methods=["POST"])
@access(blp)
@blp.response(201, TrainResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Too few reviews to learn from")
@blp.alt_response(
    202,
    schema=JobSchema,
    description="With `Prefer: respond-async`: the training started as a job "
    "(`collusion_train`); follow it at `Location`",
)
def train_model():
    """Train a new version from the reviews and score every unreviewed tender and firm.

    In the request by default; with ``Prefer: respond-async`` the answer is 202 with the
    job that trains (a large market takes minutes).
    """
    if "respond-async" in request.headers.get("Prefer", "").lower():
        job = jobs.start("collusion_train", principal().actor)
        response = jsonify(JobSchema().dump(job))
        response.status_code = 202
        response.headers["Location"] = url_for("jobs.get_job", job_id=job.id)
        return response
    return training.train(get_session())


@blp.route("/collusion/models/<int:version>", methods=["GET"])
@access(blp)
@blp.response(200, ScoreModelDetailSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such version")
def get_model(version):
    """One version of the learned score with what each feature weighs in it."""
    session = get_session()
    return training.model_out(training.get_model(session, version), features=True)
