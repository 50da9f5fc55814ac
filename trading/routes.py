"""Tender and bid API: thin views over :mod:`trading.services`."""

from __future__ import annotations

from trading import services
from trading.auth import access, principal
from trading.db import get_session
from trading.errors import ErrorSchema
from trading.idempotency import idempotent
from trading.openapi import Blueprint
from trading.pagination import page_of
from trading.schemas import (
    AwardCreateSchema,
    BidCreateSchema,
    BidSchema,
    TenderCreateSchema,
    TenderListArgs,
    TenderSchema,
    TenderSummarySchema,
)

blp = Blueprint("tenders", __name__, url_prefix="/api/v1", description="Tenders and bids")


def _caller() -> services.Caller:
    return services.caller_of(principal())


@blp.route("/tenders", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(TenderCreateSchema)
@blp.response(201, TenderSchema)
@blp.alt_response(403, schema=ErrorSchema, description="The agency is not eligible")
@blp.alt_response(404, schema=ErrorSchema, description="Unknown tenderee or agency")
@blp.alt_response(409, schema=ErrorSchema, description="The reference is taken")
def create_tender(data):
    """Register a tender; the agency must be eligible to act as agency."""
    session = get_session()
    tender = services.create_tender(session, data, _caller())
    return services.tender_detail(session, tender, _caller())


@blp.route("/tenders", methods=["GET"])
@access(blp)
@blp.arguments(TenderListArgs, location="query")
@blp.response(200, page_of(TenderSummarySchema))
def list_tenders(args):
    """Tenders, filtered; newest first or most suspicious first."""
    return services.tenders_page(get_session(), args, _caller())


@blp.route("/tenders/<ref>", methods=["GET"])
@access(blp)
@blp.response(200, TenderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such tender")
def get_tender(ref):
    """A tender with its bids, award, price screens (from three bids) and suspicion.

    Until the opening time the bids are sealed: no bidder, price, screen or score is shown,
    and only the owning centre sees how many bids came in (`bid_count`, else null).
    """
    session = get_session()
    return services.tender_detail(session, services.get_tender(session, ref), _caller())


@blp.route("/tenders/<ref>/bids", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(BidCreateSchema)
@blp.response(201, BidSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Ineligible bidder, or another centre")
@blp.alt_response(404, schema=ErrorSchema, description="Unknown tender, bidder or manager")
@blp.alt_response(
    409, schema=ErrorSchema, description="After the deadline, a second bid, or awarded"
)
def register_bid(data, ref):
    """Register a bid; refused with the reasons when the bidder is not eligible."""
    session = get_session()
    bid, bidder = services.register_bid(session, ref, data, _caller())
    return services.bid_detail(session, bid, ref, bidder)


@blp.route("/tenders/<ref>/award", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(AwardCreateSchema)
@blp.response(200, TenderSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Ineligible winner, or another centre")
@blp.alt_response(404, schema=ErrorSchema, description="Unknown tender or bidder")
@blp.alt_response(409, schema=ErrorSchema, description="Already awarded, or before the deadline")
def award_tender(data, ref):
    """Award the tender to one of its bidders."""
    session = get_session()
    tender = services.award_tender(session, ref, data, _caller())
    return services.tender_detail(session, tender, _caller())
