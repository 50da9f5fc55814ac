"""The credit register (信用档案) for regulators, auditors and centres: subject search, a
subject's credit page with the timeline of its records and listing moves, the blacklist
with filters and CSV export; and for regulators the forms that append records, listings,
lifts and revocations (each insisting on its legal basis), and the exchange import job.

Every rule is the credit service's: the forms are read by the API's schemas and handed to
``credit.services``, which refuses what lacks a basis and says why, field by field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import marshmallow as ma
from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select

from credit import services as credit
from credit.categories import CATEGORIES
from credit.eligibility import PURPOSES, eligibility
from credit.exchange import detect_format
from credit.identifiers import mask_resident_id
from credit.models import LIST_KINDS, SUBJECT_KINDS, Relation, Subject
from credit.schemas import (
    BlacklistQuerySchema,
    LiftInSchema,
    ListingInSchema,
    RecordInSchema,
    RevocationInSchema,
    dump_listing,
    dump_record,
    dump_relation,
    dump_subject,
)
from credit.scope import SECTORS
from trading import clock, jobs
from trading.auth import acting_authority, principal
from trading.console.blueprint import console, translate
from trading.console.forms import (
    flatten_errors,
    form_fields,
    nest,
    page_number,
    query_args,
    refusal,
)
from trading.console.signin import page, user
from trading.db import get_session
from trading.errors import NotFound, ServiceError
from trading.pagination import paginate
from trading.permissions import CREDIT_KEEPERS, CREDIT_READERS
from trading.untrusted import accepts_upload

PAGE_SIZE = 50
# The same roles as the API's credit operations (trading/permissions.py).
READERS = CREDIT_READERS
WRITERS = CREDIT_KEEPERS
_SPLIT_LISTS = ("sectors", "regions")


def _unmask() -> bool:
    """Only admin and regulator see resident ID numbers in full (as in the API)."""
    return user().role in ("admin", "regulator")


def _may_write() -> bool:
    return user().role in (*WRITERS, "admin")


@console.route("/subjects")
@page(*READERS)
def subjects() -> Any:
    q = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind") if request.args.get("kind") in SUBJECT_KINDS else None
    session = get_session()
    result = paginate(
        session, credit.search_subjects(session, q or None, kind), page_number(), PAGE_SIZE
    )
    unmask = _unmask()
    result["items"] = [dump_subject(s, unmask=unmask) for s in result["items"]]
    return render_template(
        "console/credit/subjects.html", result=result, q=q, kind=kind, kinds=SUBJECT_KINDS
    )


def timeline(records: list[dict], listings: list[dict]) -> list[dict[str, Any]]:
    """Every event of a subject's file, newest first: records, listings and their lifts."""
    events: list[dict[str, Any]] = []
    for record in records:
        events.append({"on": record["effective_from"], "type": "record", "item": record})
    for listing in listings:
        events.append({"on": listing["start"], "type": "listing", "item": listing})
        if listing.get("lift"):
            events.append({"on": listing["lift"]["on"], "type": "lift", "item": listing})
    events.sort(key=lambda e: (e["on"], e["type"] != "lift", e["item"]["id"]), reverse=True)
    return events


def _relations(session, subject: Subject) -> tuple[list[dict], list[dict]]:
    related = (
        select(Relation.other_id)
        .where(Relation.subject_id == subject.id)
        .union(select(Relation.subject_id).where(Relation.other_id == subject.id))
    )
    names = dict(
        session.execute(select(Subject.id, Subject.name).where(Subject.id.in_(related))).all()
    )
    outgoing = [
        dump_relation(r, names.get(r.other_id))
        for r in session.scalars(
            select(Relation)
            .where(Relation.subject_id == subject.id)
            .order_by(Relation.id)
            .limit(200)
        )
    ]
    incoming = [
        dump_relation(r, names.get(r.subject_id))
        for r in session.scalars(
            select(Relation).where(Relation.other_id == subject.id).order_by(Relation.id).limit(200)
        )
    ]
    return outgoing, incoming


def _eligibility_check(session, subject: Subject) -> tuple[dict | None, dict]:
    """The eligibility question asked in the query string, answered by the credit rules."""
    purpose = request.args.get("purpose")
    if not purpose:
        return None, {}
    try:
        on = date.fromisoformat(request.args["on"]) if request.args.get("on") else clock.today()
    except ValueError:
        return None, {"on": ["must be a date (YYYY-MM-DD)"]}
    try:
        answer = eligibility(
            session,
            subject,
            purpose,
            request.args.get("sector") or None,
            request.args.get("region") or None,
            on,
        )
    except ServiceError as error:
        return None, refusal(error)
    return answer.as_dict(), {}


def _as_of() -> date:
    try:
        return date.fromisoformat(request.args.get("as_of", ""))
    except ValueError:
        return clock.today()


def _subject_page(
    ref: str,
    errors: dict | None = None,
    form: dict | None = None,
    which: str | None = None,
    code: int = 200,
) -> Any:
    session = get_session()
    subject = credit.resolve_subject(session, ref)
    on = _as_of()
    view = credit.credit_view(session, subject, on)
    history = view.pop("history")
    records = [
        dump_record(r, status, later.id if later else None)
        for r, later, status in history["records"]
    ]
    listings = [dump_listing(x, lift, on) for x, lift, _status in history["listings"]]
    outgoing, incoming = _relations(session, subject)
    check, check_errors = _eligibility_check(session, subject)
    from credit import cases as credit_cases

    found_cases = credit_cases.subject_cases(session, subject.id)
    disputed = credit_cases.disputed_records(found_cases)
    for record in records:
        record["disputed"] = record["id"] in disputed
    return (
        render_template(
            "console/credit/subject.html",
            subject=dump_subject(subject, unmask=_unmask()),
            ref=credit.subject_ref(subject) if _unmask() or subject.uscc else str(subject.id),
            view=view,
            on=on,
            records=records,
            listings=listings,
            events=timeline(records, listings),
            outgoing=outgoing,
            incoming=incoming,
            may_write=_may_write(),
            errors=errors or {},
            form=form or {},
            which=which,
            categories=CATEGORIES.values(),
            list_kinds=LIST_KINDS,
            sectors=SECTORS,
            purposes=PURPOSES,
            check=check,
            check_errors=check_errors,
            cases=[credit_cases.dump_case(c) for c in found_cases],
            case_records=[
                r
                for r in records
                if r["event"] in ("record", "correction") and not r["superseded_by"]
            ],
        ),
        code,
    )


@console.route("/subjects/<ref>")
@page(*READERS)
def subject(ref: str) -> Any:
    return _subject_page(ref)


def _write(ref: str, which: str, schema: ma.Schema, apply) -> Any:
    """Read a form with the API's schema, apply it through the service, or show why not."""
    fields = form_fields()
    # Fields named with a leading "_" say which form of the page was sent, not what it says.
    raw = nest({k: v for k, v in fields.items() if k not in _SPLIT_LISTS and k[:1] != "_"})
    for name in _SPLIT_LISTS:
        values = [v for v in request.form.getlist(name) if v.strip()]
        values = [
            part.strip() for v in values for part in v.replace("，", ",").split(",") if part.strip()
        ]
        if values:
            raw[name] = values
    try:
        apply(schema.load(raw))
    except ma.ValidationError as error:
        return _subject_page(ref, flatten_errors(error.messages), fields, which, 422)
    except ServiceError as error:
        if error.code == 404 and not error.errors:
            raise
        messages = refusal(error)
        return _subject_page(ref, messages, fields, which, error.code)
    flash(translate(f"credit.saved_{which}"), "ok")
    return redirect(url_for("console.subject", ref=ref), code=303)


@console.route("/subjects/<ref>/records", methods=["POST"])
@page(*WRITERS)
def subject_record(ref: str) -> Any:
    session = get_session()
    found = credit.resolve_subject(session, ref)
    return _write(
        ref, "record", RecordInSchema(), lambda body: credit.add_record(session, found, body)
    )


@console.route("/subjects/<ref>/listings", methods=["POST"])
@page(*WRITERS)
def subject_listing(ref: str) -> Any:
    session = get_session()
    found = credit.resolve_subject(session, ref)
    return _write(
        ref, "listing", ListingInSchema(), lambda body: credit.list_subject(session, found, body)
    )


@console.route("/subjects/<ref>/listings/<int:listing_id>/lift", methods=["POST"])
@page(*WRITERS)
def subject_lift(ref: str, listing_id: int) -> Any:
    session = get_session()
    found = credit.resolve_subject(session, ref)
    listing = credit.get_listing(session, listing_id)
    if listing.subject_id != found.id:
        raise NotFound(f"No listing {listing_id} of this subject.", rule="credit.listing_exists")
    return _write(
        ref,
        "lift",
        LiftInSchema(),
        lambda body: credit.lift_listing(
            session, listing_id, body, acting_authority=acting_authority(principal())
        ),
    )


@console.route("/subjects/<ref>/records/<int:record_id>/revocation", methods=["POST"])
@page(*WRITERS)
def subject_revocation(ref: str, record_id: int) -> Any:
    session = get_session()
    found = credit.resolve_subject(session, ref)
    record = credit.get_record(session, record_id)
    if record.subject_id != found.id:
        raise NotFound(f"No record {record_id} of this subject.", rule="credit.record_exists")
    return _write(
        ref,
        "revocation",
        RevocationInSchema(),
        lambda body: credit.revoke_record(
            session, record_id, body, acting_authority=acting_authority(principal())
        ),
    )


# --- blacklist -------------------------------------------------------------------------

CSV_COLUMNS = (
    "listing_id", "list", "subject_kind", "name", "uscc", "id_number", "sectors", "regions",
    "start", "end", "basis.authority", "basis.document_no", "basis.decided_on", "reason",
)  # fmt: skip


def _blacklist_csv(stmt, unmask: bool) -> Iterator[str]:
    yield "\ufeff"  # a BOM, so that spreadsheet software reads the Chinese as UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    session = get_session()
    for listing, subject, _lift in session.execute(stmt.execution_options(yield_per=1000)):
        id_number = subject.id_number
        if id_number and not unmask:
            id_number = mask_resident_id(id_number)
        writer.writerow((
            listing.id, listing.kind, subject.kind, subject.name, subject.uscc or "",
            id_number or "", ";".join(c for c in listing.sectors.split(",") if c),
            ";".join(c for c in listing.regions.split(",") if c), listing.starts_on.isoformat(),
            listing.ends_on.isoformat() if listing.ends_on else "", listing.basis_authority,
            listing.basis_document_no, listing.basis_decided_on.isoformat(), listing.reason or "",
        ))  # fmt: skip
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@console.route("/blacklist")
@page(*READERS)
def blacklist() -> Any:
    args, errors = query_args(BlacklistQuerySchema())
    on = args.get("on") or clock.today()
    stmt = credit.listings_query(
        args.get("sector"), args.get("region"), on, args["list"], args.get("q")
    )
    unmask = _unmask()
    if args.get("format") == "csv":
        response = Response(stream_with_context(_blacklist_csv(stmt, unmask)), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{args["list"]}-{on.isoformat()}.csv"'
        )
        return response
    session = get_session()
    result = paginate(session, stmt, page_number(), PAGE_SIZE, scalars=False)
    result["items"] = [
        {"listing": dump_listing(x, lift, on), "subject": dump_subject(s, unmask=unmask)}
        for x, s, lift in result["items"]
    ]
    return render_template(
        "console/credit/blacklist.html",
        result=result,
        args=args,
        on=on,
        errors=errors,
        sectors=SECTORS,
        list_kinds=LIST_KINDS,
    )


# --- exchange import ---------------------------------------------------------------------


@console.route("/jobs/credit-import", methods=["POST"])
@accepts_upload
@page(*WRITERS)
def credit_import() -> Any:
    upload = request.files.get("file")
    fmt = detect_format(upload.filename if upload else None, upload.mimetype if upload else None)
    if upload is None or not upload.filename:
        flash(translate("jobs.no_file"), "error")
        return redirect(url_for("console.jobs"), code=303)
    if fmt is None:
        flash(translate("jobs.bad_format"), "error")
        return redirect(url_for("console.jobs"), code=303)
    job = jobs.start("credit_import", user().actor, {"format": fmt}, upload=upload.stream)
    return redirect(url_for("console.job", job_id=job.id), code=303)
