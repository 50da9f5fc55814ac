"""The expert pool (评标专家库): experts, their specialties, status, leave and relations.

An expert is a credit subject of kind ``practitioner``: employment history, near relatives
and declared interests are credit relations of that subject (``credit.services``), so a
conflict check and a credit check read the same facts. Functions take the caller's session
and never commit; every write is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from credit import services as credit
from credit.identifiers import (
    InvalidIdentifier,
    mask_resident_id,
    validate_resident_id,
    validate_uscc,
)
from credit.models import Relation, Subject
from credit.validate import region_error
from experts import specialties
from experts.models import (
    EXPERT_STATUSES,
    Expert,
    ExpertLeave,
    ExpertSpecialty,
    ExpertStatusChange,
)
from trading import audit, clock
from trading.errors import Conflict, Invalid, NotFound

Errors = dict[str, list[str]]

#: Relations an expert may declare through the expert API (the subject is the expert).
EXPERT_RELATION_KINDS = ("employment", "relative", "interest", "shareholder", "legal_rep")


# --- validation helpers ---------------------------------------------------------------


def check_specialty_codes(codes: Iterable[str], field: str, errors: Errors) -> list[str]:
    """Known codes of the national classification, deduplicated in the given order."""
    clean: list[str] = []
    for code in codes:
        if not specialties.is_well_formed(code):
            errors.setdefault(field, []).append(
                f"{code!r} is not a specialty code "
                "(a letter A, B or C and up to three 2-digit levels)"
            )
        elif not specialties.known(code):
            errors.setdefault(field, []).append(f"{code} is not in the classification")
        elif code not in clean:
            clean.append(code)
    return clean


def check_uscc(value: Any, field: str, errors: Errors) -> str | None:
    try:
        return validate_uscc(value)
    except InvalidIdentifier as exc:
        errors.setdefault(field, []).append(exc.reason)
        return None


def check_region(value: Any, field: str, errors: Errors) -> str | None:
    message = region_error(value)
    if message:
        errors.setdefault(field, []).append(message)
        return None
    return value


def codes_with_ancestors(held: Iterable[str]) -> dict[str, bool]:
    """Every code an expert holding ``held`` can sit for: code -> whether it is held."""
    rows: dict[str, bool] = {}
    for code in held:
        rows[code] = True
        parent = specialties.parent_of(code)
        while parent is not None:
            rows.setdefault(parent, False)
            parent = specialties.parent_of(parent)
    return rows


# --- reading ------------------------------------------------------------------------------


def get_expert(session: Session, expert_id: int) -> Expert:
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"No expert {expert_id}.", rule="experts.exists")
    return expert


def held_specialties(session: Session, expert_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(expert_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    stmt = (
        select(ExpertSpecialty.expert_id, ExpertSpecialty.code)
        .where(ExpertSpecialty.expert_id.in_(ids), ExpertSpecialty.held.is_(True))
        .order_by(ExpertSpecialty.expert_id, ExpertSpecialty.code)
    )
    for expert_id, code in session.execute(stmt):
        found[expert_id].append(code)
    return found


def search_experts(
    session: Session,
    *,
    q: str | None = None,
    specialty: str | None = None,
    region: str | None = None,
    status: str | None = None,
) -> Select:
    """Experts by name (substring), specialty (the code or one below it), region, status."""
    stmt = select(Expert).join(Subject, Subject.id == Expert.subject_id).order_by(Expert.id)
    if q:
        escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Subject.name.like(f"%{escaped}%", escape="\\"))
    if specialty:
        stmt = stmt.where(
            Expert.id.in_(
                select(ExpertSpecialty.expert_id).where(ExpertSpecialty.code == specialty)
            )
        )
    if region:
        stmt = stmt.where(region_condition(Expert.region, [region]))
    if status:
        stmt = stmt.where(Expert.status == status)
    return stmt


def region_bounds(scope: str) -> tuple[str, str]:
    """The inclusive range of 6-digit codes a GB/T 2260 code covers.

    A province code ``xx0000`` covers its province, a prefecture code ``xxyy00`` its
    counties, any other code itself (the rule of ``credit.scope.region_covers``). Digits of
    equal length sort the same in every collation, so the range uses a plain index.
    """
    if scope.endswith("0000"):
        return scope[:2] + "0000", scope[:2] + "9999"
    if scope.endswith("00"):
        return scope[:4] + "00", scope[:4] + "99"
    return scope, scope


def region_condition(column: Any, scopes: Iterable[str]):
    return or_(*(column.between(*region_bounds(scope)) for scope in scopes))


def local_scope(region: str) -> str:
    """The area a project region counts as local (本地): its prefecture, or the province
    when the region is a province code."""
    return region if region.endswith("0000") else region[:4] + "00"


def expert_view(
    session: Session, expert: Expert, *, with_contact: bool, full_id_number: bool = True
) -> dict[str, Any]:
    subject = session.get(Subject, expert.subject_id)
    table = specialties.load_specialties()
    held = held_specialties(session, [expert.id])[expert.id]
    employer = None
    if expert.employer_uscc:
        employer_subject = session.scalar(
            select(Subject).where(Subject.uscc == expert.employer_uscc)
        )
        employer = {
            "uscc": expert.employer_uscc,
            "name": employer_subject.name if employer_subject else None,
        }
    leaves = session.scalars(
        select(ExpertLeave)
        .where(ExpertLeave.expert_id == expert.id)
        .order_by(ExpertLeave.starts_on)
    )
    history = session.scalars(
        select(ExpertStatusChange)
        .where(ExpertStatusChange.expert_id == expert.id)
        .order_by(ExpertStatusChange.id)
    )
    relations = session.execute(
        select(Relation, Subject)
        .join(Subject, Subject.id == Relation.other_id)
        .where(Relation.subject_id == expert.subject_id)
        .order_by(Relation.id)
    )
    view: dict[str, Any] = {
        "id": expert.id,
        "subject_id": expert.subject_id,
        "name": subject.name,
        "id_number": subject.id_number if full_id_number else mask_resident_id(subject.id_number),
        "region": expert.region,
        "specialties": [{"code": code, "name": table[code].name} for code in held],
        "employer": employer,
        "title": expert.title,
        "status": expert.status,
        "leaves": [
            {"id": leave.id, "start": leave.starts_on, "end": leave.ends_on, "reason": leave.reason}
            for leave in leaves
        ],
        "status_history": [
            {
                "from": change.from_status,
                "to": change.to_status,
                "reason": change.reason,
                "actor": change.actor,
                "at": change.at,
            }
            for change in history
        ],
        "relations": [
            {
                "id": relation.id,
                "kind": relation.kind,
                "other": {"id": other.id, "name": other.name, "ref": credit.subject_ref(other)},
                "start": relation.start,
                "end": relation.end,
            }
            for relation, other in relations
        ],
        "created_at": expert.created_at,
    }
    if with_contact:
        view["contact"] = expert.contact
    return view


def list_view(session: Session, experts: list[Expert]) -> list[dict[str, Any]]:
    """Rows of an expert list, with names and held codes in two queries for the page."""
    names = dict(
        session.execute(
            select(Subject.id, Subject.name).where(Subject.id.in_([e.subject_id for e in experts]))
        ).all()
    )
    held = held_specialties(session, [e.id for e in experts])
    return [
        {
            "id": e.id,
            "name": names.get(e.subject_id),
            "region": e.region,
            "specialties": held[e.id],
            "employer_uscc": e.employer_uscc,
            "title": e.title,
            "status": e.status,
        }
        for e in experts
    ]


# --- writing ------------------------------------------------------------------------------


def _audit_view(expert: Expert, subject: Subject, held: list[str]) -> dict[str, Any]:
    # The audit trail is readable by auditors: the ID number masked, the contact left out.
    return {
        "subject": subject.id,
        "name": subject.name,
        "id_number": mask_resident_id(subject.id_number) if subject.id_number else None,
        "region": expert.region,
        "specialties": held,
        "employer": expert.employer_uscc,
        "title": expert.title,
        "status": expert.status,
    }


def _set_specialties(session: Session, expert: Expert, held: list[str]) -> None:
    session.execute(delete(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert.id))
    session.add_all(
        ExpertSpecialty(expert_id=expert.id, code=code, held=is_held, region=expert.region)
        for code, is_held in codes_with_ancestors(held).items()
    )


def _employ(session: Session, expert: Expert, employer_uscc: str | None, on: date) -> None:
    """Record employment by a known employer as a credit relation, ending the previous one."""
    if expert.employer_uscc and expert.employer_uscc != employer_uscc:
        previous = session.scalar(select(Subject).where(Subject.uscc == expert.employer_uscc))
        if previous is not None:
            for relation in session.scalars(
                select(Relation).where(
                    Relation.subject_id == expert.subject_id,
                    Relation.other_id == previous.id,
                    Relation.kind == "employment",
                    Relation.end.is_(None),
                )
            ):
                # The 3-year look-back of conflict checks counts from this end date.
                relation.end = on
                audit.record(
                    session,
                    "expert.employment.end",
                    "relation",
                    relation.id,
                    before={"end": None},
                    after={"end": on},
                )
    if employer_uscc is None or employer_uscc == expert.employer_uscc:
        expert.employer_uscc = employer_uscc
        return
    expert.employer_uscc = employer_uscc
    employer = session.scalar(select(Subject).where(Subject.uscc == employer_uscc))
    if employer is not None and employer.kind != "practitioner":
        subject = session.get(Subject, expert.subject_id)
        credit.add_relation(
            session, subject, {"kind": "employment", "other": employer.id, "start": on}
        )


def create_expert(session: Session, data: dict[str, Any]) -> Expert:
    """Register an expert: ``{name, id_number, region, specialties, employer, title?, contact?}``.

    The person becomes (or already is) a credit subject of kind practitioner.
    """
    errors: Errors = {}
    held = check_specialty_codes(data.get("specialties") or [], "specialties", errors)
    if not held and "specialties" not in errors:
        errors["specialties"] = ["at least one specialty is required"]
    region = check_region(data.get("region"), "region", errors)
    employer = check_uscc(data.get("employer"), "employer", errors)
    try:
        id_number = validate_resident_id(data.get("id_number"))
    except InvalidIdentifier as exc:
        errors.setdefault("id_number", []).append(exc.reason)
    if errors:
        raise Invalid(errors, rule="experts.valid")
    subject = credit.find_subject(session, id_number)
    if subject is not None:
        if subject.kind != "practitioner":
            raise Invalid(
                {"id_number": [f"subject {subject.id} is a {subject.kind}, not a person"]},
                rule="experts.valid",
            )
        if session.scalar(select(Expert.id).where(Expert.subject_id == subject.id)) is not None:
            raise Conflict(
                f"Subject {subject.id} is already in the expert pool.",
                errors={"id_number": ["already registered as an expert"]},
                rule="experts.unique_person",
            )
    else:
        subject = credit.create_subject(
            session,
            {
                "kind": "practitioner",
                "name": data.get("name"),
                "id_number": id_number,
                "region": region,
            },
        )
    now = clock.now()
    expert = Expert(
        subject_id=subject.id,
        region=region,
        title=data.get("title"),
        contact=data.get("contact"),
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(expert)
    session.flush()
    _set_specialties(session, expert, held)
    _employ(session, expert, employer, clock.china_date(now))
    session.flush()
    audit.record(
        session, "expert.create", "expert", expert.id, after=_audit_view(expert, subject, held)
    )
    return expert


def update_expert(session: Session, expert: Expert, data: dict[str, Any]) -> Expert:
    """Change title, contact, region, employer or specialties (only the fields given)."""
    errors: Errors = {}
    held = None
    if "specialties" in data:
        held = check_specialty_codes(data["specialties"] or [], "specialties", errors)
        if not held and "specialties" not in errors:
            errors["specialties"] = ["at least one specialty is required"]
    region = check_region(data["region"], "region", errors) if "region" in data else None
    employer = check_uscc(data["employer"], "employer", errors) if data.get("employer") else None
    if errors:
        raise Invalid(errors, rule="experts.valid")
    subject = session.get(Subject, expert.subject_id)
    before = _audit_view(expert, subject, held_specialties(session, [expert.id])[expert.id])
    if region is not None:
        expert.region = region
        session.execute(
            update(ExpertSpecialty)
            .where(ExpertSpecialty.expert_id == expert.id)
            .values(region=region)
        )
    if held is not None:
        _set_specialties(session, expert, held)
    for field in ("title", "contact"):
        if field in data:
            setattr(expert, field, data[field])
    now = clock.now()
    if "employer" in data:
        _employ(session, expert, employer, clock.china_date(now))
    expert.updated_at = now
    session.flush()
    after = _audit_view(expert, subject, held_specialties(session, [expert.id])[expert.id])
    audit.record(session, "expert.update", "expert", expert.id, before=before, after=after)
    return expert


def change_status(session: Session, expert: Expert, data: dict[str, Any]) -> ExpertStatusChange:
    """Suspend (暂停), retire (退出) or reactivate an expert, with a reason."""
    status = data.get("status")
    if status not in EXPERT_STATUSES:
        raise Invalid({"status": [f"must be one of {', '.join(EXPERT_STATUSES)}"]})
    if status == expert.status:
        raise Conflict(
            f"Expert {expert.id} is already {status}.",
            errors={"status": [f"already {status}"]},
            rule="experts.status_changes",
        )
    change = ExpertStatusChange(
        expert_id=expert.id,
        from_status=expert.status,
        to_status=status,
        reason=data["reason"],
        actor=session.info.get("actor", "system"),
        at=clock.now(),
    )
    expert.status = status
    expert.updated_at = change.at
    session.add(change)
    session.flush()
    audit.record(
        session,
        "expert.status",
        "expert",
        expert.id,
        before={"status": change.from_status},
        after={"status": status, "reason": change.reason},
    )
    return change


def add_leave(session: Session, expert: Expert, data: dict[str, Any]) -> ExpertLeave:
    """A period of leave, inclusive; draws whose window touches it skip the expert."""
    if data["end"] < data["start"]:
        raise Invalid({"end": ["must not be before start"]}, rule="experts.leave_valid")
    overlapping = session.scalar(
        select(ExpertLeave.id).where(
            ExpertLeave.expert_id == expert.id,
            and_(ExpertLeave.starts_on <= data["end"], ExpertLeave.ends_on >= data["start"]),
        )
    )
    if overlapping is not None:
        raise Conflict(
            f"Expert {expert.id} already has leave {overlapping} in that period.",
            errors={"start": ["overlaps an existing leave"]},
            rule="experts.leave_overlap",
        )
    leave = ExpertLeave(
        expert_id=expert.id,
        starts_on=data["start"],
        ends_on=data["end"],
        reason=data.get("reason"),
        created_at=clock.now(),
    )
    session.add(leave)
    session.flush()
    audit.record(
        session,
        "expert.leave",
        "expert",
        expert.id,
        after={"leave": leave.id, "start": leave.starts_on, "end": leave.ends_on},
    )
    return leave


def add_expert_relation(session: Session, expert: Expert, data: dict[str, Any]) -> Relation:
    """The expert *is* employed by / relative of / holds an interest in ``other``."""
    if data.get("kind") not in EXPERT_RELATION_KINDS:
        raise Invalid(
            {"kind": [f"must be one of {', '.join(EXPERT_RELATION_KINDS)}"]},
            rule="experts.relation_valid",
        )
    subject = session.get(Subject, expert.subject_id)
    return credit.add_relation(session, subject, data)


def relation_view(session: Session, relation: Relation) -> dict[str, Any]:
    other = session.get(Subject, relation.other_id)
    return {
        "id": relation.id,
        "kind": relation.kind,
        "other": {"id": other.id, "name": other.name, "ref": credit.subject_ref(other)},
        "start": relation.start,
        "end": relation.end,
    }
