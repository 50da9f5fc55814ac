"""Batch screening (批量资格筛查): up to :data:`MAX_SUBJECTS` subjects, each named by USCC,
resident ID number (18 or 15 digits) or name, answered with the same eligibility as the
single gate, in a constant number of statements whatever the size of the batch.

Names are matched by their comparison key (:func:`credit.names.name_key`: width,
traditional/simplified characters, spaces, brackets and legal forms folded), one indexed
``IN``; a key that several subjects share answers every one of them, ranked by similarity
to the name as given, and is not called eligible on its own.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from credit.eligibility import eligibility_many
from credit.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc
from credit.models import Subject
from credit.names import name_key, rank
from trading.errors import Invalid

MAX_SUBJECTS = 1000


def _classify(ref: str) -> tuple[str, str]:
    """``("uscc" | "id_number" | "name", value)`` for one line of the batch."""
    text = unicodedata.normalize("NFKC", ref).strip()
    # Only text of an identifier's length and alphabet is tried as one (a name never is).
    if len(text) in (15, 18) and text.isascii() and text.isalnum():
        for kind, check in (("uscc", validate_uscc), ("id_number", validate_resident_id)):
            try:
                return kind, check(text)
            except InvalidIdentifier:
                pass
    return "name", name_key(text)


def screen(
    session: Session,
    refs: list,
    purpose: str,
    sector: str | None = None,
    region: str | None = None,
    on: date | None = None,
) -> list[dict]:
    """One answer per ref, in order: ``{ref, matched_by, found, eligible, reasons,
    subjects: [{id, name, uscc, score, eligible, reasons}]}``."""
    if not isinstance(refs, list) or not refs:
        raise Invalid({"subjects": ["a list of 1 to 1000 USCCs, ID numbers or names"]})
    if len(refs) > MAX_SUBJECTS:
        raise Invalid({"subjects": [f"at most {MAX_SUBJECTS} subjects in one batch"]})
    bad = [i for i, r in enumerate(refs) if not isinstance(r, str) or not r.strip()]
    if bad:
        raise Invalid({"subjects": [f"line {i + 1}: must be non-empty text" for i in bad[:20]]})
    classified = [_classify(r) for r in refs]
    wanted: dict[str, set[str]] = {"uscc": set(), "id_number": set(), "name": set()}
    for kind, value in classified:
        if value:
            wanted[kind].add(value)
    conditions = []
    if wanted["uscc"]:
        conditions.append(Subject.uscc.in_(sorted(wanted["uscc"])))
    if wanted["id_number"]:
        conditions.append(Subject.id_number.in_(sorted(wanted["id_number"])))
    if wanted["name"]:
        conditions.append(Subject.name_key.in_(sorted(wanted["name"])))
    rows = session.execute(
        select(Subject.id, Subject.name, Subject.name_key, Subject.uscc, Subject.id_number).where(
            or_(*conditions)
        )
    ).all()
    by: dict[tuple[str, str], list] = {}
    for row in rows:
        for kind, value in (
            ("uscc", row.uscc),
            ("id_number", row.id_number),
            ("name", row.name_key),
        ):
            if value and value in wanted[kind]:
                by.setdefault((kind, value), []).append(row)
    verdicts = eligibility_many(session, [r.id for r in rows], purpose, sector, region, on)
    answers = []
    for ref, (kind, value) in zip(refs, classified, strict=True):
        matches = by.get((kind, value), [])
        if kind == "name" and len(matches) > 1:
            ranked = rank(ref, [(m, m.name) for m in matches], limit=len(matches))
        else:
            ranked = [(m, 100.0) for m in matches]
        subjects = []
        for m, score in ranked:
            verdict = verdicts[m.id]
            subjects.append(
                {"id": m.id, "name": m.name, "uscc": m.uscc, "score": score, **verdict.as_dict()}
            )
        answer: dict = {"ref": ref, "matched_by": kind, "found": bool(subjects)}
        if not subjects:
            answer.update(
                eligible=None,
                reasons=[
                    {
                        "rule": "credit.subject_exists",
                        "message": f"No subject matches {ref.strip()!r} by {kind}.",
                        "ref": None,
                    }
                ],
            )
        elif len(subjects) > 1:
            answer.update(
                eligible=None,
                reasons=[
                    {
                        "rule": "credit.name_ambiguous",
                        "message": f"{len(subjects)} subjects share the name {ref.strip()!r}: "
                        "ask again by USCC.",
                        "ref": {"subjects": [s["id"] for s in subjects]},
                    }
                ],
            )
        else:
            answer.update(eligible=subjects[0]["eligible"], reasons=subjects[0]["reasons"])
        answer["subjects"] = subjects
        answers.append(answer)
    return answers
