"""The rules of tenders, bids and awards.

Every function takes the caller's session and never commits (one request or CLI command is
one transaction). Every write is audited. Whoever may take part is asked of one function,
:func:`credit.eligibility.eligibility`, at each gate: the agency when a tender is
registered, the bidder when a bid is, the winner when the award is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from credit.eligibility import Eligibility, eligibility
from credit.models import Subject
from credit.services import find_subject
from credit.validate import region_error
from trading import audit, clock
from trading.collusion import store
from trading.collusion.models import TenderScreen
from trading.collusion.training import tender_score
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.models import FINGERPRINT_FIELDS, Bid, Tender
from trading.pagination import paginate

#: A bid's own clock may run a little ahead of ours; beyond this it is an input error.
CLOCK_SKEW = timedelta(minutes=5)
SCREEN_KEYS = ("cv", "spd", "diffp", "rd", "kurt", "skew")


@dataclass(frozen=True)
class Caller:
    """Who is acting, as far as the rules care: a centre is bound to its organisation."""

    actor: str
    role: str
    org: str | None = None

    @property
    def centre(self) -> str | None:
        return self.org if self.role == "centre" else None


# --- look-ups ------------------------------------------------------------------------


def get_tender(session: Session, ref: str, *, lock: bool = False) -> Tender:
    """The tender ``ref``; with ``lock``, its row is held until the transaction ends, so
    two awards (or an award and a bid) on one tender queue instead of both passing."""
    stmt = select(Tender).where(Tender.ref == ref)
    tender = session.scalar(stmt.with_for_update() if lock else stmt)
    if tender is None:
        raise NotFound(f"No tender {ref}.", rule="tenders.exists")
    return tender


def _subject_for(session: Session, ref: str, field: str, what: str) -> Subject:
    subject = find_subject(session, ref)
    if subject is None:
        raise NotFound(
            f"No {what} {ref}: register the subject first.",
            errors={field: [f"no subject {ref}"]},
            rule="credit.subject_exists",
        )
    return subject


def _organisation(session: Session, ref: str, field: str, what: str) -> Subject:
    subject = _subject_for(session, ref, field, what)
    if subject.uscc is None:
        raise Invalid(
            {field: [f"{ref} is a person; a {what} is an organisation with a USCC"]},
            rule="tenders.organisation_required",
        )
    return subject


def refuse_ineligible(result: Eligibility, field: str, what: str, rule: str) -> None:
    if result.eligible:
        return
    raise Forbidden(
        f"The {what} may not take part: " + " ".join(r.message for r in result.reasons),
        errors={
            field: [f"{r.rule}: {r.message}" for r in result.reasons],
            "eligibility": [r.as_dict() for r in result.reasons],
        },
        rule=rule,
    )


def check_own_tender(session: Session, ref: str, caller: Caller) -> Tender:
    """The tender ``ref``, refused (403 ``tenders.own_centre``) to a centre that did not
    register it: a centre acts on its own tenders only (bids, awards, scans)."""
    tender = get_tender(session, ref)
    _check_centre(tender, caller)
    return tender


def _check_centre(tender: Tender, caller: Caller) -> None:
    if caller.centre and tender.centre_uscc and tender.centre_uscc != caller.centre:
        raise Forbidden(
            f"Tender {tender.ref} is run by another trading centre.",
            errors={"ref": ["registered by another centre"]},
            rule="tenders.own_centre",
        )


# --- tenders -------------------------------------------------------------------------


def create_tender(session: Session, data: dict, caller: Caller) -> Tender:
    """Register a tender. The agency must be eligible to act as agency (purpose=agency)."""
    errors: dict[str, list[str]] = {}
    if message := region_error(data["region"]):
        errors["region"] = [message]
    try:
        from experts.specialties import known as specialty_known
    except ImportError:  # pragma: no cover - the experts package ships the table
        specialty_known = None
    if specialty_known is not None and not specialty_known(data["specialty"]):
        errors["specialty"] = [f"{data['specialty']} is not in the specialty classification"]
    if errors:
        raise Invalid(errors, rule="tenders.valid")
    if session.scalar(select(Tender.id).where(Tender.ref == data["ref"])) is not None:
        raise Conflict(
            f"Tender {data['ref']} is already registered.",
            errors={"ref": ["already registered"]},
            rule="tenders.unique_ref",
        )
    tenderee = _organisation(session, data["tenderee"], "tenderee", "tenderee")
    agency = _subject_for(session, data["agency"], "agency", "agency")
    refuse_ineligible(
        eligibility(session, agency, "agency", data["sector"], data["region"]),
        "agency",
        "agency",
        "tenders.agency_eligible",
    )
    tender = Tender(
        ref=data["ref"],
        title=data["title"].strip() or data["ref"],
        tenderee_id=tenderee.id,
        agency_id=agency.id,
        sector=data["sector"],
        region=data["region"],
        specialty=data["specialty"],
        estimate=data.get("estimate"),
        deadline=data["deadline"],
        opening_at=data["opening_at"],
        tender_date=clock.china_date(data["opening_at"]),
        centre_uscc=caller.centre,
        origin="api",
        created_at=clock.now(),
    )
    session.add(tender)
    session.flush()
    audit.record(session, "tender.create", "tender", tender.ref, after=_tender_audit(tender))
    return tender


def _tender_audit(tender: Tender) -> dict:
    return {
        "ref": tender.ref,
        "title": tender.title,
        "tenderee_id": tender.tenderee_id,
        "agency_id": tender.agency_id,
        "sector": tender.sector,
        "region": tender.region,
        "specialty": tender.specialty,
        "estimate": None if tender.estimate is None else str(tender.estimate),
        "deadline": tender.deadline,
        "opening_at": tender.opening_at,
        "centre": tender.centre_uscc,
    }


def tender_status(tender: Tender, now: datetime | None = None) -> str:
    if tender.awarded_at is not None:
        return "awarded"
    if tender.deadline is not None and (now or clock.now()) < tender.deadline:
        return "open"
    return "closed"


def sealed_until(tender: Tender, now: datetime | None = None) -> datetime | None:
    """When the bids of ``tender`` open, if they are still sealed now; else None.

    Bids stay sealed until the opening time (招标投标法 arts. 22, 36; the deadline when no
    opening time is set): before it nobody reads who bid or at what price, and only the
    owning centre knows how many bids came in.
    """
    if tender.awarded_at is not None:
        return None
    opening = tender.opening_at or tender.deadline
    if opening is not None and (now or clock.now()) < opening:
        return opening
    return None


def bidder_usccs(session: Session, tender: Tender, viewer: Caller) -> list[str]:
    """The USCCs of the tender's bidders for a conflict check: its own centre may read them
    while the bids are sealed (its expert draw must exclude them); anyone else after opening.
    """
    if sealed_until(tender) is not None and not _owner(tender, viewer):
        return []
    stmt = (
        select(Subject.uscc)
        .join(Bid, Bid.bidder_id == Subject.id)
        .where(Bid.tender_id == tender.id, Subject.uscc.is_not(None))
        .order_by(Bid.id)
    )
    return list(session.scalars(stmt))


def caller_of(who) -> Caller:
    """The rules' view of an authenticated principal."""
    return Caller(actor=who.actor, role=who.role, org=who.org)


def _owner(tender: Tender, viewer: Caller | None) -> bool:
    return viewer is not None and viewer.centre is not None and viewer.centre == tender.centre_uscc


def _subject_refs(session: Session, ids: set[int]) -> dict[int, dict]:
    ids.discard(None)  # type: ignore[arg-type]
    if not ids:
        return {}
    rows = session.execute(
        select(Subject.id, Subject.uscc, Subject.name).where(Subject.id.in_(ids))
    )
    return {row.id: {"id": row.id, "uscc": row.uscc, "name": row.name} for row in rows}


def _screens_out(screen: TenderScreen | None) -> dict[str, Any]:
    if screen is None:
        return {"suspicion": 0.0, "red_flags": 0}
    out: dict[str, Any] = {"suspicion": screen.suspicion, "red_flags": screen.red_flags}
    if screen.cv is not None:
        out["screens"] = {key: getattr(screen, key) for key in SCREEN_KEYS}
    return out


def tender_detail(session: Session, tender: Tender, viewer: Caller | None) -> dict:
    """The tender as GET /tenders/{ref} shows it to ``viewer``: bids, award, stored screens,
    suspicion; while the bids are sealed, none of that (the owning centre sees the count)."""
    now = clock.now()
    if sealed_until(tender, now) is not None:
        parties = _subject_refs(session, {tender.tenderee_id, tender.agency_id})
        count = session.scalar(select(func.count(Bid.id)).where(Bid.tender_id == tender.id))
        detail = _tender_summary(tender, parties, count, None, viewer, now)
        detail.update(bids=[], award=None, red_flags=None, collusion_score=None)
        detail["centre"] = tender.centre_uscc
        return detail
    manager = aliased(Subject)
    bidder = aliased(Subject)
    rows = session.execute(
        select(Bid, bidder.uscc, bidder.name, manager.name)
        .join(bidder, bidder.id == Bid.bidder_id)
        .outerjoin(manager, manager.id == Bid.project_manager_id)
        .where(Bid.tender_id == tender.id)
        .order_by(Bid.price, Bid.id)
    ).all()
    bids = []
    award = None
    for bid, uscc, name, manager_name in rows:
        shown = bid_view(bid, tender.ref, {"id": bid.bidder_id, "uscc": uscc, "name": name})
        if bid.project_manager_id is not None:
            shown["project_manager"] = {"id": bid.project_manager_id, "name": manager_name}
        bids.append(shown)
        if bid.winner:
            award = {
                "bidder": shown["bidder"],
                "price": bid.price,
                "awarded_at": tender.awarded_at,
            }
    parties = _subject_refs(session, {tender.tenderee_id, tender.agency_id})
    detail = _tender_summary(tender, parties, len(bids), None, viewer, now)
    detail.update(_screens_out(session.get(TenderScreen, tender.id)))
    detail["collusion_score"] = tender_score(session, tender, detail["suspicion"])
    detail.update(bids=bids, award=award, centre=tender.centre_uscc)
    return detail


def _tender_summary(
    tender: Tender,
    parties: dict[int, dict],
    bid_count: int,
    suspicion: float | None,
    viewer: Caller | None,
    now: datetime,
) -> dict:
    sealed = sealed_until(tender, now)
    if sealed is not None:
        bid_count = bid_count if _owner(tender, viewer) else None
        suspicion = None
    return {
        "ref": tender.ref,
        "title": tender.title,
        "tenderee": parties.get(tender.tenderee_id),
        "agency": parties.get(tender.agency_id),
        "sector": tender.sector,
        "region": tender.region,
        "specialty": tender.specialty,
        "estimate": tender.estimate,
        "deadline": tender.deadline,
        "opening_at": tender.opening_at,
        "tender_date": tender.tender_date,
        "status": tender_status(tender),
        "bid_count": bid_count,
        "suspicion": None if sealed is not None else (suspicion or 0.0),
        "sealed_until": sealed,
        "origin": tender.origin,
        "created_at": tender.created_at,
    }


def bid_view(bid: Bid, tender_ref: str, bidder: dict) -> dict:
    return {
        "id": bid.id,
        "tender": tender_ref,
        "bidder": bidder,
        "price": bid.price,
        "submitted_at": bid.submitted_at,
        "project_manager": None,
        "deposit_account": bid.deposit_account,
        "agent": bid.agent,
        "fingerprint": {name: getattr(bid, name) for name in FINGERPRINT_FIELDS},
        "winner": bid.winner,
        "origin": bid.origin,
    }


def tenders_page(session: Session, args: dict, viewer: Caller | None) -> dict:
    """One page of tenders matching ``args`` (filters, sort, page, page_size), as ``viewer``
    may see them (sealed bids stay sealed)."""
    stmt, items = _tenders_query(session, args, viewer)
    page = paginate(session, stmt, args["page"], args["page_size"], scalars=False)
    return {**page, "items": items(page["items"])}


def _tenders_query(session: Session, args: dict, viewer: Caller | None) -> tuple[Select, Any]:
    """The filtered, sorted statement of tenders, and a function turning a page into items."""
    bid_count = select(func.count(Bid.id)).where(Bid.tender_id == Tender.id).scalar_subquery()
    suspicion = func.coalesce(TenderScreen.suspicion, 0.0)
    stmt = select(Tender, bid_count.label("bid_count"), suspicion.label("suspicion")).outerjoin(
        TenderScreen, TenderScreen.tender_id == Tender.id
    )
    if args.get("q"):
        pattern = (
            "%" + args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(
            or_(Tender.ref.ilike(pattern, escape="\\"), Tender.title.ilike(pattern, escape="\\"))
        )
    for field in ("sector", "region"):
        if args.get(field):
            stmt = stmt.where(getattr(Tender, field) == args[field])
    if args.get("tenderee"):
        subject = find_subject(session, args["tenderee"])
        stmt = stmt.where(Tender.tenderee_id == (subject.id if subject else -1))
    status, now = args.get("status"), clock.now()
    if args.get("bidder"):
        subject = find_subject(session, args["bidder"])
        stmt = stmt.where(
            exists().where(
                and_(Bid.tender_id == Tender.id, Bid.bidder_id == (subject.id if subject else -1))
            ),
            # Who bid in a sealed tender is not known to anyone but its centre.
            or_(
                Tender.awarded_at.is_not(None),
                func.coalesce(Tender.opening_at, Tender.deadline).is_(None),
                func.coalesce(Tender.opening_at, Tender.deadline) <= now,
                Tender.centre_uscc == (viewer.centre if viewer and viewer.centre else ""),
            ),
        )
    if status == "awarded":
        stmt = stmt.where(Tender.awarded_at.is_not(None))
    elif status == "open":
        stmt = stmt.where(Tender.awarded_at.is_(None), Tender.deadline > now)
    elif status == "closed":
        stmt = stmt.where(
            Tender.awarded_at.is_(None), or_(Tender.deadline.is_(None), Tender.deadline <= now)
        )
    if args.get("date_from"):
        stmt = stmt.where(Tender.tender_date >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(Tender.tender_date <= args["date_to"])
    if args.get("min_suspicion") is not None:
        stmt = stmt.where(suspicion >= args["min_suspicion"])
    if args.get("sort") == "suspicion":
        stmt = stmt.order_by(suspicion.desc(), Tender.id.desc())
    else:
        stmt = stmt.order_by(Tender.tender_date.desc().nulls_last(), Tender.id.desc())

    def items(rows: list) -> list[dict]:
        ids: set[int] = set()
        for tender, _, _ in rows:
            ids.update({tender.tenderee_id, tender.agency_id})
        parties = _subject_refs(session, ids)
        return [_tender_summary(t, parties, count, susp, viewer, now) for t, count, susp in rows]

    return stmt, items


# --- bids ----------------------------------------------------------------------------


def _project_manager(session: Session, ref: str | None) -> Subject | None:
    if ref is None:
        return None
    subject = _subject_for(session, ref, "project_manager", "project manager")
    if subject.kind != "practitioner":
        raise Invalid(
            {"project_manager": [f"subject {subject.id} is a {subject.kind}, not a practitioner"]},
            rule="bids.project_manager_is_practitioner",
        )
    return subject


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def register_bid(
    session: Session, ref: str, data: dict, caller: Caller, now: datetime | None = None
) -> tuple[Bid, Subject]:
    """Register a bid: before the deadline, one per bidder, from an eligible bidder."""
    now = now or clock.now()
    tender = get_tender(session, ref, lock=True)
    _check_centre(tender, caller)
    if tender.awarded_at is not None:
        raise Conflict(
            f"Tender {ref} has been awarded; it takes no more bids.",
            errors={"ref": ["already awarded"]},
            rule="bids.tender_not_awarded",
        )
    submitted = data["submitted_at"]
    if submitted > now + CLOCK_SKEW:
        raise Invalid({"submitted_at": ["must not be in the future"]}, rule="bids.valid")
    if tender.deadline is not None and submitted > tender.deadline:
        raise Conflict(
            f"The bid was submitted at {clock.rfc3339(submitted)}, after the deadline "
            f"{clock.rfc3339(tender.deadline)}.",
            errors={"submitted_at": ["after the tender's deadline"]},
            rule="bids.before_deadline",
        )
    bidder = _organisation(session, data["bidder"], "bidder", "bidder")
    taken = session.scalar(
        select(Bid.id).where(Bid.tender_id == tender.id, Bid.bidder_id == bidder.id)
    )
    if taken is not None:
        raise Conflict(
            f"{bidder.uscc} has already bid in tender {ref}.",
            errors={"bidder": ["already bid in this tender"]},
            rule="bids.one_per_bidder",
        )
    manager = _project_manager(session, data.get("project_manager"))
    refuse_ineligible(
        eligibility(
            session, bidder, "bid", tender.sector, tender.region, clock.china_date(submitted)
        ),
        "bidder",
        "bidder",
        "bids.bidder_eligible",
    )
    fingerprint = data.get("fingerprint") or {}
    bid = Bid(
        tender_id=tender.id,
        bidder_id=bidder.id,
        price=data["price"],
        submitted_at=submitted,
        project_manager_id=manager.id if manager else None,
        deposit_account=_clean(data.get("deposit_account")),
        agent=_clean(data.get("agent")),
        winner=False,
        origin="api",
        created_at=now,
        **{name: _clean(fingerprint.get(name)) for name in FINGERPRINT_FIELDS},
    )
    session.add(bid)
    session.flush()
    audit.record(session, "bid.create", "bid", bid.id, after=_bid_audit(bid, tender, bidder))
    # The screens are a cache of the bids: keep them true as each bid arrives (cheap).
    store.refresh_screens(session, [tender.id], now=now, live_days=store.LIVE_DAYS)
    return bid, bidder


def _bid_audit(bid: Bid, tender: Tender, bidder: Subject) -> dict:
    return {
        "tender": tender.ref,
        "bidder": bidder.uscc,
        "price": str(bid.price),
        "submitted_at": bid.submitted_at,
        "project_manager_id": bid.project_manager_id,
        "deposit_account": bid.deposit_account,
        "agent": bid.agent,
        "fingerprint": {name: getattr(bid, name) for name in FINGERPRINT_FIELDS},
    }


def bid_detail(session: Session, bid: Bid, tender_ref: str, bidder: Subject) -> dict:
    shown = bid_view(bid, tender_ref, {"id": bidder.id, "uscc": bidder.uscc, "name": bidder.name})
    if bid.project_manager_id is not None:
        manager = session.get(Subject, bid.project_manager_id)
        shown["project_manager"] = {"id": manager.id, "name": manager.name}
    return shown


# --- award ---------------------------------------------------------------------------


def award_tender(
    session: Session, ref: str, data: dict, caller: Caller, now: datetime | None = None
) -> Tender:
    """Award the tender to one of its bidders, after the deadline, once, to an eligible one."""
    now = now or clock.now()
    tender = get_tender(session, ref, lock=True)
    _check_centre(tender, caller)
    if tender.awarded_at is not None:
        raise Conflict(
            f"Tender {ref} is already awarded.",
            errors={"ref": ["already awarded"]},
            rule="tenders.award_once",
        )
    awarded_at = data.get("awarded_at") or now
    if awarded_at > now + CLOCK_SKEW:
        raise Invalid({"awarded_at": ["must not be in the future"]}, rule="tenders.valid")
    if tender.deadline is not None and awarded_at < tender.deadline:
        raise Conflict(
            f"Tender {ref} cannot be awarded before its deadline {clock.rfc3339(tender.deadline)}.",
            errors={"awarded_at": ["before the deadline"]},
            rule="tenders.award_after_deadline",
        )
    bidder = _organisation(session, data["bidder"], "bidder", "bidder")
    bid = session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.bidder_id == bidder.id))
    if bid is None:
        raise Invalid(
            {"bidder": [f"{bidder.uscc} did not bid in tender {ref}"]},
            rule="tenders.award_to_a_bidder",
        )
    refuse_ineligible(
        eligibility(
            session, bidder, "bid", tender.sector, tender.region, clock.china_date(awarded_at)
        ),
        "bidder",
        "winner",
        "tenders.winner_eligible",
    )
    bid.winner = True
    tender.awarded_at = awarded_at
    session.flush()
    audit.record(
        session,
        "tender.award",
        "tender",
        tender.ref,
        before={"awarded": False},
        after={
            "awarded": True,
            "bidder": bidder.uscc,
            "price": str(bid.price),
            "awarded_at": awarded_at,
        },
    )
    return tender


__all__ = [
    "Caller",
    "award_tender",
    "bid_detail",
    "create_tender",
    "get_tender",
    "tenders_page",
    "register_bid",
    "tender_detail",
]
