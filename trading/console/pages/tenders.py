"""Tenders and bids (招标项目与投标): lists, one tender with its bids and price screens, a
centre's bid form, and the historical bids import as a job.

Roles as in the API: centres, regulators and auditors read tenders; only a centre
registers bids (in its own tenders: the service checks); imports are long work.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for

from credit.scope import SECTORS
from trading import jobs
from trading import services as tenders_service
from trading.console.blueprint import console, translate
from trading.console.forms import (
    flatten_errors,
    form_fields,
    nest,
    query_args,
    refusal,
    with_offset,
)
from trading.console.signin import page, user
from trading.db import get_session
from trading.errors import ServiceError
from trading.schemas import (
    TENDER_STATUSES,
    AwardCreateSchema,
    BidCreateSchema,
    TenderCreateSchema,
    TenderListArgs,
)
from trading.untrusted import accepts_upload

PAGE_SIZE = 50
READERS = ("centre", "regulator", "auditor")
IMPORTERS = ("regulator", "auditor")


def caller() -> tenders_service.Caller:
    me = user()
    return tenders_service.Caller(actor=me.actor, role=me.role, org=me.org)


@console.route("/tenders")
@page(*READERS)
def tenders() -> Any:
    args, errors = query_args(TenderListArgs())
    result = tenders_service.tenders_page(get_session(), {**args, "page_size": PAGE_SIZE}, caller())
    return render_template(
        "console/tenders/list.html",
        result=result,
        args=args,
        errors=errors,
        sectors=SECTORS,
        statuses=TENDER_STATUSES,
    )


def _show(ref: str, errors: dict | None = None, form: dict | None = None, code: int = 200):
    session = get_session()
    me = user()
    tender = tenders_service.get_tender(session, ref)
    detail = tenders_service.tender_detail(session, tender, caller())
    own = me.role == "centre" and detail.get("centre") in (None, me.org)
    may_bid = own and detail["status"] == "open"
    may_award = own and detail["status"] == "closed" and not detail.get("sealed_until")
    return (
        render_template(
            "console/tenders/detail.html",
            tender=detail,
            may_bid=may_bid,
            may_award=may_award,
            errors=errors or {},
            form=form or {},
        ),
        code,
    )


#: The fields of the tender form, in order: (name, label key, input type).
TENDER_FIELDS = (
    ("ref", "tenders.ref", "text"),
    ("title", "tenders.name", "text"),
    ("tenderee", "tenders.tenderee_ref", "text"),
    ("agency", "tenders.agency_ref", "text"),
    ("region", "subject.region", "text"),
    ("specialty", "tenders.specialty", "text"),
    ("estimate", "tenders.estimate", "text"),
    ("deadline", "tenders.deadline", "datetime-local"),
    ("opening_at", "tenders.opening", "datetime-local"),
)


def plain_amount(text: str) -> str:
    """An amount as typed (``1,200,000.00``, ``１２０万元`` is not accepted): commas and
    blanks dropped, so the money field checks the rest."""
    return text.replace(",", "").replace("，", "").replace(" ", "").strip()


def _tender_form(form: dict, errors: dict | None = None, code: int = 200) -> Any:
    return (
        render_template(
            "console/tenders/new.html",
            form=form,
            errors=errors or {},
            fields=TENDER_FIELDS,
            sectors=SECTORS,
        ),
        code,
    )


@console.route("/tenders/new", methods=["GET", "POST"])
@page("centre", "regulator")
def tender_new() -> Any:
    """Register a tender (the API's POST /tenders) from a form in China time."""
    if request.method == "GET":
        return _tender_form({})
    fields = form_fields()
    offset = current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", 8)
    raw = nest(with_offset(fields, ["deadline", "opening_at"], offset))
    raw["estimate"] = plain_amount(raw.get("estimate") or "") or None
    try:
        data = TenderCreateSchema().load(raw)
        created = tenders_service.create_tender(get_session(), data, caller())
    except ma.ValidationError as error:
        return _tender_form(fields, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _tender_form(fields, refusal(error), error.code)
    flash(translate("tenders.created", ref=created.ref), "ok")
    return redirect(url_for("console.tender", ref=created.ref), code=303)


@console.route("/tenders/<ref>/award", methods=["POST"])
@page("centre")
def tender_award(ref: str) -> Any:
    """Award the tender to one of its bidders; the form states the effect and asks to confirm."""
    fields = form_fields()
    if fields.get("confirm") != "yes":
        return _show(ref, {"confirm": [translate("tenders.award_confirm_needed")]}, fields, 422)
    try:
        data = AwardCreateSchema().load({"bidder": fields.get("bidder", "")})
        tenders_service.award_tender(get_session(), ref, data, caller())
    except ma.ValidationError as error:
        return _show(ref, flatten_errors(error.messages), fields, 422)
    except ServiceError as error:
        if error.code == 404 and not error.errors:
            raise
        return _show(ref, refusal(error), fields, error.code)
    flash(translate("tenders.awarded", ref=ref), "ok")
    return redirect(url_for("console.tender", ref=ref), code=303)


@console.route("/tenders/<ref>")
@page(*READERS)
def tender(ref: str) -> Any:
    return _show(ref)


@console.route("/tenders/<ref>/bids", methods=["POST"])
@page("centre")
def tender_bid(ref: str) -> Any:
    fields = form_fields()
    offset = current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", 8)
    raw = nest(with_offset(fields, ["submitted_at"], offset))
    try:
        data = BidCreateSchema().load(raw)
        tenders_service.register_bid(get_session(), ref, data, caller())
    except ma.ValidationError as error:
        return _show(ref, flatten_errors(error.messages), fields, 422)
    except ServiceError as error:
        if error.code == 404 and not error.errors:
            raise
        return _show(ref, refusal(error), fields, error.code)
    flash(translate("tenders.bid_registered"), "ok")
    return redirect(url_for("console.tender", ref=ref), code=303)


@console.route("/jobs/bids-import", methods=["POST"])
@accepts_upload
@page(*IMPORTERS)
def bids_import() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(translate("jobs.no_file"), "error")
        return redirect(url_for("console.jobs"), code=303)
    job = jobs.start("bids_import", user().actor, upload=upload.stream)
    return redirect(url_for("console.job", job_id=job.id), code=303)
