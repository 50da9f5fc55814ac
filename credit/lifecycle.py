"""A subject's life in the register: renames (with former names, 曾用名) and the end of an
organisation (deregistration 注销, revocation of its business licence 吊销).

- A rename keeps the old name as a former name until the day before, so searches by either
  name find the subject, and old records read under the name they were made against.
- An organisation that ended cannot bid or act as agency from that day (eligibility rule
  ``credit.subject_ended``); it stays in the register with its history.

Both are audited and enter the change feed as a change of the subject.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import changes
from credit.models import Subject, SubjectName
from credit.names import name_key
from trading import audit, clock
from trading.errors import Conflict, Invalid

END_KINDS = ("deregistered", "revoked")


def rename(session: Session, subject: Subject, data: dict) -> Subject:
    """Give ``subject`` a new name from ``on`` (default today); the old one becomes former."""
    on: date = data.get("on") or clock.today()
    new = data["name"].strip()
    errors: dict[str, list[str]] = {}
    if not new:
        errors["name"] = ["the new name is empty"]
    elif new == subject.name:
        errors["name"] = ["is already the subject's name"]
    if on > clock.today():
        errors["on"] = ["must not be in the future"]
    if errors:
        raise Invalid(errors, rule="credit.rename_valid")
    former = SubjectName(
        subject_id=subject.id,
        name=subject.name,
        name_key=subject.name_key,
        until=on - timedelta(days=1),
        reason=data.get("reason"),
        created_at=clock.now(),
    )
    session.add(former)
    before = {"name": subject.name}
    subject.name, subject.name_key = new, name_key(new)
    session.flush()
    audit.record(
        session, "credit.subject.rename", "subject", subject.id,
        before=before, after={"name": new, "from": on, "reason": data.get("reason")},
    )  # fmt: skip
    changes.append(session, "subject", subject.id, subject.id)
    return subject


def end(session: Session, subject: Subject, data: dict) -> Subject:
    """Record that an organisation was deregistered (注销) or had its licence revoked (吊销)."""
    on: date = data["on"]
    if subject.uscc is None:
        raise Invalid(
            {"kind": ["only an organisation is deregistered or revoked"]},
            rule="credit.end_valid",
        )
    if on > clock.today():
        raise Invalid({"on": ["must not be in the future"]}, rule="credit.end_valid")
    if subject.ended_on is not None:
        raise Conflict(
            f"Subject {subject.id} already ended on {subject.ended_on.isoformat()} "
            f"({subject.end_kind}).",
            errors={"on": [f"already {subject.end_kind} on {subject.ended_on.isoformat()}"]},
            rule="credit.subject_ended_once",
        )
    subject.ended_on, subject.end_kind = on, data["kind"]
    session.flush()
    audit.record(
        session, "credit.subject.end", "subject", subject.id,
        after={"kind": data["kind"], "on": on, "basis": data["basis"]},
    )  # fmt: skip
    changes.append(session, "subject", subject.id, subject.id)
    return subject


def former_names(session: Session, subject_id: int) -> list[dict]:
    stmt = (
        select(SubjectName)
        .where(SubjectName.subject_id == subject_id)
        .order_by(SubjectName.until.desc(), SubjectName.id.desc())
    )
    return [{"name": n.name, "until": n.until, "reason": n.reason} for n in session.scalars(stmt)]
