"""Renames (曾用名 kept) and the end of an organisation (注销/吊销)."""

from __future__ import annotations

import marshmallow as ma

from credit import lifecycle, services
from credit.schemas import LegalBasisSchema, SubjectSchema, dump_subject
from trading.auth import access
from trading.db import get_session
from trading.errors import ErrorSchema
from trading.fields import Day
from trading.idempotency import idempotent
from trading.openapi import Blueprint

blp = Blueprint(
    "credit_lifecycle",
    __name__,
    url_prefix="/api/v1",
    description="A subject's renames and the end of an organisation",
)


class RenameInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    on = Day(metadata={"description": "First day of the new name; default today"})
    reason = ma.fields.String(validate=ma.validate.Length(max=2000))


class EndInSchema(ma.Schema):
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(lifecycle.END_KINDS),
        metadata={"description": "deregistered (注销) or revoked (吊销)"},
    )
    on = Day(required=True)
    basis = ma.fields.Nested(LegalBasisSchema, required=True)


@blp.route("/subjects/<string:ref>/renames", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(RenameInSchema)
@blp.response(201, SubjectSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such subject")
def rename_subject(data, ref: str):
    """Rename a subject; the old name stays searchable as a former name (曾用名)."""
    session = get_session()
    subject = lifecycle.rename(session, services.resolve_subject(session, ref), data)
    return {**dump_subject(subject), "former_names": lifecycle.former_names(session, subject.id)}


@blp.route("/subjects/<string:ref>/end", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(EndInSchema)
@blp.response(201, SubjectSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such subject")
@blp.alt_response(409, schema=ErrorSchema, description="Already ended")
def end_subject(data, ref: str):
    """Record an organisation's deregistration (注销) or revocation (吊销) from a date."""
    session = get_session()
    subject = lifecycle.end(session, services.resolve_subject(session, ref), data)
    return dump_subject(subject)
