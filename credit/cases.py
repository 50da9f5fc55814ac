"""Credit repair applications (信用修复) and objections (异议申诉) as workflows.

A case concerns one credit record and moves through steps, each audited:

    submitted ──accept──▶ accepted ──decide──▶ approved | rejected
        └──────refuse (不予受理, with reason)──▶ refused

- **Repair** (信用修复, 信用修复管理办法; 国办发〔2025〕22号): only a negative record that has
  not ended, been revoked or repaired; the application carries the applicant, a credit
  commitment (信用承诺书) and proof that the legal obligations were fulfilled (each document
  by name and SHA-256), and may not come before the record's minimum publicity period has
  run. Approval writes the repair event (a new record with the decision as its basis).
- **Objection** (异议申诉): anyone named in a record may say it is wrong, with grounds and
  evidence; while the case is open the record is shown as disputed. Upholding it revokes the
  record (a revocation with the decision as its basis); dismissing keeps it.

Only the authority that decided the record (谁认定、谁修复), or an admin, accepts, refuses or
decides. Acceptance sets the decision's due date: ``CREDIT_CASE_DECISION_DAYS`` working days
(Monday to Friday; public holidays are not modelled) after it; a case past it is overdue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from credit.case_schemas import STATES
from credit.categories import repair_error
from credit.models import CreditRecord
from credit.services import (
    _check_supersedable,
    check_deciding_authority,
    get_record,
    revoke_record,
)
from trading import audit, clock
from trading.db import Base, storable_id
from trading.errors import Conflict, Invalid, NotFound

KINDS = ("repair", "objection")
OPEN_STATES = ("submitted", "accepted")


class CreditCase(Base):
    __tablename__ = "credit_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_records.id"), index=True)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(12))
    applicant: Mapped[dict] = mapped_column(JSON)  # name, contact
    grounds: Mapped[str | None] = mapped_column(Text)
    commitment: Mapped[dict | None] = mapped_column(JSON)  # 信用承诺书: name, sha256
    proofs: Mapped[list] = mapped_column(JSON)  # [{name, sha256}]
    authority: Mapped[str | None] = mapped_column(String(200))  # who decides: the record's
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    submitted_by: Mapped[str] = mapped_column(String(200))
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decision_due: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # of a refusal or a decision
    outcome_record_id: Mapped[int | None] = mapped_column(Integer)


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _documents(value: Any, field: str, errors: dict[str, list[str]]) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        digest = str(item.get("sha256", "")).lower()
        if not item.get("name") or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            errors.setdefault(field, []).append(
                "each document needs a name and the SHA-256 of its file (64 hex digits)"
            )
            continue
        out.append({"name": str(item["name"])[:200], "sha256": digest})
    return out


def get_case(session: Session, case_id: int) -> CreditCase:
    case = session.get(CreditCase, case_id) if storable_id(case_id) else None
    if case is None:
        raise NotFound(f"No credit case {case_id}.", rule="credit.case_exists")
    return case


def submit(session: Session, record_id: int, data: dict, actor: str) -> CreditCase:
    """File a repair application or an objection against a record."""
    record = get_record(session, record_id)
    kind = data["kind"]
    errors: dict[str, list[str]] = {}
    commitment, proofs = None, []
    if kind == "repair":
        if data.get("commitment") is None:
            errors["commitment"] = ["a credit commitment (信用承诺书) is required"]
        else:
            commitment = (_documents(data["commitment"], "commitment", errors) or [None])[0]
        proofs = _documents(data.get("proofs") or [], "proofs", errors)
        if not data.get("proofs"):
            errors.setdefault("proofs", []).append(
                "proof that the legal obligations were fulfilled is required"
            )
        if record.polarity != "negative":
            errors.setdefault("record", []).append("only a negative record can be repaired")
    else:
        if not (data.get("grounds") or "").strip():
            errors["grounds"] = ["say why the record is wrong"]
        proofs = _documents(data.get("proofs") or [], "proofs", errors)
    if errors:
        raise Invalid(errors, rule="credit.case_valid")
    _check_supersedable(session, record)
    today = clock.today()
    if kind == "repair":
        if record.effective_to is not None and record.effective_to < today:
            raise Conflict(
                f"Record {record.id} ended on {record.effective_to.isoformat()}: it no longer "
                "counts, there is nothing to repair.",
                errors={"record": ["ended"]},
                rule="credit.repair_needed",
            )
        early = repair_error(record.severity, record.basis_decided_on, record.effective_from, today)
        if early:
            raise Conflict(early, errors={"record": [early]}, rule="credit.repair_too_early")
    open_case = session.scalar(
        select(CreditCase).where(
            CreditCase.record_id == record.id,
            CreditCase.kind == kind,
            CreditCase.state.in_(OPEN_STATES),
        )
    )
    if open_case is not None:
        raise Conflict(
            f"Record {record.id} already has an open {kind} case ({open_case.id}).",
            errors={"record": [f"open {kind} case {open_case.id}"]},
            rule="credit.case_open",
        )
    case = CreditCase(
        kind=kind,
        record_id=record.id,
        subject_id=record.subject_id,
        state="submitted",
        applicant={k: str(v)[:200] for k, v in data["applicant"].items()},
        grounds=(data.get("grounds") or None),
        commitment=commitment,
        proofs=proofs,
        authority=record.basis_authority,
        submitted_at=clock.now(),
        submitted_by=actor,
    )
    session.add(case)
    session.flush()
    _audit(session, case, "submit")
    return case


def _open(case: CreditCase, wanted: str) -> None:
    if case.state != wanted:
        raise Conflict(
            f"Case {case.id} is {case.state}; this step needs it {wanted}.",
            errors={"state": [f"is {case.state}, needs {wanted}"]},
            rule="credit.case_state",
        )


def accept(
    session: Session,
    case_id: int,
    data: dict,
    actor: str,
    acting_authority: str | None,
    decision_days: int,
) -> CreditCase:
    """Accept (受理) or refuse (不予受理, with a reason) a submitted case."""
    case = get_case(session, case_id)
    check_deciding_authority(case.authority, acting_authority, f"case {case.id}")
    _open(case, "submitted")
    if data["accept"]:
        case.state, case.accepted_on = "accepted", clock.today()
        case.decision_due = add_working_days(case.accepted_on, decision_days)
    else:
        if not (data.get("reason") or "").strip():
            raise Invalid({"reason": ["a refusal says why"]}, rule="credit.case_valid")
        case.state, case.reason = "refused", data["reason"]
        case.decided_at, case.decided_by = clock.now(), actor
    session.flush()
    _audit(session, case, "accept" if data["accept"] else "refuse")
    return case


def decide(
    session: Session, case_id: int, data: dict, actor: str, acting_authority: str | None
) -> CreditCase:
    """Decide an accepted case; approval writes the repair or the revocation."""
    case = get_case(session, case_id)
    check_deciding_authority(case.authority, acting_authority, f"case {case.id}")
    _open(case, "accepted")
    if data["approve"]:
        event = revoke_record(
            session,
            case.record_id,
            {
                "kind": "repair" if case.kind == "repair" else "revocation",
                "basis": data["basis"],
                "reason": data.get("reason")
                or ("信用修复" if case.kind == "repair" else "异议成立"),
            },
            acting_authority=acting_authority,
        )
        case.state, case.outcome_record_id = "approved", event.id
    else:
        if not (data.get("reason") or "").strip():
            raise Invalid({"reason": ["a rejection says why"]}, rule="credit.case_valid")
        case.state = "rejected"
    case.reason = data.get("reason") or case.reason
    case.decided_at, case.decided_by = clock.now(), actor
    session.flush()
    _audit(session, case, "decide")
    return case


def _audit(session: Session, case: CreditCase, step: str) -> None:
    audit.record(
        session,
        f"credit.case.{step}",
        "credit_case",
        case.id,
        after={
            "kind": case.kind,
            "record": case.record_id,
            "state": case.state,
            "reason": case.reason,
            "due": case.decision_due,
            "outcome": case.outcome_record_id,
        },
    )


def dump_case(case: CreditCase, today: date | None = None) -> dict:
    today = today or clock.today()
    return {
        "id": case.id,
        "kind": case.kind,
        "record": case.record_id,
        "subject": case.subject_id,
        "state": case.state,
        "applicant": case.applicant,
        "grounds": case.grounds,
        "commitment": case.commitment,
        "proofs": case.proofs,
        "authority": case.authority,
        "submitted_at": case.submitted_at,
        "accepted_on": case.accepted_on,
        "decision_due": case.decision_due,
        "overdue": bool(
            case.state == "accepted" and case.decision_due and today > case.decision_due
        ),
        "decided_at": case.decided_at,
        "reason": case.reason,
        "outcome_record": case.outcome_record_id,
    }


def subject_cases(session: Session, subject_id: int) -> list[CreditCase]:
    stmt = select(CreditCase).where(CreditCase.subject_id == subject_id).order_by(CreditCase.id)
    return list(session.scalars(stmt))


def disputed_records(cases: list[CreditCase]) -> set[int]:
    return {c.record_id for c in cases if c.kind == "objection" and c.state in OPEN_STATES}


__all__ = ["CreditRecord", "KINDS", "STATES"]
