"""The rules of the credit register: subjects, relations, records, listings.

Every function receives the caller's session and never commits: a request (or a CLI
command) is one transaction, committed in one place. Every write is audited and appended to
the change feed in that same transaction. Nothing is updated or deleted: a correction,
revocation, repair or lift is a new row that refers to the old one.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from credit import changes
from credit.categories import repair_error
from credit.identifiers import InvalidIdentifier, mask_resident_id, validate_resident_id
from credit.models import CreditRecord, Listing, ListingLift, Relation, Subject, SubjectName
from credit.names import name_key, rank
from credit.scope import covering_regions, pack
from credit.validate import (
    lift_fields,
    listing_fields,
    listing_subject_error,
    record_fields,
    relation_fields,
    revocation_fields,
    subject_fields,
)
from trading import audit, clock
from trading.db import storable_id
from trading.errors import Conflict, Forbidden, Invalid, NotFound

#: The name this service gives itself as the source platform of what is entered here.
LOCAL_PLATFORM = "gongxin"

PERSON_KINDS = ("practitioner",)


def new_source_id() -> str:
    return uuid.uuid4().hex


# --- subjects ------------------------------------------------------------------------


def find_subject(session: Session, ref: str | int) -> Subject | None:
    """The subject named by ``ref``: internal id, USCC or resident ID number; else None."""
    if isinstance(ref, int):
        return session.get(Subject, ref) if storable_id(ref) else None
    ref = str(ref).strip()
    if ref.isascii() and ref.isdigit() and len(ref) < 18:
        return session.get(Subject, int(ref)) if storable_id(int(ref)) else None
    normalised = ref.upper()
    subject = session.scalar(select(Subject).where(Subject.uscc == normalised))
    if subject is None and len(normalised) == 18:
        try:
            number = validate_resident_id(normalised)
        except InvalidIdentifier:
            return None
        subject = session.scalar(select(Subject).where(Subject.id_number == number))
    return subject


def resolve_subject(session: Session, ref: str | int) -> Subject:
    """The subject named by ``ref`` (USCC, or internal id); NotFound otherwise."""
    subject = find_subject(session, ref)
    if subject is None:
        raise NotFound(f"No subject {ref}.", rule="credit.subject_exists")
    return subject


def subject_ref(subject: Subject) -> str:
    """The identifier other platforms know the subject by."""
    return subject.uscc or subject.id_number or str(subject.id)


def subject_audit_view(subject: Subject) -> dict:
    return {
        "kind": subject.kind,
        "name": subject.name,
        "uscc": subject.uscc,
        "id_number": mask_resident_id(subject.id_number) if subject.id_number else None,
        "region": subject.region,
        "source": {"platform": subject.source_platform, "id": subject.source_id},
    }


def create_subject(session: Session, data: dict) -> Subject:
    """Register a subject: ``{kind, name, uscc | id_number, region?, source?}``.

    Identifiers are validated completely; a subject already registered under the same
    identifier (or source) is a Conflict.
    """
    clean, errors = subject_fields(data)
    if errors:
        raise Invalid(errors, rule="credit.subject_valid")
    clash = []
    if clean["uscc"]:
        clash.append(Subject.uscc == clean["uscc"])
    if clean["id_number"]:
        clash.append(Subject.id_number == clean["id_number"])
    if clean["source_platform"]:
        clash.append(
            (Subject.source_platform == clean["source_platform"])
            & (Subject.source_id == clean["source_id"])
        )
    existing = session.scalar(select(Subject).where(or_(*clash)).limit(1))
    if existing is not None:
        field = (
            "uscc"
            if clean["uscc"] and existing.uscc == clean["uscc"]
            else (
                "id_number"
                if clean["id_number"] and existing.id_number == clean["id_number"]
                else "source"
            )
        )
        raise Conflict(
            f"A subject with this {field} is already registered (id {existing.id}).",
            errors={field: ["already registered"]},
            rule="credit.subject_unique",
        )
    subject = Subject(**clean, created_at=clock.now())
    session.add(subject)
    session.flush()
    audit.record(
        session, "credit.subject.create", "subject", subject.id, after=subject_audit_view(subject)
    )
    changes.append(session, "subject", subject.id, subject.id)
    return subject


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: How many candidates a name search ranks (rapidfuzz) before it pages them.
RANKED_CANDIDATES = 500


def ranked_subjects(
    session: Session, q: str, kind: str | None = None
) -> list[tuple[Subject, float]]:
    """:func:`search_subjects` for a name, best match first (rapidfuzz on the folded
    names), at most :data:`RANKED_CANDIDATES`."""
    candidates = session.scalars(search_subjects(session, q, kind).limit(RANKED_CANDIDATES))
    return rank(q, [(s, s.name) for s in candidates], limit=RANKED_CANDIDATES)


def search_subjects(session: Session, q: str | None = None, kind: str | None = None) -> Select:
    """Subjects whose name (as typed, or folded by :func:`credit.names.name_key`), USCC
    (prefix) or internal id matches ``q``, optionally of a kind."""
    stmt = select(Subject).order_by(Subject.id)
    if kind:
        stmt = stmt.where(Subject.kind == kind)
    if q:
        q = q.strip()
        escaped = _like_escaped(q)
        conditions = [
            Subject.name.like(f"%{escaped}%", escape="\\"),
            Subject.uscc.like(f"{escaped.upper()}%", escape="\\"),
        ]
        if key := name_key(q):
            conditions.append(Subject.name_key.like(f"%{_like_escaped(key)}%", escape="\\"))
            # Former names (曾用名) find the subject too.
            conditions.append(
                Subject.id.in_(
                    select(SubjectName.subject_id).where(
                        SubjectName.name_key.like(f"%{_like_escaped(key)}%", escape="\\")
                    )
                )
            )
        if q.isascii() and q.isdigit() and len(q) < 12:
            conditions.append(Subject.id == int(q))
        stmt = stmt.where(or_(*conditions))
    return stmt


# --- relations -----------------------------------------------------------------------

#: Which kinds of subject each relation joins: (subject is a person?, other is a person?),
#: None meaning either.
RELATION_SHAPES: dict[str, tuple[bool | None, bool | None]] = {
    "shareholder": (None, False),
    "subsidiary": (False, False),
    "legal_rep": (True, False),
    "employment": (True, False),
    "relative": (True, True),
    "interest": (None, None),
}


def add_relation(session: Session, subject: Subject, data: dict) -> Relation:
    """``subject`` *is* ``kind`` of ``other``: ``{kind, other, share?, start?, end?}``.

    ``share`` is a percentage (0, 100] and only for shareholder and interest relations.
    """
    clean, errors = relation_fields(data)
    other = None
    if clean["other"] is not None and "other" not in errors:
        other = find_subject(session, clean["other"])
        if other is None:
            errors.setdefault("other", []).append(f"no subject {clean['other']}")
        elif other.id == subject.id:
            errors.setdefault("other", []).append("a subject cannot relate to itself")
    if other is not None and clean["kind"] in RELATION_SHAPES:
        subject_person, other_person = RELATION_SHAPES[clean["kind"]]
        for who, person, field in (
            (subject, subject_person, "kind"),
            (other, other_person, "other"),
        ):
            if person is not None and (who.kind in PERSON_KINDS) != person:
                errors.setdefault(field, []).append(
                    f"a {clean['kind']} relation needs "
                    f"{'a person' if person else 'an organisation'} here, not a {who.kind}"
                )
    if errors:
        raise Invalid(errors, rule="credit.relation_valid")

    def same(column, value):
        return column.is_(None) if value is None else column == value

    twin = session.scalar(
        select(Relation.id).where(
            Relation.subject_id == subject.id,
            Relation.other_id == other.id,
            Relation.kind == clean["kind"],
            same(Relation.share, clean["share"]),
            same(Relation.start, clean["start"]),
            same(Relation.end, clean["end"]),
        )
    )
    if twin is not None:
        raise Conflict(
            f"The same relation is already registered (relation {twin}).",
            errors={"other": [f"identical to relation {twin}"]},
            rule="credit.relation_unique",
        )
    platform, source_id = _source_of(data)
    relation = Relation(
        subject_id=subject.id,
        other_id=other.id,
        kind=clean["kind"],
        share=clean["share"],
        start=clean["start"],
        end=clean["end"],
        note=clean["note"],
        created_at=clock.now(),
        source_platform=platform,
        source_id=source_id,
    )
    session.add(relation)
    session.flush()
    audit.record(
        session,
        "credit.relation.create",
        "relation",
        relation.id,
        after={
            "subject": subject.id,
            "other": other.id,
            "kind": relation.kind,
            "share": relation.share,
            "start": relation.start,
            "end": relation.end,
        },
    )
    changes.append(session, "relation", relation.id, subject.id)
    return relation


def _source_of(data: dict) -> tuple[str, str]:
    src = data.get("source") or {}
    if isinstance(src, dict) and src.get("platform") and src.get("id") not in (None, ""):
        return str(src["platform"]).strip(), str(src["id"]).strip()
    return LOCAL_PLATFORM, new_source_id()


# --- 谁认定、谁修复: only the deciding authority undoes its decisions ---------------------


def authority_key(name: str | None) -> str:
    """An authority's name as compared: NFKC and without blanks, so that the same
    authority typed twice (full-width or with spaces) is the same authority."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(c for c in text if not c.isspace())


def check_deciding_authority(decided_by: str | None, acting: str | None, what: str) -> None:
    """Refuse unless ``acting`` (None: an admin, who may) is the authority that decided.

    ``what`` names the decision (``"record 12"``, ``"listing 3"``) for the message.
    """
    if acting is None:
        return
    if not acting:
        raise Forbidden(
            f"This regulator token is not bound to an authority, so it may not undo {what}.",
            errors={"Authorization": ["token not bound to an authority"]},
            rule="credit.deciding_authority",
        )
    if authority_key(acting) != authority_key(decided_by):
        raise Forbidden(
            f"Only the deciding authority ({decided_by or 'none recorded'}) or an admin "
            f"may undo {what} "
            f"(谁认定、谁修复); this token acts for {acting}.",
            errors={"Authorization": [f"acts for {acting}, not {decided_by}"]},
            rule="credit.deciding_authority",
        )


# --- records -------------------------------------------------------------------------


def record_audit_view(record: CreditRecord) -> dict:
    return {
        "subject": record.subject_id,
        "event": record.event,
        "refers_to": record.refers_to_id,
        "polarity": record.polarity,
        "category": record.category,
        "severity": record.severity,
        "basis": [record.basis_authority, record.basis_document_no, record.basis_decided_on],
        "effective": [record.effective_from, record.effective_to],
        "source": [record.source_platform, record.source_id],
    }


def _source_taken(session: Session, model: Any, platform: str, source_id: str) -> None:
    found = session.scalar(
        select(model.id).where(model.source_platform == platform, model.source_id == source_id)
    )
    if found is not None:
        raise Conflict(
            f"Source {platform}/{source_id} was already applied (id {found}).",
            errors={"source": ["already applied"]},
            rule="credit.source_unique",
        )


def get_record(session: Session, record_id: int) -> CreditRecord:
    record = session.get(CreditRecord, record_id) if storable_id(record_id) else None
    if record is None:
        raise NotFound(f"No credit record {record_id}.", rule="credit.record_exists")
    return record


def superseded_by(session: Session, record: CreditRecord) -> CreditRecord | None:
    return session.scalar(select(CreditRecord).where(CreditRecord.refers_to_id == record.id))


def _check_supersedable(session: Session, record: CreditRecord) -> None:
    if record.event not in ("record", "correction"):
        raise Conflict(
            f"Record {record.id} is a {record.event}; refer to the record it concerns.",
            errors={"record": [f"is a {record.event}"]},
            rule="credit.record_supersedable",
        )
    later = superseded_by(session, record)
    if later is not None:
        raise Conflict(
            f"Record {record.id} was already superseded by a {later.event} (record {later.id}).",
            errors={"record": [f"already superseded by {later.event} {later.id}"]},
            rule="credit.record_superseded_once",
        )


def add_record(
    session: Session, subject: Subject, data: dict, today: date | None = None
) -> CreditRecord:
    """Append a credit record (see :func:`credit.validate.record_fields` for the rules).

    With ``corrects: <record id>`` it is a correction that replaces that record of the same
    subject from its own ``effective_from``.
    """
    clean, errors = record_fields(data, today=today or clock.today())
    corrected = None
    if data.get("corrects") not in (None, ""):
        try:
            wanted = int(data["corrects"])
            corrected = session.get(CreditRecord, wanted) if storable_id(wanted) else None
        except (TypeError, ValueError):
            corrected = None
        if corrected is None or corrected.subject_id != subject.id:
            errors.setdefault("corrects", []).append("no such record of this subject")
    if errors:
        raise Invalid(errors, rule="credit.record_valid")
    if corrected is not None:
        _check_supersedable(session, corrected)
    if not clean["source_platform"]:
        clean["source_platform"], clean["source_id"] = LOCAL_PLATFORM, new_source_id()
    else:
        _source_taken(session, CreditRecord, clean["source_platform"], clean["source_id"])
    record = CreditRecord(
        subject_id=subject.id,
        event="correction" if corrected else "record",
        refers_to_id=corrected.id if corrected else None,
        created_at=clock.now(),
        **clean,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        f"credit.record.{record.event}",
        "credit_record",
        record.id,
        after=record_audit_view(record),
    )
    changes.append(session, "record", record.id, subject.id)
    return record


def revoke_record(
    session: Session,
    record_id: int,
    data: dict,
    today: date | None = None,
    *,
    acting_authority: str | None = None,
) -> CreditRecord:
    """Revoke (撤销) or repair (信用修复) a record: a new event, from ``on`` onwards.

    ``acting_authority``: the authority the caller acts for (None: unrestricted, an admin
    or the command line); only the record's deciding authority may revoke or repair it.
    """
    record = get_record(session, record_id)
    clean, errors = revocation_fields(data, today=today or clock.today())
    if clean.get("event") == "repair" and record.polarity != "negative":
        errors.setdefault("kind", []).append("only a negative record can be repaired (信用修复)")
    elif (
        clean.get("event") == "repair"
        and clean.get("effective_from")
        and (
            message := repair_error(
                record.severity,
                record.basis_decided_on,
                record.effective_from,
                clean["effective_from"],
            )
        )
    ):
        errors.setdefault("on", []).append(message)
    if errors:
        raise Invalid(errors, rule="credit.revocation_valid")
    check_deciding_authority(record.basis_authority, acting_authority, f"record {record.id}")
    _check_supersedable(session, record)
    if not clean["source_platform"]:
        clean["source_platform"], clean["source_id"] = LOCAL_PLATFORM, new_source_id()
    else:
        _source_taken(session, CreditRecord, clean["source_platform"], clean["source_id"])
    event = CreditRecord(
        subject_id=record.subject_id,
        refers_to_id=record.id,
        created_at=clock.now(),
        **clean,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        f"credit.record.{event.event}",
        "credit_record",
        event.id,
        after=record_audit_view(event),
    )
    changes.append(session, "revocation", event.id, record.subject_id)
    return event


# --- listings ------------------------------------------------------------------------


def listing_audit_view(listing: Listing) -> dict:
    return {
        "subject": listing.subject_id,
        "list": listing.kind,
        "sectors": listing.sectors,
        "regions": listing.regions,
        "start": listing.starts_on,
        "end": listing.ends_on,
        "basis": [listing.basis_authority, listing.basis_document_no, listing.basis_decided_on],
        "source": [listing.source_platform, listing.source_id],
    }


def list_subject(
    session: Session, subject: Subject, data: dict, today: date | None = None
) -> Listing:
    """Move a subject onto a list: ``{list, basis, start, end?, sectors?, regions?}``."""
    clean, errors = listing_fields(data, today=today or clock.today())
    if message := listing_subject_error(clean["kind"], subject.kind):
        errors.setdefault("list", []).append(message)
    if errors:
        raise Invalid(errors, rule="credit.listing_valid")
    if not clean["source_platform"]:
        clean["source_platform"], clean["source_id"] = LOCAL_PLATFORM, new_source_id()
    else:
        _source_taken(session, Listing, clean["source_platform"], clean["source_id"])
    clean["sectors"], clean["regions"] = pack(clean["sectors"]), pack(clean["regions"])
    listing = Listing(subject_id=subject.id, created_at=clock.now(), **clean)
    session.add(listing)
    session.flush()
    audit.record(
        session, "credit.listing.create", "listing", listing.id, after=listing_audit_view(listing)
    )
    changes.append(session, "listing", listing.id, subject.id)
    return listing


def get_listing(session: Session, listing_id: int) -> Listing:
    listing = session.get(Listing, listing_id) if storable_id(listing_id) else None
    if listing is None:
        raise NotFound(f"No listing {listing_id}.", rule="credit.listing_exists")
    return listing


def lift_of(session: Session, listing: Listing) -> ListingLift | None:
    return session.scalar(select(ListingLift).where(ListingLift.listing_id == listing.id))


def lift_listing(
    session: Session,
    listing_id: int,
    data: dict,
    today: date | None = None,
    *,
    acting_authority: str | None = None,
) -> ListingLift:
    """Move a subject off a list: ``{basis, on?}``; once per listing, and only by the
    authority that listed (``acting_authority``, None: unrestricted)."""
    listing = get_listing(session, listing_id)
    clean, errors = lift_fields(data, today=today or clock.today())
    if clean.get("lifted_on") and clean["lifted_on"] < listing.starts_on:
        errors.setdefault("on", []).append(
            f"must not be before the listing starts ({listing.starts_on.isoformat()})"
        )
    if errors:
        raise Invalid(errors, rule="credit.lift_valid")
    check_deciding_authority(listing.basis_authority, acting_authority, f"listing {listing.id}")
    existing = lift_of(session, listing)
    if existing is not None:
        raise Conflict(
            f"Listing {listing.id} was already lifted on {existing.lifted_on.isoformat()}.",
            errors={"listing": ["already lifted"]},
            rule="credit.lift_once",
        )
    if listing.ends_on is not None and clean["lifted_on"] > listing.ends_on:
        raise Conflict(
            f"Listing {listing.id} already ended on {listing.ends_on.isoformat()}.",
            errors={"on": ["the listing had already ended"]},
            rule="credit.lift_active",
        )
    if not clean["source_platform"]:
        clean["source_platform"], clean["source_id"] = LOCAL_PLATFORM, new_source_id()
    else:
        _source_taken(session, ListingLift, clean["source_platform"], clean["source_id"])
    lift = ListingLift(listing_id=listing.id, created_at=clock.now(), **clean)
    session.add(lift)
    session.flush()
    audit.record(
        session,
        "credit.listing.lift",
        "listing",
        listing.id,
        before={"lifted": None},
        after={
            "lift": lift.id,
            "on": lift.lifted_on,
            "basis": [lift.basis_authority, lift.basis_document_no, lift.basis_decided_on],
        },
    )
    changes.append(session, "lift", lift.id, listing.subject_id)
    return lift


def listing_status(listing: Listing, lift: ListingLift | None, on: date) -> str:
    """``pending``, ``active``, ``ended`` or ``lifted`` on a date, from the dates alone."""
    if lift is not None and lift.lifted_on <= on:
        return "lifted"
    if on < listing.starts_on:
        return "pending"
    if listing.ends_on is not None and on > listing.ends_on:
        return "ended"
    return "active"


def listings_query(
    sector: str | None = None,
    region: str | None = None,
    on: date | None = None,
    kind: str = "blacklist",
    q: str | None = None,
    *,
    public: bool = False,
) -> Select:
    """Listings of ``kind`` in force on ``on`` whose scope covers sector and region,
    with the subject and the lift (if any, later than ``on``). With ``public`` a search by
    name matches organisations only: persons are shown masked (政务公开), and matching the
    full name would unmask them."""
    on = on or clock.today()
    stmt = (
        select(Listing, Subject, ListingLift)
        .join(Subject, Subject.id == Listing.subject_id)
        .outerjoin(ListingLift, ListingLift.listing_id == Listing.id)
        .where(
            Listing.kind == kind,
            Listing.starts_on <= on,
            or_(Listing.ends_on.is_(None), Listing.ends_on >= on),
            or_(ListingLift.id.is_(None), ListingLift.lifted_on > on),
        )
        .order_by(Listing.starts_on.desc(), Listing.id.desc())
    )
    if sector:
        stmt = stmt.where(or_(Listing.sectors == "", Listing.sectors.like(f"%,{sector},%")))
    if region:
        stmt = stmt.where(
            or_(
                Listing.regions == "",
                *(Listing.regions.like(f"%,{code},%") for code in covering_regions(region)),
            )
        )
    if q:
        escaped = _like_escaped(q.strip())
        by_name = Subject.name.like(f"%{escaped}%", escape="\\")
        if key := name_key(q):
            by_name = or_(by_name, Subject.name_key.like(f"%{_like_escaped(key)}%", escape="\\"))
        if public:
            by_name = by_name & Subject.kind.not_in(PERSON_KINDS)
        stmt = stmt.where(or_(by_name, Subject.uscc.like(f"{escaped.upper()}%", escape="\\")))
    return stmt


# --- credit view ---------------------------------------------------------------------


def record_status(record: CreditRecord, later: CreditRecord | None, on: date) -> str:
    """A record's status on a date, from dates alone."""
    if record.event in ("revocation", "repair"):
        return "in_force" if record.effective_from <= on else "pending"
    if later is not None and later.effective_from <= on:
        return {"revocation": "revoked", "repair": "repaired", "correction": "corrected"}[
            later.event
        ]
    if on < record.effective_from:
        return "pending"
    if record.effective_to is not None and on > record.effective_to:
        return "expired"
    return "active"


def known_by(known_on: date) -> datetime:
    """The first instant (naive UTC, as ``created_at`` is stored) after the China day
    ``known_on``: a row created before it was in the register on that day."""
    return clock.china_day_start(known_on + timedelta(days=1))


def subject_history(
    session: Session, subject: Subject, on: date, known_on: date | None = None
) -> dict:
    """Every record and listing of ``subject`` with its status on ``on``.

    Two dates, two questions (bitemporal): ``on`` is *what was true on that day*; with
    ``known_on`` only what the register had been told by the end of that day counts
    (each row's ``created_at`` is when it was known here), so "what did the register say
    on D about D'" is answered as it was then, even after a later retroactive revocation.
    """
    known = [] if known_on is None else [known_by(known_on)]
    records = list(
        session.scalars(
            select(CreditRecord)
            .where(
                CreditRecord.subject_id == subject.id,
                *(CreditRecord.created_at < k for k in known),
            )
            .order_by(CreditRecord.effective_from, CreditRecord.id)
        )
    )
    later_of = {r.refers_to_id: r for r in records if r.refers_to_id is not None}
    listing_rows = session.execute(
        select(Listing, ListingLift)
        .outerjoin(
            ListingLift,
            and_(
                ListingLift.listing_id == Listing.id, *(ListingLift.created_at < k for k in known)
            ),
        )
        .where(Listing.subject_id == subject.id, *(Listing.created_at < k for k in known))
        .order_by(Listing.starts_on, Listing.id)
    ).all()
    return {
        "records": [
            (r, later_of.get(r.id), record_status(r, later_of.get(r.id), on)) for r in records
        ],
        "listings": [
            (listing, lift, listing_status(listing, lift, on)) for listing, lift in listing_rows
        ],
    }


def credit_view(
    session: Session, subject: Subject, on: date | None = None, known_on: date | None = None
) -> dict:
    """Score, grade, the points that make them, and the full history, as of ``on`` (and,
    with ``known_on``, as the register stood at the end of that day)."""
    from credit.scoring import ActiveListing, ActiveRecord, score

    on = on or clock.today()
    history = subject_history(session, subject, on, known_on)
    active_records = [r for r, _later, status in history["records"] if status == "active"]
    active_listings = [lst for lst, _lift, status in history["listings"] if status == "active"]
    result = score(
        [
            ActiveRecord(
                r.id,
                r.polarity,
                r.category,
                r.severity,
                r.effective_from,
                r.basis_document_no,
                r.basis_authority,
            )
            for r in active_records
        ],
        [
            ActiveListing(lst.id, lst.kind, lst.starts_on, lst.basis_document_no)
            for lst in active_listings
        ],
    )
    return {
        "as_of": on,
        "known_on": known_on,
        "score": result.score,
        "grade": result.grade,
        "points": [p.as_dict() for p in result.points],
        "active_records": [r.id for r in active_records],
        "active_listings": [lst.id for lst in active_listings],
        "history": history,
    }
