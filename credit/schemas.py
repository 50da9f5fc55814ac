"""The wire format of the credit API (marshmallow): request bodies, query strings, answers.

Request schemas check types; the rules (identifiers, publicity periods, bases) live in
:mod:`credit.validate` and :mod:`credit.services`, which the exchange import shares.
Answers are built by the ``dump_*`` functions (which mask what the caller may not see) and
described by the schemas below for the OpenAPI document.
"""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import fields, validate

from credit.case_schemas import CaseSchema
from credit.categories import CATEGORIES
from credit.eligibility import PURPOSES
from credit.identifiers import mask_resident_id
from credit.models import (
    LIST_KINDS,
    RELATION_KINDS,
    SUBJECT_KINDS,
    CreditRecord,
    Listing,
    ListingLift,
    Relation,
    Subject,
)
from credit.scope import SECTORS, unpack
from trading.db import MAX_CURSOR
from trading.fields import Day, UtcDateTime
from trading.pagination import PageArgs

_CATEGORY_HELP = "Code or Chinese name: " + ", ".join(
    f"{c.code} ({c.name})" for c in CATEGORIES.values()
)


# --- request bodies ------------------------------------------------------------------


def flatten_errors(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """``{"basis": {"document_no": [..]}}`` -> ``{"basis.document_no": [..]}``: one shape
    for every field reason, whether marshmallow or the rules found it (and the names of
    the CSV exchange columns)."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_errors(value, f"{name}."))
        elif isinstance(value, list):
            flat.setdefault(name, []).extend(str(v) for v in value)
        else:
            flat.setdefault(name, []).append(str(value))
    return flat


class Body(ma.Schema):
    """A request body: nested field errors are reported under dotted names."""

    def handle_error(self, error: ma.ValidationError, data, *, many: bool, **kwargs):
        if isinstance(error.messages, dict):
            raise ma.ValidationError(flatten_errors(error.messages)) from error
        raise error


class ExchangeSourceSchema(ma.Schema):
    platform = fields.String(required=True, validate=validate.Length(1, 60))
    id = fields.Raw(required=True, metadata={"description": "Id on that platform (text)"})


class LegalBasisSchema(ma.Schema):
    """The legal basis of a decision (处理决定): who decided, the document, when."""

    authority = fields.String(required=True, metadata={"example": "北京市住房和城乡建设委员会"})
    document_no = fields.String(required=True, metadata={"example": "京建法罚〔2024〕15号"})
    decided_on = Day(required=True)


class SubjectInSchema(Body):
    kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    name = fields.String(required=True)
    uscc = fields.String(metadata={"description": "统一社会信用代码, for organisations"})
    id_number = fields.String(metadata={"description": "居民身份证号, for practitioners"})
    region = fields.String(
        metadata={"description": "GB/T 2260 code; defaults to the identifier's region"}
    )
    source = fields.Nested(ExchangeSourceSchema)


class SubjectQuerySchema(PageArgs):
    q = fields.String(metadata={"description": "Part of the name, or the start of a USCC"})
    kind = fields.String(validate=validate.OneOf(SUBJECT_KINDS))


class RelationInSchema(Body):
    kind = fields.String(required=True, validate=validate.OneOf(RELATION_KINDS))
    other = fields.Raw(required=True, metadata={"description": "USCC, ID number or internal id"})
    share = fields.Decimal(
        as_string=True, metadata={"description": "Percentage held, above 0 and at most 100"}
    )
    start = Day()
    end = Day()
    note = fields.String()
    source = fields.Nested(ExchangeSourceSchema)


class RecordInSchema(Body):
    polarity = fields.String(required=True, validate=validate.OneOf(["negative", "positive"]))
    category = fields.String(required=True, metadata={"description": _CATEGORY_HELP})
    severity = fields.String(
        metadata={
            "description": "minor (轻微, ≤3 months), general (一般, 3–12 months), "
            "serious (严重, 1–3 years); negative records only"
        }
    )
    description = fields.String()
    basis = fields.Nested(
        LegalBasisSchema, metadata={"description": "Required for negative records"}
    )
    effective_from = Day(metadata={"description": "Default: basis.decided_on"})
    effective_to = Day(
        metadata={"description": "Inclusive; default: the longest period of the severity"}
    )
    source = fields.Nested(ExchangeSourceSchema)
    corrects = fields.Integer(metadata={"description": "Id of the record this one corrects"})


class RevocationInSchema(Body):
    basis = fields.Nested(LegalBasisSchema, required=True)
    on = Day(
        metadata={"description": "First day the record no longer counts; default basis.decided_on"}
    )
    kind = fields.String(
        load_default="revocation",
        validate=validate.OneOf(["revocation", "repair"]),
        metadata={"description": "revocation (撤销) or repair (信用修复)"},
    )
    reason = fields.String()
    source = fields.Nested(ExchangeSourceSchema)


class ListingInSchema(Body):
    list = fields.String(required=True, validate=validate.OneOf(LIST_KINDS))
    basis = fields.Nested(LegalBasisSchema, required=True)
    start = Day(metadata={"description": "Default: basis.decided_on"})
    end = Day(metadata={"description": "Inclusive; none means until lifted"})
    sectors = fields.List(
        fields.String(metadata={"enum": [*SECTORS]}),
        metadata={"description": "Sectors the listing applies to; none: all"},
    )
    regions = fields.List(
        fields.String(),
        metadata={
            "description": "GB/T 2260 codes (a province or prefecture covers the "
            "codes below it); none: national"
        },
    )
    reason = fields.String()
    source = fields.Nested(ExchangeSourceSchema)


class LiftInSchema(Body):
    basis = fields.Nested(LegalBasisSchema, required=True)
    on = Day(metadata={"description": "First day off the list; default basis.decided_on"})
    reason = fields.String()
    source = fields.Nested(ExchangeSourceSchema)


class AsOfSchema(ma.Schema):
    as_of = Day(metadata={"description": "What was true on this day. Default: today"})
    known_on = Day(
        metadata={
            "description": "What the register said at the end of this day (China time): "
            "rows it learned of later are left out. Default: everything known now"
        }
    )


class EligibilityQuerySchema(ma.Schema):
    """The eligibility question (the HTTP gate reads it by hand, see credit.routes)."""

    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    sector = fields.String(validate=validate.OneOf(SECTORS))
    region = fields.String(validate=validate.Regexp(r"^[0-9]{6}$"))
    on = Day(metadata={"description": "Default: today"})


class ScreeningInSchema(ma.Schema):
    """Batch screening: up to 1,000 subjects by USCC, resident ID number or name."""

    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    sector = fields.String(validate=validate.OneOf(SECTORS))
    region = fields.String(validate=validate.Regexp(r"^[0-9]{6}$"))
    on = Day(metadata={"description": "Default: today"})
    subjects = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "USCCs, ID numbers (18 or 15 digits) or names, in any mix"},
    )


class ScreenedSubjectSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    uscc = fields.String(allow_none=True)
    score = fields.Float(metadata={"description": "Name similarity 0-100 (rapidfuzz)"})
    eligible = fields.Boolean()
    reasons = fields.List(fields.Dict())


class ScreeningAnswerSchema(ma.Schema):
    ref = fields.String()
    matched_by = fields.String(metadata={"description": "uscc, id_number or name"})
    found = fields.Boolean()
    eligible = fields.Boolean(
        allow_none=True, metadata={"description": "None: not found or ambiguous"}
    )
    reasons = fields.List(fields.Dict())
    subjects = fields.List(fields.Nested(ScreenedSubjectSchema))


class ScreeningResultSchema(ma.Schema):
    purpose = fields.String()
    sector = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    on = Day()
    results = fields.List(fields.Nested(ScreeningAnswerSchema))


class BlacklistQuerySchema(PageArgs):
    sector = fields.String(validate=validate.OneOf(SECTORS))
    region = fields.String(validate=validate.Regexp(r"^[0-9]{6}$"))
    on = Day(metadata={"description": "Default: today"})
    list = fields.String(load_default="blacklist", validate=validate.OneOf(LIST_KINDS))
    q = fields.String(metadata={"description": "Part of the name, or the start of a USCC"})
    format = fields.String(validate=validate.OneOf(["json", "csv"]))
    headers = fields.String(
        load_default="code",
        validate=validate.OneOf(["code", "zh"]),
        metadata={"description": "CSV column headers: field codes, or Chinese (zh)"},
    )


class PublicBlacklistQuerySchema(PageArgs):
    sector = fields.String(validate=validate.OneOf(SECTORS))
    region = fields.String(validate=validate.Regexp(r"^[0-9]{6}$"))
    list = fields.String(load_default="blacklist", validate=validate.OneOf(LIST_KINDS))
    q = fields.String(
        metadata={
            "description": "Part of an organisation's name, or the start of a USCC; "
            "persons' names are masked and not searchable"
        }
    )


class ChangesQuerySchema(ma.Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_CURSOR),
        metadata={"description": "Cursor: changes after this one"},
    )
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


# --- answers -------------------------------------------------------------------------


class FormerNameSchema(ma.Schema):
    name = fields.String(required=True)
    until = fields.Date(required=True, metadata={"description": "Last day of this name"})
    reason = fields.String(allow_none=True)


class SubjectSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    uscc = fields.String(allow_none=True)
    id_number = fields.String(
        allow_none=True, metadata={"description": "Masked except for admin and regulator"}
    )
    region = fields.String()
    source = fields.Dict(allow_none=True)
    score = fields.Float(
        metadata={"description": "Name similarity 0-100, in a search by name (rapidfuzz)"}
    )
    created_at = UtcDateTime()
    ended_on = fields.Date(
        allow_none=True, metadata={"description": "Deregistered or revoked on (注销/吊销)"}
    )
    end_kind = fields.String(allow_none=True, metadata={"enum": ["deregistered", "revoked"]})
    former_names = fields.List(
        fields.Nested(FormerNameSchema), metadata={"description": "曾用名, newest first"}
    )


class RelationSchema(ma.Schema):
    id = fields.Integer()
    subject = fields.Integer()
    kind = fields.String()
    other = fields.Integer()
    other_name = fields.String()
    share = fields.String(allow_none=True)
    start = Day(allow_none=True)
    end = Day(allow_none=True)
    note = fields.String(allow_none=True)
    source = fields.Dict(allow_none=True)


class SubjectDetailSchema(SubjectSchema):
    relations = fields.List(fields.Nested(RelationSchema))
    related_from = fields.List(fields.Nested(RelationSchema))


class LegalBasisOutSchema(ma.Schema):
    authority = fields.String()
    document_no = fields.String()
    decided_on = Day()


class RecordSchema(ma.Schema):
    id = fields.Integer()
    disputed = fields.Boolean(
        metadata={"description": "Under an open objection (异议申诉): shown as disputed"}
    )
    subject = fields.Integer()
    event = fields.String(metadata={"description": "record, correction, revocation or repair"})
    refers_to = fields.Integer(allow_none=True)
    polarity = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    category_name = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    basis = fields.Nested(LegalBasisOutSchema, allow_none=True)
    effective_from = Day()
    effective_to = Day(allow_none=True)
    source = fields.Dict()
    created_at = UtcDateTime()
    known_at = UtcDateTime(metadata={"description": "When this register learned of it"})
    status = fields.String(
        metadata={
            "description": "On the date asked: pending, active, "
            "expired, revoked, repaired, corrected (records only)"
        }
    )
    superseded_by = fields.Integer(allow_none=True)


class LiftSchema(ma.Schema):
    id = fields.Integer()
    listing = fields.Integer()
    on = Day()
    reason = fields.String(allow_none=True)
    basis = fields.Nested(LegalBasisOutSchema)
    source = fields.Dict()
    created_at = UtcDateTime()
    known_at = UtcDateTime(metadata={"description": "When this register learned of it"})


class ListingSchema(ma.Schema):
    id = fields.Integer()
    subject = fields.Integer()
    list = fields.String()
    sectors = fields.List(fields.String())
    regions = fields.List(fields.String())
    start = Day()
    end = Day(allow_none=True)
    reason = fields.String(allow_none=True)
    basis = fields.Nested(LegalBasisOutSchema)
    source = fields.Dict()
    created_at = UtcDateTime()
    known_at = UtcDateTime(metadata={"description": "When this register learned of it"})
    lift = fields.Nested(LiftSchema, allow_none=True)
    status = fields.String(metadata={"description": "pending, active, ended or lifted"})


class BlacklistEntrySchema(ListingSchema):
    subject_name = fields.String()
    subject_uscc = fields.String(allow_none=True)
    subject_id_number = fields.String(allow_none=True)
    subject_kind = fields.String()


class BlacklistPageSchema(ma.Schema):
    items = fields.List(fields.Nested(BlacklistEntrySchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    on = Day()


class EligibilityReasonSchema(ma.Schema):
    rule = fields.String()
    message = fields.String()
    ref = fields.Dict(allow_none=True)


class EligibilitySchema(ma.Schema):
    eligible = fields.Boolean(required=True)
    reasons = fields.List(fields.Nested(EligibilityReasonSchema), required=True)
    subject = fields.Integer()
    purpose = fields.String()
    sector = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    on = Day()


class CreditPointSchema(ma.Schema):
    rule = fields.String()
    points = fields.Integer()
    message = fields.String()
    ref = fields.Dict(allow_none=True)


class CreditViewSchema(ma.Schema):
    subject = fields.Nested(SubjectSchema)
    as_of = Day()
    known_on = Day(allow_none=True)
    score = fields.Integer()
    grade = fields.String()
    points = fields.List(fields.Nested(CreditPointSchema))
    active_records = fields.List(fields.Integer())
    active_listings = fields.List(fields.Integer())
    records = fields.List(fields.Nested(RecordSchema))
    listings = fields.List(fields.Nested(ListingSchema))
    cases = fields.List(
        fields.Nested(CaseSchema),
        metadata={"description": "Repair applications and objections, every step"},
    )


class PublicCreditSchema(ma.Schema):
    subject = fields.Nested(SubjectSchema)
    as_of = Day()
    score = fields.Integer()
    grade = fields.String()
    points = fields.List(fields.Nested(CreditPointSchema))
    records = fields.List(fields.Nested(RecordSchema))
    listings = fields.List(fields.Nested(ListingSchema))


class RejectedRowSchema(ma.Schema):
    line = fields.Integer()
    errors = fields.Dict()


class ImportResultSchema(ma.Schema):
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    duplicate_lines = fields.List(
        fields.Integer(), metadata={"description": "Lines counted as duplicates (first 1,000)"}
    )
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)
    rejected_total = fields.Integer()
    lines = fields.Integer()


class CreditChangeSchema(ma.Schema):
    cursor = fields.Integer()
    at = UtcDateTime()
    type = fields.String()
    data = fields.Dict(metadata={"description": "The row in the exchange file format"})


class ChangesPageSchema(ma.Schema):
    items = fields.List(fields.Nested(CreditChangeSchema))
    next = fields.Integer(metadata={"description": "Cursor to ask for next (after=)"})
    more = fields.Boolean()


# --- dumping -------------------------------------------------------------------------


def _basis(obj) -> dict | None:
    if obj.basis_authority is None:
        return None
    return {
        "authority": obj.basis_authority,
        "document_no": obj.basis_document_no,
        "decided_on": obj.basis_decided_on,
    }


def dump_subject(subject: Subject, *, unmask: bool = False, public: bool = False) -> dict:
    id_number = subject.id_number
    if id_number and not unmask:
        id_number = mask_resident_id(id_number)
    out = {
        "id": subject.id,
        "kind": subject.kind,
        "name": subject.name,
        "uscc": subject.uscc,
        "id_number": id_number,
        "region": subject.region,
    }
    if public:
        from credit.identifiers import mask_name

        if subject.kind == "practitioner":
            out["name"] = mask_name(subject.name)
        return out
    out["source"] = (
        {"platform": subject.source_platform, "id": subject.source_id}
        if subject.source_platform
        else None
    )
    out["created_at"] = subject.created_at
    out["ended_on"], out["end_kind"] = subject.ended_on, subject.end_kind
    return out


def dump_relation(relation: Relation, other_name: str | None = None) -> dict:
    return {
        "id": relation.id,
        "subject": relation.subject_id,
        "kind": relation.kind,
        "other": relation.other_id,
        "other_name": other_name,
        "share": None if relation.share is None else format(relation.share.normalize(), "f"),
        "start": relation.start,
        "end": relation.end,
        "note": relation.note,
        "source": (
            {"platform": relation.source_platform, "id": relation.source_id}
            if relation.source_platform
            else None
        ),
    }


def dump_record(
    record: CreditRecord, status: str | None = None, superseded_by: int | None = None
) -> dict:
    cat = CATEGORIES.get(record.category or "")
    return {
        "id": record.id,
        "subject": record.subject_id,
        "event": record.event,
        "refers_to": record.refers_to_id,
        "polarity": record.polarity,
        "category": record.category,
        "category_name": cat.name if cat else None,
        "severity": record.severity,
        "description": record.description,
        "basis": _basis(record),
        "effective_from": record.effective_from,
        "effective_to": record.effective_to,
        "source": {"platform": record.source_platform, "id": record.source_id},
        "created_at": record.created_at,
        "known_at": record.created_at,
        "status": status,
        "superseded_by": superseded_by,
    }


def dump_lift(lift: ListingLift) -> dict:
    return {
        "id": lift.id,
        "listing": lift.listing_id,
        "on": lift.lifted_on,
        "reason": lift.reason,
        "basis": _basis(lift),
        "source": {"platform": lift.source_platform, "id": lift.source_id},
        "created_at": lift.created_at,
        "known_at": lift.created_at,
    }


def dump_listing(listing: Listing, lift: ListingLift | None, on: date) -> dict:
    from credit.services import listing_status

    return {
        "id": listing.id,
        "subject": listing.subject_id,
        "list": listing.kind,
        "sectors": unpack(listing.sectors),
        "regions": unpack(listing.regions),
        "start": listing.starts_on,
        "end": listing.ends_on,
        "reason": listing.reason,
        "basis": _basis(listing),
        "source": {"platform": listing.source_platform, "id": listing.source_id},
        "created_at": listing.created_at,
        "known_at": listing.created_at,
        "lift": dump_lift(lift) if lift else None,
        "status": listing_status(listing, lift, on),
    }
