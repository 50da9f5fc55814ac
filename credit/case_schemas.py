"""The wire shape of a credit case (repair application or objection)."""

from __future__ import annotations

import marshmallow as ma

from trading.fields import UtcDateTime

STATES = ("submitted", "accepted", "refused", "approved", "rejected")


class CaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    record = ma.fields.Integer(required=True)
    subject = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(STATES))
    applicant = ma.fields.Dict(required=True)
    grounds = ma.fields.String(allow_none=True)
    commitment = ma.fields.Dict(allow_none=True)
    proofs = ma.fields.List(ma.fields.Dict(), required=True)
    authority = ma.fields.String(allow_none=True, metadata={"description": "Who decides"})
    submitted_at = UtcDateTime(required=True)
    accepted_on = ma.fields.Date(allow_none=True)
    decision_due = ma.fields.Date(allow_none=True)
    overdue = ma.fields.Boolean(required=True)
    decided_at = UtcDateTime(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    outcome_record = ma.fields.Integer(
        allow_none=True, metadata={"description": "The repair or revocation written"}
    )
