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
from trading.schemas import TENDER_STATUSES, BidCreateSchema, TenderListArgs

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
    viewer = tenders_service.caller_of(user())
    result = tenders_service.tenders_page(get_session(), {**args, "page_size": PAGE_SIZE}, viewer)
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
    detail = tenders_service.tender_detail(session, tender, tenders_service.caller_of(me))
    may_bid = (
        me.role == "centre"
        and detail["status"] == "open"
        and (detail.get("centre") in (None, me.org))
    )
    return (
        render_template(
            "console/tenders/detail.html",
            tender=detail,
            may_bid=may_bid,
            errors=errors or {},
            form=form or {},
        ),
        code,
    )


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
@page(*IMPORTERS)
def bids_import() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(translate("jobs.no_file"), "error")
        return redirect(url_for("console.jobs"), code=303)
    job = jobs.start("bids_import", user().actor, upload=upload.stream)
    return redirect(url_for("console.job", job_id=job.id), code=303)
