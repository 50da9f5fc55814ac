"""The public credit view (政务公开): no sign-in, personal data masked.

As in the public API: search and credit pages are for organisations, found by name or
by USCC; a person never has a public page and appears only on the published blacklist,
masked (张*, 1101**********002X) whoever is looking. Only what is in force is published:
records in their publicity period and listings in force, with their legal basis.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from credit import services as credit
from credit.models import Subject
from credit.schemas import dump_listing, dump_record, dump_subject
from credit.scope import SECTORS
from trading import clock
from trading.console.blueprint import console
from trading.console.forms import page_number
from trading.console.signin import page
from trading.db import get_session
from trading.errors import NotFound
from trading.pagination import paginate

PAGE_SIZE = 20
_MAX_QUERY = 100


def public_subject(subject: Subject) -> dict[str, Any]:
    """The subject as the public may see it: persons masked, no internal provenance."""
    shown = dump_subject(subject, public=True)
    shown["ref"] = subject.uscc
    return shown


@console.route("/public/credit")
@page(public=True)
def public_lookup() -> Any:
    q = request.args.get("q", "").strip()[:_MAX_QUERY]
    result = None
    if q:
        session = get_session()
        exact = credit.find_subject(session, q) if len(q) == 18 else None
        if exact is not None and exact.uscc:
            return redirect(url_for("console.public_subject", ref=exact.uscc))
        # Organisations only: a name or resident ID number of a person finds no one here.
        stmt = credit.search_subjects(session, q).where(Subject.uscc.is_not(None))
        result = paginate(session, stmt, page_number(), PAGE_SIZE)
        result["items"] = [public_subject(s) for s in result["items"]]
    return render_template("console/public/lookup.html", q=q, result=result)


def _find_public(ref: str) -> Subject:
    """An organisation by its USCC, as the public API finds it; nothing else."""
    ref = ref.strip().upper()
    subject = None
    if len(ref) == 18:
        subject = get_session().scalar(select(Subject).where(Subject.uscc == ref))
    if subject is None:
        raise NotFound("No organisation with this USCC.", rule="credit.subject_exists")
    return subject


@console.route("/public/subjects/<ref>", endpoint="public_subject")
@page(public=True)
def public_subject_page(ref: str) -> Any:
    session = get_session()
    subject = _find_public(ref)
    today = clock.today()
    view = credit.credit_view(session, subject, today)
    history = view["history"]
    # What counts today, exactly as the public API publishes it.
    active = set(view["active_records"])
    records = [
        dump_record(record, status)
        for record, _later, status in history["records"]
        if status == "active" and record.id in active
    ]
    listings = [
        dump_listing(listing, lift, today)
        for listing, lift, status in history["listings"]
        if status == "active"
    ]
    return render_template(
        "console/public/subject.html",
        subject=public_subject(subject),
        view=view,
        records=records,
        listings=listings,
        today=today,
    )


@console.route("/public/blacklist")
@page(public=True)
def public_blacklist() -> Any:
    sector = request.args.get("sector") or None
    if sector not in SECTORS:
        sector = None
    session = get_session()
    stmt = credit.listings_query(sector=sector, on=clock.today(), kind="blacklist")
    rows = paginate(session, stmt, page_number(), PAGE_SIZE, scalars=False)
    rows["items"] = [
        {"listing": dump_listing(listing, lift, clock.today()), "subject": public_subject(subject)}
        for listing, subject, lift in rows["items"]
    ]
    return render_template(
        "console/public/blacklist.html", result=rows, sector=sector, sectors=SECTORS
    )
