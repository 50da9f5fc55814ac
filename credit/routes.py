"""Credit API: subjects, relations, records, listings, credit view, eligibility, blacklist,
exchange; and the public, masked view (政务公开) under ``/api/v1/public``.

There are no PUT, PATCH or DELETE routes: the register is append-only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date

from flask import Response, request, stream_with_context

from credit import cases, gate, lifecycle, screening, services
from credit.eligibility import PURPOSES, eligibility_of
from credit.exchange import csv_encoding, detect_format, import_rows, read_feed, read_rows
from credit.identifiers import mask_name, mask_resident_id
from credit.models import Relation, Subject
from credit.schemas import (
    AsOfSchema,
    BlacklistPageSchema,
    BlacklistQuerySchema,
    ChangesPageSchema,
    ChangesQuerySchema,
    CreditViewSchema,
    EligibilitySchema,
    ImportResultSchema,
    LiftInSchema,
    ListingInSchema,
    ListingSchema,
    PublicBlacklistQuerySchema,
    PublicCreditSchema,
    RecordInSchema,
    RecordSchema,
    RelationInSchema,
    RelationSchema,
    RevocationInSchema,
    ScreeningInSchema,
    ScreeningResultSchema,
    SubjectDetailSchema,
    SubjectInSchema,
    SubjectQuerySchema,
    SubjectSchema,
    dump_listing,
    dump_record,
    dump_relation,
    dump_subject,
)
from credit.scope import SECTORS
from trading import clock
from trading.auth import access, acting_authority, principal
from trading.db import get_session
from trading.errors import ErrorSchema, Invalid, NotFound, ServiceError, documents_errors
from trading.idempotency import HEADER, idempotent
from trading.openapi import Blueprint, annotate, annotate_response
from trading.pagination import page_of, paginate
from trading.untrusted import accepts_upload

blp = Blueprint("credit", __name__, url_prefix="/api/v1", description="Subjects and credit")
public_blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public",
    description="Public credit view (政务公开), no token",
)


def _unmask() -> bool:
    """Only admin and regulator see resident ID numbers in full."""
    who = principal()
    return who is not None and who.role in ("admin", "regulator")


def _not_found_doc(func):
    return documents_errors(blp, {404: "Unknown subject or id"})(func)


# --- subjects ------------------------------------------------------------------------


@blp.route("/subjects", methods=["POST"])
@access(blp)
@blp.arguments(SubjectInSchema())
@blp.response(201, SubjectSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Identifier already registered")
def create_subject(body):
    """Register a subject (市场主体): an organisation by USCC or a person by ID number."""
    subject = services.create_subject(get_session(), body)
    return dump_subject(subject, unmask=_unmask())


@blp.route("/subjects", methods=["GET"])
@access(blp)
@blp.arguments(SubjectQuerySchema(), location="query")
@blp.response(200, page_of(SubjectSchema))
def list_subjects(args):
    """Find subjects by part of the name or the start of the USCC, and kind. A name is
    matched folded (width, traditional/simplified, brackets, spaces, legal form) and the
    answers ranked by similarity, best first, each with its ``score``."""
    session = get_session()
    q = (args.get("q") or "").strip()
    if q and not (q.isascii() and q.replace(" ", "").isalnum()):
        ranked = services.ranked_subjects(session, q, args.get("kind"))
        size = min(args["page_size"], 500)
        start = (args["page"] - 1) * size
        unmask = _unmask()
        items = []
        for subject, score in ranked[start : start + size]:
            items.append({**dump_subject(subject, unmask=unmask), "score": score})
        return {"items": items, "page": args["page"], "page_size": size, "total": len(ranked)}
    page = paginate(
        session,
        services.search_subjects(session, args.get("q"), args.get("kind")),
        args["page"],
        args["page_size"],
    )
    unmask = _unmask()
    page["items"] = [dump_subject(s, unmask=unmask) for s in page["items"]]
    return page


@blp.route("/subjects/<string:ref>", methods=["GET"])
@access(blp)
@blp.response(200, SubjectDetailSchema)
@_not_found_doc
def get_subject(ref: str):
    """A subject (by USCC or internal id) with its relations both ways."""
    session = get_session()
    subject = services.resolve_subject(session, ref)
    out = dump_subject(subject, unmask=_unmask())
    out["former_names"] = lifecycle.former_names(session, subject.id)
    from sqlalchemy import select

    names = dict(
        session.execute(
            select(Subject.id, Subject.name).where(
                Subject.id.in_(
                    select(Relation.other_id)
                    .where(Relation.subject_id == subject.id)
                    .union(select(Relation.subject_id).where(Relation.other_id == subject.id))
                )
            )
        ).all()
    )
    out["relations"] = [
        dump_relation(r, names.get(r.other_id))
        for r in session.scalars(
            select(Relation).where(Relation.subject_id == subject.id).order_by(Relation.id)
        )
    ]
    out["related_from"] = [
        dump_relation(r, names.get(r.subject_id))
        for r in session.scalars(
            select(Relation).where(Relation.other_id == subject.id).order_by(Relation.id)
        )
    ]
    return out


@blp.route("/subjects/<string:ref>/relations", methods=["POST"])
@access(blp)
@blp.arguments(RelationInSchema())
@blp.response(201, RelationSchema)
@_not_found_doc
def add_relation(body, ref: str):
    """Record that the subject *is* shareholder / subsidiary / legal rep / employee /
    relative / interest holder of ``other``."""
    session = get_session()
    subject = services.resolve_subject(session, ref)
    relation = services.add_relation(session, subject, body)
    return dump_relation(relation)


# --- records -------------------------------------------------------------------------


@blp.route("/subjects/<string:ref>/records", methods=["POST"])
@access(blp)
@blp.arguments(RecordInSchema())
@blp.response(201, RecordSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Source already applied")
@_not_found_doc
def add_record(body, ref: str):
    """Append a credit record; negative records need their legal basis."""
    session = get_session()
    subject = services.resolve_subject(session, ref)
    record = services.add_record(session, subject, body)
    return dump_record(record, "recorded")


@blp.route("/records/<int:record_id>", methods=["GET"])
@access(blp)
@blp.response(200, RecordSchema)
@_not_found_doc
def get_record(record_id: int):
    """One credit record, with its status today."""
    session = get_session()
    record = services.get_record(session, record_id)
    later = services.superseded_by(session, record)
    status = services.record_status(record, later, clock.today())
    return dump_record(record, status, later.id if later else None)


@blp.route("/records/<int:record_id>/revocations", methods=["POST"])
@access(blp)
@blp.arguments(RevocationInSchema())
@blp.response(201, RecordSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Already revoked or corrected")
@_not_found_doc
def revoke_record(body, record_id: int):
    """Revoke (撤销) or repair (信用修复) a record: a new event with its own basis."""
    event = services.revoke_record(
        get_session(), record_id, body, acting_authority=acting_authority(principal())
    )
    return dump_record(event, "recorded")


# --- listings ------------------------------------------------------------------------


@blp.route("/subjects/<string:ref>/listings", methods=["POST"])
@access(blp)
@blp.arguments(ListingInSchema())
@blp.response(201, ListingSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Source already applied")
@_not_found_doc
def list_subject(body, ref: str):
    """Put a subject on the blacklist or the abnormal list, with the basis and scope."""
    session = get_session()
    subject = services.resolve_subject(session, ref)
    listing = services.list_subject(session, subject, body)
    return dump_listing(listing, None, clock.today())


@blp.route("/listings/<int:listing_id>", methods=["GET"])
@access(blp)
@blp.response(200, ListingSchema)
@_not_found_doc
def get_listing(listing_id: int):
    """A listing with its lift, if any, and its status today."""
    session = get_session()
    listing = services.get_listing(session, listing_id)
    return dump_listing(listing, services.lift_of(session, listing), clock.today())


@blp.route("/listings/<int:listing_id>/lifts", methods=["POST"])
@access(blp)
@blp.arguments(LiftInSchema())
@blp.response(201, ListingSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Already lifted, or already ended")
@_not_found_doc
def lift_listing(body, listing_id: int):
    """Take a subject off a list, with the basis; a listing is lifted once."""
    session = get_session()
    lift = services.lift_listing(
        session, listing_id, body, acting_authority=acting_authority(principal())
    )
    listing = services.get_listing(session, listing_id)
    return dump_listing(listing, lift, clock.today())


# --- credit view and eligibility -----------------------------------------------------


def _credit_answer(
    subject: Subject, on: date, *, unmask: bool, known_on: date | None = None
) -> dict:
    view = services.credit_view(get_session(), subject, on, known_on)
    history = view.pop("history")
    view["subject"] = dump_subject(subject, unmask=unmask)
    view["records"] = [
        dump_record(r, status, later.id if later else None)
        for r, later, status in history["records"]
    ]
    view["listings"] = [dump_listing(x, lift, on) for x, lift, _status in history["listings"]]
    found = cases.subject_cases(get_session(), subject.id)
    disputed = cases.disputed_records(found)
    for record in view["records"]:
        record["disputed"] = record["id"] in disputed
    view["cases"] = [cases.dump_case(c, on) for c in found]
    return view


@blp.route("/subjects/<string:ref>/credit", methods=["GET"])
@access(blp)
@blp.arguments(AsOfSchema(), location="query")
@blp.response(200, CreditViewSchema)
@_not_found_doc
def credit(args, ref: str):
    """Score and grade on a date, each point with its rule, and the full history."""
    subject = services.resolve_subject(get_session(), ref)
    return _credit_answer(
        subject, args.get("as_of") or clock.today(), unmask=_unmask(), known_on=args.get("known_on")
    )


_ELIGIBILITY_PARAMETERS = [
    {
        "in": "query",
        "name": "purpose",
        "required": True,
        "schema": {"type": "string", "enum": list(PURPOSES)},
    },
    {
        "in": "query",
        "name": "sector",
        "required": False,
        "schema": {"type": "string", "enum": list(SECTORS)},
    },
    {
        "in": "query",
        "name": "region",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]{6}$"},
        "description": "GB/T 2260 code of where the act takes place",
    },
    {
        "in": "query",
        "name": "on",
        "required": False,
        "schema": {"type": "string", "format": "date"},
        "description": "Default: today",
    },
]


# One encoder for the gate's answers: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False)


@blp.route("/subjects/<string:ref>/eligibility", methods=["GET"])
@access(blp)
@annotate(parameters=_ELIGIBILITY_PARAMETERS)
@annotate_response(blp, 200, EligibilitySchema)
@documents_errors(blp, {422: "The question does not validate", 404: "Unknown subject or id"})
def subject_eligibility(ref: str):
    """May the subject bid / act as agency / sit as expert, in this sector and region, on
    this date? Yes or no, with every reason."""
    # The gate is the hottest path of the service, so the query string is read straight
    # from the environment (eligibility_of checks purpose, sector and region) and the
    # answer, already in the documented shape, is not passed through the schema again.
    args = request.args
    purpose, sector, region = args.get("purpose"), args.get("sector"), args.get("region")
    on = clock.today()
    if args.get("on"):
        try:
            on = date.fromisoformat(args["on"])
        except ValueError:
            raise Invalid({"on": ["must be an ISO 8601 date (YYYY-MM-DD)"]}) from None
    if not purpose:
        raise Invalid({"purpose": [f"is required: one of {', '.join(PURPOSES)}"]})
    subject_id, answer = gate.read(
        lambda reader: eligibility_of(reader, ref, purpose, sector, region, on)
    )
    if answer is None:
        raise NotFound(f"No subject {ref}.", rule="credit.subject_exists")
    body = answer.as_dict()
    body.update(
        subject=subject_id, purpose=purpose, sector=sector, region=region, on=on.isoformat()
    )
    # Serialised directly: the answer is plain JSON types and this is the hottest path.
    return Response(_JSON.encode(body), mimetype="application/json")


@blp.route("/eligibility", methods=["POST"])
@access(blp)
@blp.arguments(ScreeningInSchema())
@annotate_response(blp, 200, ScreeningResultSchema)
def screen_eligibility(body):
    """Batch screening: up to 1,000 subjects by USCC, ID number or name, each answered with
    its reasons, in a constant number of statements (names matched by their folded key)."""
    on = body.get("on") or clock.today()
    results = screening.screen(
        get_session(),
        body["subjects"],
        body["purpose"],
        body.get("sector"),
        body.get("region"),
        on,
    )
    answer = {
        "purpose": body["purpose"],
        "sector": body.get("sector"),
        "region": body.get("region"),
        "on": on.isoformat(),
        "results": results,
    }
    # Already plain JSON in the documented shape: a schema pass over 1,000 nested answers
    # would cost more than the statements that found them.
    return Response(_JSON.encode(answer), mimetype="application/json")


# --- blacklist -----------------------------------------------------------------------

CSV_COLUMNS = (
    "listing_id",
    "list",
    "subject_id",
    "subject_kind",
    "name",
    "uscc",
    "id_number",
    "sectors",
    "regions",
    "start",
    "end",
    "basis.authority",
    "basis.document_no",
    "basis.decided_on",
    "reason",
)
#: The same columns under Chinese headers (``headers=zh``), for people opening the file.
CSV_COLUMNS_ZH = (
    "名单编号",
    "名单类别",
    "主体编号",
    "主体类型",
    "名称",
    "统一社会信用代码",
    "身份证号",
    "适用行业",
    "适用地区",
    "列入日期",
    "截止日期",
    "认定机关",
    "决定文书号",
    "决定日期",
    "列入事由",
)


def _wants_csv(args: dict) -> bool:
    if args.get("format"):
        return args["format"] == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return (
        best == "text/csv"
        and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]
    )


def _csv_stream(stmt, unmask: bool, chinese: bool = False) -> Iterator[str]:
    session = get_session()
    buffer = io.StringIO()
    if chinese:
        buffer.write("\ufeff")  # spreadsheet programs then read the file as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS_ZH if chinese else CSV_COLUMNS)
    for listing, subject, _lift in session.execute(stmt.execution_options(yield_per=1000)):
        id_number = subject.id_number
        if id_number and not unmask:
            id_number = mask_resident_id(id_number)
        writer.writerow(
            (
                listing.id,
                listing.kind,
                subject.id,
                subject.kind,
                subject.name,
                subject.uscc or "",
                id_number or "",
                ";".join(c for c in listing.sectors.split(",") if c),
                ";".join(c for c in listing.regions.split(",") if c),
                listing.starts_on.isoformat(),
                listing.ends_on.isoformat() if listing.ends_on else "",
                listing.basis_authority,
                listing.basis_document_no,
                listing.basis_decided_on.isoformat(),
                listing.reason or "",
            )
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _blacklist_entry(listing, subject, lift, on: date, *, unmask: bool, public: bool) -> dict:
    entry = dump_listing(listing, lift, on)
    id_number = subject.id_number
    if id_number and not unmask:
        id_number = mask_resident_id(id_number)
    name = subject.name
    if public and subject.kind == "practitioner":
        name = mask_name(name)
    entry.update(
        subject_name=name,
        subject_uscc=subject.uscc,
        subject_id_number=id_number,
        subject_kind=subject.kind,
    )
    if public:
        for key in ("source", "created_at", "known_at"):
            entry.pop(key, None)
    return entry


@blp.route("/blacklist", methods=["GET"])
@access(blp)
@blp.arguments(BlacklistQuerySchema(), location="query")
@blp.response(200, BlacklistPageSchema)
@blp.doc(
    responses={
        "200": {
            "description": "JSON, paginated; or, with `Accept: text/csv` or `?format=csv`, "
            "every row as CSV, streamed.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BlacklistPage"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
)
def blacklist(args):
    """Listings in force on a date whose scope covers the sector and region."""
    on = args.get("on") or clock.today()
    stmt = services.listings_query(
        args.get("sector"), args.get("region"), on, args["list"], args.get("q")
    )
    unmask = _unmask()
    if _wants_csv(args):
        chinese = args.get("headers") == "zh"
        response = Response(
            stream_with_context(_csv_stream(stmt, unmask, chinese)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{args["list"]}-{on.isoformat()}.csv"'
        )
        return response
    page = paginate(get_session(), stmt, args["page"], args["page_size"], scalars=False)
    page["items"] = [
        _blacklist_entry(x, s, lift, on, unmask=unmask, public=False)
        for x, s, lift in page["items"]
    ]
    page["on"] = on
    return page


# --- exchange ------------------------------------------------------------------------


@blp.route("/exchange/imports", methods=["POST"])
@accepts_upload
@access(blp)
@idempotent(blp)
@blp.response(200, ImportResultSchema)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "description": "The exchange file itself (see credit.exchange for the row format).",
    }
)
@blp.alt_response(415, schema=ErrorSchema, description="Neither JSON Lines nor CSV")
@blp.alt_response(
    422, schema=ErrorSchema, description="Idempotency-Key reused with a different file"
)
def import_exchange():
    """Import an exchange file, streamed: good rows apply, bad rows come back with their
    line number and reasons, rows already applied count as duplicates."""
    fmt = detect_format(None, request.content_type)
    if fmt is None:
        raise _UnsupportedMediaType(
            "Send the file as application/x-ndjson (JSON Lines) or text/csv.",
            errors={"Content-Type": ["must be application/x-ndjson or text/csv"]},
            rule="credit.exchange_format",
        )
    # With an Idempotency-Key the body was already read (and hashed) by ``idempotent``;
    # without one it is streamed, never held in memory.
    body = io.BytesIO(request.get_data()) if request.headers.get(HEADER) else request.stream
    encoding = csv_encoding(request.content_type) if fmt == "csv" else "utf-8"
    if encoding is None:
        raise _UnsupportedMediaType(
            "A CSV file is read as UTF-8 or, when declared (charset=gbk), GBK/GB 18030.",
            errors={"Content-Type": ["charset must be utf-8, gbk, gb2312 or gb18030"]},
            rule="credit.exchange_charset",
        )
    result = import_rows(get_session(), read_rows(body, fmt, encoding))
    return result.as_dict()


class _UnsupportedMediaType(ServiceError):
    code = 415


@blp.route("/exchange/changes", methods=["GET"])
@access(blp)
@blp.arguments(ChangesQuerySchema(), location="query")
@blp.response(200, ChangesPageSchema)
def exchange_changes(args):
    """Every change after the cursor, each as an import row: poll with ``after=next``."""
    return read_feed(get_session(), args["after"], args["limit"], unmask=_unmask())


# --- public (政务公开) ------------------------------------------------------------------


@public_blp.route("/subjects/<string:uscc>/credit", methods=["GET"])
@access(public_blp)
@public_blp.response(200, PublicCreditSchema)
@public_blp.alt_response(404, schema=ErrorSchema, description="No organisation with this USCC")
def public_credit(uscc: str):
    """An organisation's credit today: only records and listings in their publicity period."""
    session = get_session()
    ref = uscc.strip().upper()
    subject = services.find_subject(session, ref) if len(ref) == 18 else None
    if subject is None or subject.uscc != ref:
        raise NotFound("No organisation with this USCC.", rule="credit.subject_exists")
    today = clock.today()
    view = _credit_answer(subject, today, unmask=False)
    active = set(view.pop("active_records")) | set(view.pop("active_listings"))
    view["subject"] = dump_subject(subject, public=True)
    view["records"] = [
        _public_record(r) for r in view["records"] if r["status"] == "active" and r["id"] in active
    ]
    view["listings"] = [_public_listing(x) for x in view["listings"] if x["status"] == "active"]
    # The public page is read in Chinese (政务公开): each point's explanation in Chinese.
    view["points"] = [{**p, "message": p["message_zh"]} for p in view["points"]]
    return view


def _public_record(record: dict) -> dict:
    return {
        k: v
        for k, v in record.items()
        if k not in ("source", "created_at", "known_at", "superseded_by")
    }


def _public_listing(listing: dict) -> dict:
    return {k: v for k, v in listing.items() if k not in ("source", "created_at", "known_at")}


@public_blp.route("/blacklist", methods=["GET"])
@access(public_blp)
@public_blp.arguments(PublicBlacklistQuerySchema(), location="query")
@public_blp.response(200, BlacklistPageSchema)
def public_blacklist(args):
    """The blacklist (or, with ``list=abnormal``, the abnormal list) in force today;
    personal names and ID numbers masked, and a name search never matches a person (it
    would confirm whose masked name it is)."""
    today = clock.today()
    stmt = services.listings_query(
        args.get("sector"), args.get("region"), today, args["list"], args.get("q"), public=True
    )
    page = paginate(get_session(), stmt, args["page"], args["page_size"], scalars=False)
    page["items"] = [
        _blacklist_entry(x, s, lift, today, unmask=False, public=True)
        for x, s, lift in page["items"]
    ]
    page["on"] = today
    return page
