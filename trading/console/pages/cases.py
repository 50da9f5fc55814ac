"""Repair applications and objections on a subject's page: file, accept or refuse, decide."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, redirect, request, url_for

from credit import cases
from credit import services as credit
from credit.cases_routes import AcceptanceInSchema, CaseInSchema, DecisionInSchema
from trading.auth import acting_authority
from trading.console.blueprint import console, translate
from trading.console.forms import flatten_errors, form_fields, nest, refusal
from trading.console.pages.credit import WRITERS, _subject_page
from trading.console.signin import page, user
from trading.db import get_session
from trading.errors import NotFound, ServiceError


def _case_of(ref: str, case_id: int) -> cases.CreditCase:
    session = get_session()
    subject = credit.resolve_subject(session, ref)
    case = cases.get_case(session, case_id)
    if case.subject_id != subject.id:
        raise NotFound(f"No case {case_id} of this subject.", rule="credit.case_exists")
    return case


def _step(ref: str, which: str, schema: ma.Schema, raw: dict, apply) -> Any:
    fields = form_fields()
    try:
        apply(schema.load(raw))
    except ma.ValidationError as error:
        return _subject_page(ref, flatten_errors(error.messages), fields, which, 422)
    except ServiceError as error:
        if error.code == 404 and not error.errors:
            raise
        return _subject_page(ref, refusal(error), fields, which, error.code)
    flash(translate(f"cases.saved_{which}"), "ok")
    return redirect(url_for("console.subject", ref=ref) + "#cases", code=303)


@console.route("/subjects/<ref>/cases", methods=["POST"])
@page(*WRITERS)
def case_file(ref: str) -> Any:
    """File a repair application or an objection against one of the subject's records."""
    session = get_session()
    subject = credit.resolve_subject(session, ref)
    raw = nest({k: v for k, v in form_fields().items() if k[:1] != "_"})
    proof = raw.pop("proof", None)
    if proof:
        raw["proofs"] = [proof]
    try:
        record_id = int(request.form.get("_record", ""))
    except ValueError:
        record_id = 0
    record = credit.get_record(session, record_id) if record_id else None
    if record is None or record.subject_id != subject.id:
        raise NotFound(f"No record {record_id} of this subject.", rule="credit.record_exists")
    return _step(
        ref,
        "case",
        CaseInSchema(),
        raw,
        lambda body: cases.submit(session, record_id, body, user().actor),
    )


@console.route("/subjects/<ref>/cases/<int:case_id>/acceptance", methods=["POST"])
@page(*WRITERS)
def case_accept(ref: str, case_id: int) -> Any:
    from flask import current_app

    case = _case_of(ref, case_id)
    fields = form_fields()
    raw = {"accept": fields.get("accept") == "yes", "reason": fields.get("reason") or None}
    days = int(current_app.config["CREDIT_CASE_DECISION_DAYS"])
    return _step(
        ref,
        "acceptance",
        AcceptanceInSchema(),
        {k: v for k, v in raw.items() if v is not None},
        lambda body: cases.accept(
            get_session(), case.id, body, user().actor, acting_authority(user()), days
        ),
    )


@console.route("/subjects/<ref>/cases/<int:case_id>/decision", methods=["POST"])
@page(*WRITERS)
def case_decide(ref: str, case_id: int) -> Any:
    case = _case_of(ref, case_id)
    raw = nest({k: v for k, v in form_fields().items() if k[:1] != "_"})
    raw["approve"] = raw.get("approve") == "yes"
    return _step(
        ref,
        "decision",
        DecisionInSchema(),
        raw,
        lambda body: cases.decide(
            get_session(), case.id, body, user().actor, acting_authority(user())
        ),
    )
