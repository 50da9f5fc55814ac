"""Expert draws (评标专家抽取): a centre's draw form, its sealed result, replacing an expert
who declines, feedback; after unsealing, the full record and its verification.

Every rule is the draw service's own: ``open_draw`` decides who sees what (the owning
centre sees names and contacts; another centre is told the draw does not exist; auditors
and regulators wait for the unseal time), ``own_draw`` who may change it.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from credit.scope import SECTORS
from experts import draws as draw_service
from experts.models import ATTENDANCE, CONDUCT, REPLACEMENT_REASONS, Draw
from experts.schemas import (
    DrawInSchema,
    EntropyInSchema,
    FeedbackInSchema,
    ReplacementInSchema,
    VoidInSchema,
)
from trading import clock
from trading import services as tenders_service
from trading.console.blueprint import console, translate
from trading.console.forms import (
    flatten_errors,
    form_fields,
    nest,
    page_number,
    refusal,
    with_offset,
)
from trading.console.signin import page, user
from trading.db import get_session, storable_id
from trading.errors import NotFound, ServiceError
from trading.pagination import paginate

PAGE_SIZE = 50
READERS = ("centre", "auditor", "regulator")
SEAT_ROWS = 4
REGION_MODES = ("any", "local", "exclude_local", "list")
_SPLIT = re.compile(r"[\s,，;；]+")


def settings() -> draw_service.DrawSettings:
    return draw_service.settings_from(current_app.config)


def _opened(draw_id: int) -> tuple[Draw, str]:
    """The draw as this user may see it, by the service's own sealing rule."""
    if not storable_id(draw_id):
        raise NotFound(f"No draw {draw_id}.", rule="draws.exists")
    me = user()
    return draw_service.open_draw(get_session(), draw_id, me.role, me.org)


@console.route("/draws")
@page(*READERS)
def draws() -> Any:
    """A centre's own draws; for auditors and regulators, those already unsealed (as the API)."""
    me = user()
    stmt = select(Draw).order_by(Draw.id.desc())
    if me.role == "centre":
        stmt = stmt.where(Draw.centre_uscc == me.org)
    else:
        stmt = stmt.where(Draw.unseal_at <= clock.now())
    tender_ref = request.args.get("tender_ref", "").strip()[:100]
    if tender_ref:
        stmt = stmt.where(Draw.tender_ref == tender_ref)
    session = get_session()
    result = paginate(session, stmt, page_number(), PAGE_SIZE)
    result["items"] = [draw_service.draw_list_item(d) for d in result["items"]]
    return render_template("console/draws/list.html", result=result, tender_ref=tender_ref)


def _prefill(ref: str) -> dict[str, str]:
    """The draw form filled from a registered tender: parties, bidders, sector, region."""
    session = get_session()
    try:
        tender = tenders_service.get_tender(session, ref)
    except NotFound:
        return {"tender_ref": ref}
    viewer = tenders_service.caller_of(user())
    detail = tenders_service.tender_detail(session, tender, viewer)
    return {
        "tender_ref": detail["ref"],
        "tenderee": (detail.get("tenderee") or {}).get("uscc") or "",
        "agency": (detail.get("agency") or {}).get("uscc") or "",
        # Its own centre's form holds the bidders even while sealed: the draw excludes them.
        "bidders": "\n".join(tenders_service.bidder_usccs(session, tender, viewer)),
        "sector": detail.get("sector") or "",
        "region": detail.get("region") or "",
        "seats.0.specialty": detail.get("specialty") or "",
        "seats.0.count": "5",
    }


def _form_page(form: dict, errors: dict | None = None, code: int = 200) -> Any:
    return (
        render_template(
            "console/draws/new.html",
            form=form,
            errors=errors or {},
            seat_rows=SEAT_ROWS,
            sectors=SECTORS,
            region_modes=REGION_MODES,
        ),
        code,
    )


@console.route("/draws/new")
@page("centre")
def draw_new() -> Any:
    ref = request.args.get("tender", "").strip()[:100]
    return _form_page(_prefill(ref) if ref else {"backups": "2", "seats.0.count": "5"})


def draw_request(fields: dict[str, str]) -> dict[str, Any]:
    """The form as the API's draw request body (before the schema checks it)."""
    offset = current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", 8)
    plain = {
        k: v
        for k, v in with_offset(fields, ["window.start", "window.end"], offset).items()
        if not k.startswith("seats.") and k not in ("bidders", "regulators", "region_rule.regions")
    }
    body = nest(plain)
    for name in ("bidders", "regulators"):
        values = [v for v in _SPLIT.split(fields.get(name, "")) if v]
        if values:
            body[name] = values
    regions = [v for v in _SPLIT.split(fields.get("region_rule.regions", "")) if v]
    if regions:
        body.setdefault("region_rule", {})["regions"] = regions
    seats = []
    for row in range(SEAT_ROWS):
        seat = nest(
            {k: fields.get(f"seats.{row}.{k}", "") for k in ("specialty", "count", "backups")}
        )
        if seat:
            seats.append(seat)
    if seats:
        body["seats"] = seats
    return body


@console.route("/draws", methods=["POST"])
@page("centre")
def draw_create() -> Any:
    fields = form_fields()
    try:
        data = DrawInSchema().load(draw_request(fields))
        me = user()
        draw = draw_service.draw_experts(get_session(), me.org, data, settings())
    except ma.ValidationError as error:
        return _form_page(fields, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _form_page(fields, refusal(error), error.code)
    flash(translate("draws.drawn", id=draw.id), "ok")
    return redirect(url_for("console.draw", draw_id=draw.id), code=303)


def _show(draw_id: int, errors: dict | None = None, code: int = 200) -> Any:
    draw, audience = _opened(draw_id)
    view = draw_service.draw_view(get_session(), draw, audience)
    return (
        render_template(
            "console/draws/detail.html",
            draw=view,
            audience=audience,
            reasons=REPLACEMENT_REASONS,
            attendance=ATTENDANCE,
            conduct=CONDUCT,
            errors=errors or {},
            window_open=clock.now() < draw.window_end,
            evaluation_started=clock.now() >= draw.window_start,
        ),
        code,
    )


@console.route("/draws/<int:draw_id>")
@page(*READERS)
def draw(draw_id: int) -> Any:
    return _show(draw_id)


def _owned(draw_id: int) -> Draw:
    if not storable_id(draw_id):
        raise NotFound(f"No draw {draw_id}.", rule="draws.exists")
    me = user()
    return draw_service.own_draw(get_session(), draw_id, me.role, me.org)


@console.route("/draws/<int:draw_id>/replacements", methods=["POST"])
@page("centre")
def draw_replace(draw_id: int) -> Any:
    draw = _owned(draw_id)
    try:
        data = ReplacementInSchema().load(nest(form_fields()))
        replacement = draw_service.replace_expert(get_session(), draw, data, settings())
    except ma.ValidationError as error:
        return _show(draw_id, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _show(draw_id, refusal(error), error.code)
    flash(
        translate("draws.replaced", seat=replacement.seat, expert=replacement.new_expert_id), "ok"
    )
    return redirect(url_for("console.draw", draw_id=draw_id), code=303)


@console.route("/draws/<int:draw_id>/void", methods=["POST"])
@page("centre")
def draw_void(draw_id: int) -> Any:
    draw = _owned(draw_id)
    try:
        data = VoidInSchema().load(nest(form_fields()))
        draw_service.void_draw(get_session(), draw, data)
    except ma.ValidationError as error:
        return _show(draw_id, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _show(draw_id, refusal(error), error.code)
    flash(translate("draws.voided"), "ok")
    return redirect(url_for("console.draw", draw_id=draw_id), code=303)


@console.route("/draws/<int:draw_id>/entropy", methods=["POST"])
@page("centre")
def draw_entropy(draw_id: int) -> Any:
    """The announced numbers of the public source named in the request (kind public)."""
    me = user()
    try:
        data = EntropyInSchema().load(nest(form_fields()))
        draw_service.supply_entropy(get_session(), draw_id, data, me.role, me.org, settings())
    except ma.ValidationError as error:
        return _show(draw_id, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _show(draw_id, refusal(error), error.code)
    flash(translate("draws.revealed"), "ok")
    return redirect(url_for("console.draw", draw_id=draw_id), code=303)


@console.route("/draws/<int:draw_id>/feedback", methods=["POST"])
@page("centre")
def draw_feedback(draw_id: int) -> Any:
    draw = _owned(draw_id)
    try:
        data = FeedbackInSchema().load(nest(form_fields()))
        draw_service.record_feedback(get_session(), draw, data)
    except ma.ValidationError as error:
        return _show(draw_id, flatten_errors(error.messages), 422)
    except ServiceError as error:
        return _show(draw_id, refusal(error), error.code)
    flash(translate("draws.feedback_saved"), "ok")
    return redirect(url_for("console.draw", draw_id=draw_id), code=303)


@console.route("/draws/<int:draw_id>/verification")
@page(*READERS)
def draw_verification(draw_id: int) -> Any:
    draw, audience = _opened(draw_id)
    result = draw_service.verify_draw(get_session(), draw)
    return render_template(
        "console/draws/verification.html",
        draw_id=draw.id,
        tender_ref=draw.tender_ref,
        result=result,
        audience=audience,
    )
