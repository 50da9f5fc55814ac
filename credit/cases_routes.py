"""Repair applications (信用修复) and objections (异议申诉): filing, acceptance, decision."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from credit import cases
from credit.case_schemas import CaseSchema
from credit.schemas import LegalBasisSchema
from trading.auth import access, acting_authority, principal
from trading.db import get_session
from trading.errors import ErrorSchema
from trading.idempotency import idempotent
from trading.openapi import Blueprint

blp = Blueprint(
    "credit_cases",
    __name__,
    url_prefix="/api/v1",
    description="Credit repair applications and objections, step by step",
)


class DocumentSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    sha256 = ma.fields.String(
        required=True, metadata={"description": "SHA-256 of the document's file, hex"}
    )


class ApplicantSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    contact = ma.fields.String(validate=ma.validate.Length(max=200))


class CaseInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(cases.KINDS))
    applicant = ma.fields.Nested(ApplicantSchema, required=True)
    grounds = ma.fields.String(
        validate=ma.validate.Length(max=4000),
        metadata={"description": "Objection: why the record is wrong"},
    )
    commitment = ma.fields.Nested(
        DocumentSchema, metadata={"description": "Repair: the credit commitment (信用承诺书)"}
    )
    proofs = ma.fields.List(
        ma.fields.Nested(DocumentSchema),
        metadata={
            "description": "Repair: proof the obligations were fulfilled; objection: evidence"
        },
    )


class AcceptanceInSchema(ma.Schema):
    accept = ma.fields.Boolean(required=True)
    reason = ma.fields.String(validate=ma.validate.Length(max=4000))


class DecisionInSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True)
    basis = ma.fields.Nested(
        LegalBasisSchema, metadata={"description": "Required to approve: the decision document"}
    )
    reason = ma.fields.String(validate=ma.validate.Length(max=4000))

    @ma.validates_schema
    def _basis_to_approve(self, data, **_kwargs):
        if data.get("approve") and not data.get("basis"):
            raise ma.ValidationError("an approval names its decision document", "basis")


@blp.route("/records/<int:record_id>/cases", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(CaseInSchema)
@blp.response(201, CaseSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such record")
@blp.alt_response(409, schema=ErrorSchema, description="Too early, already open, superseded")
def file_case(data, record_id):
    """File a repair application or an objection (on the applicant's behalf)."""
    return cases.dump_case(cases.submit(get_session(), record_id, data, principal().actor))


@blp.route("/credit-cases/<int:case_id>", methods=["GET"])
@access(blp)
@blp.response(200, CaseSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such case")
def get_case(case_id):
    """A case and where it stands."""
    return cases.dump_case(cases.get_case(get_session(), case_id))


@blp.route("/credit-cases/<int:case_id>/acceptance", methods=["POST"])
@access(blp)
@blp.arguments(AcceptanceInSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not the deciding authority")
@blp.alt_response(409, schema=ErrorSchema, description="Not submitted")
def accept_case(data, case_id):
    """Accept (受理) or refuse (不予受理) a case: the deciding authority only."""
    who = principal()
    case = cases.accept(
        get_session(),
        case_id,
        data,
        who.actor,
        acting_authority(who),
        int(current_app.config["CREDIT_CASE_DECISION_DAYS"]),
    )
    return cases.dump_case(case)


@blp.route("/credit-cases/<int:case_id>/decision", methods=["POST"])
@access(blp)
@blp.arguments(DecisionInSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Not the deciding authority")
@blp.alt_response(409, schema=ErrorSchema, description="Not accepted")
def decide_case(data, case_id):
    """Approve (the repair or revocation is written) or reject, with the reason."""
    who = principal()
    case = cases.decide(get_session(), case_id, data, who.actor, acting_authority(who))
    return cases.dump_case(case)
