"""Eligibility (参与资格): may this subject take part in this act, here, on this date?

The one question asked at every gate: registering a bid, accepting an agency, drawing an
expert. The answer is yes or no with **every** reason that says no; nothing else in the
service decides eligibility on its own.

Rules (each reason names its ``rule``):

``credit.blacklisted``
    The subject is on the blacklist (严重失信主体名单) on the date and the listing's scope
    covers the act's sector and region (see :mod:`credit.scope`; national when the
    listing names no scope). Bars every purpose: bid, agency and expert.
``credit.abnormal_listed``
    The subject is on the abnormal list (经营异常名录) in scope on the date. Bars bid and
    agency. It does not bar an expert: the list is about a business's registration, and an
    expert sits as a person.
``credit.record_bars_bid``
    A serious (严重) negative record, in its publicity period on the date, of a category
    that bars bidding (围标串标 collusion, 弄虚作假 fraud, 行贿受贿 bribery). Bars bid.
``credit.record_bars_agency``
    The same for agencies: a serious negative record of a category that bars acting as
    agency (collusion, fraud, bribery, 代理违规 agency misconduct). Bars agency.
``credit.expert_misconduct``
    Any negative record of 评标违规 (evaluation misconduct), whatever its severity, in its
    publicity period. Bars expert.
``credit.expert_serious_record``
    Any serious negative record in its publicity period. Bars expert.
``credit.subject_ended``
    The organisation was deregistered (注销) or its licence revoked (吊销) on or before the
    date (credit/lifecycle.py). Bars bid and agency.
``credit.subject_kind``
    The subject cannot act in that capacity: a bid needs an organisation (USCC), an
    agency a subject registered as ``agency``, an expert a person (resident ID number).

Records count from ``effective_from`` to ``effective_to`` inclusive. A record that has been
revoked (撤销), repaired (信用修复) or corrected stops counting from the effective date of
that later event; a correction counts in its place. A listing counts from ``starts_on``
to ``ends_on`` inclusive, and no longer from the day it is lifted.

Cost: one subject is answered with one statement, one round trip to the database;
:func:`eligibility_many` answers any number of subjects with three queries per chunk of ids
(a single chunk on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Date,
    Integer,
    any_,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from credit import gate
from credit.categories import CATEGORIES
from credit.models import CreditRecord, Listing, ListingLift, Subject
from credit.scope import SECTORS, in_scope
from trading import clock
from trading.db import storable_id
from trading.errors import Invalid, NotFound

PURPOSES = ("bid", "agency", "expert")

_BARRED_BY_LISTING = {
    "blacklist": ("bid", "agency", "expert"),
    "abnormal": ("bid", "agency"),
}
_LIST_NAMES = {
    "blacklist": "blacklist (严重失信主体名单)",
    "abnormal": "abnormal list (经营异常名录)",
}
_SQLITE_CHUNK = 5000


@dataclass(frozen=True)
class Reason:
    rule: str
    message: str
    ref: dict | None = None

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, "ref": self.ref}


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {"eligible": self.eligible, "reasons": [r.as_dict() for r in self.reasons]}


# --- queries -------------------------------------------------------------------------
# Built once, with bound parameters, so that SQLAlchemy's compiled cache and PostgreSQL's
# prepared statements (psycopg prepares a query after a few runs) skip the work each time.

_ON = bindparam("on", type_=Date)


def _listing_columns():
    return (
        Listing.subject_id,
        Listing.id,
        Listing.kind,
        Listing.sectors,
        Listing.regions,
        Listing.starts_on,
        Listing.ends_on,
        Listing.basis_authority,
        Listing.basis_document_no,
    )


def _listing_in_force():
    return (
        Listing.starts_on <= _ON,
        or_(Listing.ends_on.is_(None), Listing.ends_on >= _ON),
        or_(ListingLift.id.is_(None), ListingLift.lifted_on > _ON),
    )


def _record_columns():
    return (
        CreditRecord.subject_id,
        CreditRecord.id,
        CreditRecord.category,
        CreditRecord.severity,
        CreditRecord.effective_from,
        CreditRecord.effective_to,
        CreditRecord.basis_document_no,
    )


def _record_in_force():
    later = aliased(CreditRecord)
    superseded = exists().where(later.refers_to_id == CreditRecord.id, later.effective_from <= _ON)
    return (
        CreditRecord.effective_to >= _ON,
        CreditRecord.effective_from <= _ON,
        CreditRecord.polarity == "negative",
        CreditRecord.event.in_(("record", "correction")),
        ~superseded,
    )


def _listings_stmt(subject_filter):
    return (
        select(*_listing_columns())
        .outerjoin(ListingLift, ListingLift.listing_id == Listing.id)
        .where(subject_filter, *_listing_in_force())
    )


def _records_stmt(subject_filter):
    return select(*_record_columns()).where(subject_filter, *_record_in_force())


# The gate's own statement: the subject, its listings in force and its negative records in
# force, tagged s, l, r, in one round trip. It is plain SQL sent straight to the driver
# because it is the hottest path of the service (every bid, agency and expert check over
# HTTP): compiling and processing a Core statement costs more than the database does. It
# states the same rules as _listing_in_force and _record_in_force; a test holds the two
# paths equal. By internal id each branch filters on the id itself (no common table
# expression, a third less work for PostgreSQL); by USCC or ID number the subject is found
# once and joined.
_FACTS_SQL = """
{with_subject}SELECT 's', id, kind, uscc, id_number,
       CASE WHEN ended_on <= {on} THEN ended_on END, NULL, end_kind, NULL FROM {subjects}
UNION ALL
SELECT 'l', l.id, l.kind, l.sectors, l.regions, l.starts_on, l.ends_on, l.basis_authority,
       l.basis_document_no
FROM listings l {join_subject}
LEFT JOIN listing_lifts f ON f.listing_id = l.id
WHERE {listing_subject} AND l.starts_on <= {on} AND (l.ends_on IS NULL OR l.ends_on >= {on})
  AND (f.id IS NULL OR f.lifted_on > {on})
UNION ALL
SELECT 'r', r.id, r.category, r.severity, NULL, r.effective_from, r.effective_to, NULL,
       r.basis_document_no
FROM credit_records r {join_subject_r}
WHERE {record_subject} AND r.effective_to >= {on} AND r.effective_from <= {on}
  AND r.polarity = 'negative' AND r.event IN ('record', 'correction')
  AND NOT EXISTS (SELECT 1 FROM credit_records x
                  WHERE x.refers_to_id = r.id AND x.effective_from <= {on})
"""


@cache
def _facts_sql(postgres: bool, key: str) -> str:
    ref, on = ("%(ref)s", "%(on)s") if postgres else (":ref", ":on")
    if key == "id":
        return _FACTS_SQL.format(
            with_subject="",
            subjects=f"subjects WHERE id = {ref}",
            join_subject="",
            listing_subject=f"l.subject_id = {ref}",
            join_subject_r="",
            record_subject=f"r.subject_id = {ref}",
            on=on,
        )
    return _FACTS_SQL.format(
        with_subject="WITH the_subject AS (SELECT id, kind, uscc, id_number, ended_on, end_kind "
        "FROM subjects "
        f"WHERE uscc = {ref} OR id_number = {ref})\n",
        subjects="the_subject",
        join_subject="JOIN the_subject s ON s.id = l.subject_id",
        listing_subject="TRUE",
        join_subject_r="JOIN the_subject s ON s.id = r.subject_id",
        record_subject="TRUE",
        on=on,
    )


def _day(value: Any) -> date | None:
    # SQLite hands dates back as ISO text.
    return date.fromisoformat(value) if isinstance(value, str) else value


# Plain named tuples: one is built per row on the hottest path, and they are several times
# cheaper to build than frozen dataclasses.
class _SubjectFacts(NamedTuple):
    id: int
    kind: str
    uscc: str | None
    id_number: str | None
    ended_on: date | None = None  # only when it ended on or before the date asked about
    end_kind: str | None = None


class _ListingFacts(NamedTuple):
    subject_id: int | None
    id: int
    kind: str
    sectors: str
    regions: str
    starts_on: date
    ends_on: date | None
    basis_authority: str
    basis_document_no: str


class _RecordFacts(NamedTuple):
    subject_id: int | None
    id: int
    category: str
    severity: str | None
    effective_from: date
    effective_to: date
    basis_document_no: str | None


# --- rules ---------------------------------------------------------------------------


def _check_args(purpose: str, sector: str | None, region: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if purpose not in PURPOSES:
        errors["purpose"] = [f"must be one of {', '.join(PURPOSES)}"]
    if sector is not None and sector not in SECTORS:
        errors["sector"] = [f"must be one of {', '.join(SECTORS)}"]
    if region is not None and not (len(region) == 6 and region.isascii() and region.isdigit()):
        errors["region"] = ["must be a 6-digit GB/T 2260 code"]
    if errors:
        raise Invalid(errors, rule="credit.eligibility_question")


def _kind_reason(kind: str, has_uscc: bool, has_id_number: bool, purpose: str) -> Reason | None:
    if purpose == "bid" and not has_uscc:
        return Reason("credit.subject_kind", "Only an organisation (with a USCC) may bid.")
    if purpose == "agency" and kind != "agency":
        return Reason(
            "credit.subject_kind",
            f"The subject is registered as {kind}, not as a tendering agency (招标代理机构).",
        )
    if purpose == "expert" and not has_id_number:
        return Reason("credit.subject_kind", "Only a person (with a resident ID) may be an expert.")
    return None


#: An organisation that ceased to exist in law neither bids nor acts as agency.
_BARRED_WHEN_ENDED = frozenset({"bid", "agency"})


def _decide(
    subject_row: Any,
    listings: list,
    records: list,
    purpose: str,
    sector: str | None,
    region: str | None,
) -> Eligibility:
    reasons: list[Reason] = []
    kind_reason = _kind_reason(
        subject_row.kind, subject_row.uscc is not None, subject_row.id_number is not None, purpose
    )
    if kind_reason:
        reasons.append(kind_reason)
    if subject_row.ended_on is not None and purpose in _BARRED_WHEN_ENDED:
        how = "deregistered (注销)" if subject_row.end_kind == "deregistered" else "revoked (吊销)"
        reasons.append(
            Reason(
                "credit.subject_ended",
                f"The organisation was {how} on {subject_row.ended_on.isoformat()}.",
                {"ended_on": subject_row.ended_on.isoformat(), "end_kind": subject_row.end_kind},
            )
        )
    for row in sorted(listings, key=lambda r: (r.starts_on, r.id)):
        if purpose not in _BARRED_BY_LISTING[row.kind]:
            continue
        if not in_scope(row.sectors, row.regions, sector, region):
            continue
        until = f" until {row.ends_on.isoformat()}" if row.ends_on else ""
        reasons.append(
            Reason(
                "credit.blacklisted" if row.kind == "blacklist" else "credit.abnormal_listed",
                f"On the {_LIST_NAMES[row.kind]} since {row.starts_on.isoformat()}{until} "
                f"({row.basis_authority} {row.basis_document_no}).",
                {
                    "listing_id": row.id,
                    "list": row.kind,
                    "sectors": [c for c in row.sectors.split(",") if c],
                    "regions": [c for c in row.regions.split(",") if c],
                },
            )
        )
    for row in sorted(records, key=lambda r: (r.effective_from, r.id)):
        cat = CATEGORIES.get(row.category)
        if cat is None:
            continue
        ref = {"record_id": row.id, "category": row.category, "severity": row.severity}
        period = f"{row.effective_from.isoformat()}..{row.effective_to.isoformat()}"
        serious = row.severity == "serious"
        if purpose == "bid" and serious and cat.bars_bid:
            reasons.append(
                Reason(
                    "credit.record_bars_bid",
                    f"Serious {cat.name} record in its publicity period {period} "
                    f"({row.basis_document_no}) bars bidding.",
                    ref,
                )
            )
        if purpose == "agency" and serious and cat.bars_agency:
            reasons.append(
                Reason(
                    "credit.record_bars_agency",
                    f"Serious {cat.name} record in its publicity period {period} "
                    f"({row.basis_document_no}) bars acting as agency.",
                    ref,
                )
            )
        if purpose == "expert" and cat.bars_expert:
            reasons.append(
                Reason(
                    "credit.expert_misconduct",
                    f"{cat.name} record in its publicity period {period} "
                    f"({row.basis_document_no}) bars evaluation.",
                    ref,
                )
            )
        if purpose == "expert" and serious:
            reasons.append(
                Reason(
                    "credit.expert_serious_record",
                    f"Serious {cat.name} record in its publicity period {period} "
                    f"({row.basis_document_no}) bars evaluation.",
                    ref,
                )
            )
    return Eligibility(not reasons, tuple(reasons))


# --- entry points --------------------------------------------------------------------


def eligibility(
    session: Session,
    subject: Subject | int,
    purpose: str,
    sector: str | None = None,
    region: str | None = None,
    on: date | None = None,
) -> Eligibility:
    """May ``subject`` act as ``purpose`` in ``sector``/``region`` on ``on`` (today)?"""
    subject_id = subject.id if isinstance(subject, Subject) else int(subject)
    with gate.reader(session) as reader:
        found, answer = eligibility_of(reader, subject_id, purpose, sector, region, on)
    if found is None:
        raise NotFound(f"No subject with id {subject_id}.", rule="credit.subject_exists")
    return answer


def eligibility_of(
    reader: gate.Reader,
    ref: str | int,
    purpose: str,
    sector: str | None = None,
    region: str | None = None,
    on: date | None = None,
) -> tuple[int | None, Eligibility | None]:
    """:func:`eligibility` for a subject named by internal id, USCC or ID number, in one
    round trip (the HTTP gate). Answers ``(subject id, eligibility)``, or ``(None, None)``
    when no subject has that ref."""
    _check_args(purpose, sector, region)
    on = on or clock.today()
    if isinstance(ref, int):
        key, value = "id", ref
    else:
        value = ref.strip().upper()
        key = "id" if value.isascii() and value.isdigit() and len(value) < 18 else "code"
        if key == "id":
            value = int(value)
    if key == "id" and not storable_id(value):
        return None, None
    subject, listings, records = _facts(reader, key, value, on)
    if subject is None:
        return None, None
    return subject.id, _decide(subject, listings, records, purpose, sector, region)


def _facts(reader: gate.Reader, key: str, value: Any, on: date):
    cursor = reader.cursor
    cursor.execute(
        _facts_sql(reader.postgres, key),
        {"ref": value, "on": on if reader.postgres else on.isoformat()},
    )
    rows = cursor.fetchall()
    subject, listings, records = None, [], []
    for row in rows:
        tag = row[0]
        if tag == "s":
            subject = _SubjectFacts(row[1], row[2], row[3], row[4], _day(row[5]), row[7])
        elif tag == "l":
            listings.append(
                _ListingFacts(
                    None, row[1], row[2], row[3], row[4], _day(row[5]), _day(row[6]), row[7], row[8]
                )
            )
        else:
            records.append(
                _RecordFacts(None, row[1], row[2], row[3], _day(row[5]), _day(row[6]), row[8])
            )
    return subject, listings, records


def eligibility_many(
    session: Session,
    subject_ids: Sequence[int],
    purpose: str,
    sector: str | None = None,
    region: str | None = None,
    on: date | None = None,
) -> dict[int, Eligibility]:
    """:func:`eligibility` for many subjects at once, in a constant number of queries.

    Ids that name no subject are left out of the answer.
    """
    _check_args(purpose, sector, region)
    on = on or clock.today()
    ids = list(dict.fromkeys(int(i) for i in subject_ids))
    if not ids:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        chunks = [ids]
    else:
        chunks = [ids[i : i + _SQLITE_CHUNK] for i in range(0, len(ids), _SQLITE_CHUNK)]
    subjects: dict[int, Any] = {}
    listings: dict[int, list] = {}
    records: dict[int, list] = {}
    for chunk in chunks:
        for row in session.execute(
            select(
                Subject.id, Subject.kind, Subject.uscc, Subject.id_number,
                Subject.ended_on, Subject.end_kind,
            ).where(_id_in(Subject.id, chunk, postgres))
        ):  # fmt: skip
            ended = row.ended_on if row.ended_on is not None and row.ended_on <= on else None
            subjects[row.id] = _SubjectFacts(
                row.id, row.kind, row.uscc, row.id_number, ended, row.end_kind
            )
        for row in session.execute(
            _listings_stmt(_id_in(Listing.subject_id, chunk, postgres)), {"on": on}
        ):
            listings.setdefault(row.subject_id, []).append(row)
        for row in session.execute(
            _records_stmt(_id_in(CreditRecord.subject_id, chunk, postgres)), {"on": on}
        ):
            records.setdefault(row.subject_id, []).append(row)
    return {
        sid: _decide(row, listings.get(sid, []), records.get(sid, []), purpose, sector, region)
        for sid, row in subjects.items()
    }


def _id_in(column, ids: list[int], postgres: bool):
    # One bound array on PostgreSQL (a single parameter, whatever the size); an expanding
    # IN of at most _SQLITE_CHUNK parameters elsewhere.
    if postgres:
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


__all__ = ["PURPOSES", "Eligibility", "Reason", "eligibility", "eligibility_many"]
