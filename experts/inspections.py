"""Random inspections (双随机一公开): random subjects, random inspectors, results published.

The same verifiable engine as expert draws (:mod:`experts.draw`), under one committed
seed: the subjects are the sample of ``n`` from the filtered population (group key
``subjects``, label ``seats:0:subjects``), the inspectors the sample of ``m`` from the
inspector pool (group key ``inspectors``, label ``seats:0:inspectors``). The inspector
pool is drawn from the expert pool (active, not on leave, not barred by a penalty,
optionally by specialty, region and employer) without anyone in conflict with a drawn
subject, so it is built after the subjects are drawn; both pools are stored, so the
record recomputes either draw. Until publication only regulators, auditors and admins see
an inspection; once published, anyone does (persons' names and ID numbers masked, the
seed revealed).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from credit.identifiers import mask_name, mask_resident_id
from credit.models import Subject
from experts import draw as engine
from experts.conflicts import Parties, Reason
from experts.draws import CandidateRow, Context, DrawSettings, standing_reasons
from experts.models import Expert, ExpertSpecialty, InspectionDraw, InspectionResult
from experts.services import check_region, check_specialty_codes, check_uscc, region_condition
from trading import audit, clock
from trading.errors import Conflict, Invalid, NotFound

READER_ROLES = ("regulator", "auditor", "admin")


def _shortfall(group: str, needed: int, available: int) -> Conflict:
    return Conflict(
        f"Not enough {group} to draw: {needed} needed, {available} available. Nothing was drawn.",
        errors={group: [f"needs {needed}, {available} available"]},
        rule="inspections.enough_candidates",
    )


def create_inspection(session: Session, data: dict[str, Any]) -> InspectionDraw:
    errors: dict[str, list[str]] = {}
    population = data.get("population") or {}
    regions = [
        r
        for r in (check_region(c, "population", errors) for c in population.get("regions") or [])
        if r
    ]
    pool_spec = data["inspectors"]
    if pool_spec.get("specialty"):
        check_specialty_codes([pool_spec["specialty"]], "inspectors", errors)
    inspector_regions = [
        r
        for r in (check_region(c, "inspectors", errors) for c in pool_spec.get("regions") or [])
        if r
    ]
    employers = [
        u
        for u in (check_uscc(c, "inspectors", errors) for c in pool_spec.get("employers") or [])
        if u
    ]
    if errors:
        raise Invalid(errors, rule="inspections.request_valid")
    now = clock.now()
    seed = engine.new_seed()
    request = {
        "title": data["title"],
        "population": {"kinds": list(population.get("kinds") or []), "regions": regions},
        "subjects": data["subjects"],
        "inspectors": {
            "count": pool_spec["count"],
            "specialty": pool_spec.get("specialty"),
            "regions": inspector_regions,
            "employers": employers,
        },
        "sector": data.get("sector"),
    }
    inspection = InspectionDraw(
        title=data["title"],
        request=request,
        seed_commitment=engine.commitment(seed),
        seed=seed.hex(),
        subject_pool=[],
        subject_pool_digest="",
        inspector_pool=[],
        inspector_pool_digest="",
        inspector_exclusions=[],
        subjects=[],
        inspectors=[],
        actor=session.info.get("actor", "system"),
        created_at=now,
    )
    session.add(inspection)
    # The commitment is stored before the population is read.
    session.flush()

    stmt = select(Subject.id)
    if request["population"]["kinds"]:
        stmt = stmt.where(Subject.kind.in_(request["population"]["kinds"]))
    if regions:
        stmt = stmt.where(region_condition(Subject.region, regions))
    population_ids = engine.canonical_pool(str(i) for i in session.scalars(stmt))
    if len(population_ids) < data["subjects"]:
        raise _shortfall("subjects", data["subjects"], len(population_ids))
    [drawn] = engine.draw(seed, [engine.SeatGroup("subjects", population_ids, data["subjects"], 0)])
    drawn_ids = [int(i) for i in drawn.selected]

    rows = _inspector_candidates(session, request["inspectors"])
    drawn_orgs = tuple(
        u for u in session.scalars(select(Subject.uscc).where(Subject.id.in_(drawn_ids))) if u
    )
    ctx = Context(
        start=now,
        end=now + timedelta(days=1),
        parties=Parties(None, None, drawn_orgs, ()),
        sector=data.get("sector"),
        region=None,
        region_mode="any",
        regions=(),
        settings=DrawSettings(),
    )
    excluded = standing_reasons(session, rows, ctx)
    drawn_people = set(drawn_ids)
    for row in rows:
        if row.subject_id in drawn_people:
            excluded.setdefault(row.expert_id, []).append(
                Reason("inspections.inspected", "is one of the subjects drawn for inspection")
            )
    inspector_ids = engine.canonical_pool(
        str(r.expert_id) for r in rows if r.expert_id not in excluded
    )
    count = request["inspectors"]["count"]
    if len(inspector_ids) < count:
        raise _shortfall("inspectors", count, len(inspector_ids))
    [sent] = engine.draw(seed, [engine.SeatGroup("inspectors", inspector_ids, count, 0)])

    inspection.subject_pool = population_ids
    inspection.subject_pool_digest = engine.pool_digest(population_ids)
    inspection.inspector_pool = inspector_ids
    inspection.inspector_pool_digest = engine.pool_digest(inspector_ids)
    inspection.inspector_exclusions = [
        {"expert_id": expert_id, "reasons": [r.as_dict() for r in reasons]}
        for expert_id, reasons in sorted(excluded.items())
    ]
    inspection.subjects = list(drawn.selected)
    inspection.inspectors = list(sent.selected)
    session.flush()
    audit.record(
        session,
        "inspection.create",
        "inspection",
        inspection.id,
        after={
            "seed_commitment": inspection.seed_commitment,
            "subject_pool_digest": inspection.subject_pool_digest,
            "inspector_pool_digest": inspection.inspector_pool_digest,
            "subjects": inspection.subjects,
            "inspectors": inspection.inspectors,
        },
    )
    return inspection


def _inspector_candidates(session: Session, spec: dict[str, Any]) -> list[CandidateRow]:
    stmt = select(Expert.id, Expert.subject_id, Expert.status, Expert.employer_uscc)
    if spec.get("specialty"):
        stmt = stmt.join(ExpertSpecialty, ExpertSpecialty.expert_id == Expert.id).where(
            ExpertSpecialty.code == spec["specialty"]
        )
    if spec.get("regions"):
        stmt = stmt.where(region_condition(Expert.region, spec["regions"]))
    if spec.get("employers"):
        stmt = stmt.where(Expert.employer_uscc.in_(spec["employers"]))
    return [CandidateRow(*row) for row in session.execute(stmt)]


def open_inspection(
    session: Session, inspection_id: int, role: str | None
) -> tuple[InspectionDraw, bool]:
    """The inspection and whether the caller sees the unpublished, unmasked record."""
    inspection = session.get(InspectionDraw, inspection_id)
    insider = role in READER_ROLES
    if inspection is None or (inspection.published_at is None and not insider):
        raise NotFound(f"No published inspection {inspection_id}.", rule="inspections.exists")
    return inspection, insider


def inspections_query(role: str | None) -> Select:
    stmt = select(InspectionDraw).order_by(InspectionDraw.id.desc())
    if role not in READER_ROLES:
        stmt = stmt.where(InspectionDraw.published_at.isnot(None))
    return stmt


def verify_inspection(inspection: InspectionDraw) -> dict[str, Any]:
    try:
        seed = bytes.fromhex(inspection.seed)
    except ValueError:
        seed = b""
    answers = {}
    for key, pool, digest, picked in (
        ("subjects", inspection.subject_pool, inspection.subject_pool_digest, inspection.subjects),
        (
            "inspectors",
            inspection.inspector_pool,
            inspection.inspector_pool_digest,
            inspection.inspectors,
        ),
    ):
        try:
            group = engine.SeatGroup(key, tuple(map(str, pool)), max(1, len(picked)), 0)
            answer = engine.verify(
                seed,
                inspection.seed_commitment,
                [group],
                [engine.GroupResult(key, tuple(map(str, picked)), ())],
                published_pool_digests={key: digest},
            )
        except (ValueError, TypeError):
            answer = {"match": False}
        answers[key] = answer
    return {"match": all(a["match"] for a in answers.values()), **answers}


def inspection_view(session: Session, inspection: InspectionDraw, insider: bool) -> dict[str, Any]:
    subject_ids = [int(i) for i in inspection.subjects]
    subjects = {
        s.id: s for s in session.scalars(select(Subject).where(Subject.id.in_(subject_ids)))
    }
    inspector_ids = [int(i) for i in inspection.inspectors]
    names = dict(
        session.execute(
            select(Expert.id, Subject.name)
            .join(Subject, Subject.id == Expert.subject_id)
            .where(Expert.id.in_(inspector_ids))
        ).all()
    )

    def subject_entry(subject: Subject) -> dict[str, Any]:
        person = subject.uscc is None
        ref = subject.uscc or (
            subject.id_number if insider else mask_resident_id(subject.id_number or "")
        )
        return {
            "id": subject.id,
            "name": mask_name(subject.name) if person and not insider else subject.name,
            "kind": subject.kind,
            "ref": ref,
            "region": subject.region,
        }

    results = session.scalars(
        select(InspectionResult)
        .where(InspectionResult.inspection_id == inspection.id)
        .order_by(InspectionResult.id)
    )
    return {
        "id": inspection.id,
        "title": inspection.title,
        "created_at": inspection.created_at,
        "published_at": inspection.published_at,
        "seed_commitment": inspection.seed_commitment,
        "seed": inspection.seed if inspection.published_at else None,
        "population_size": len(inspection.subject_pool),
        "subject_pool_digest": inspection.subject_pool_digest,
        "inspector_pool_size": len(inspection.inspector_pool),
        "inspector_pool_digest": inspection.inspector_pool_digest,
        "subjects": [subject_entry(subjects[i]) for i in subject_ids if i in subjects],
        "inspectors": [
            {
                "id": i,
                "name": names.get(i, "") if insider else mask_name(names.get(i, "")),
            }
            for i in inspector_ids
        ],
        "results": [result_view(inspection, r) for r in results],
        # The pools (ids) and the seed, once revealed, let anyone recompute both draws.
        "subject_pool": [int(i) for i in inspection.subject_pool],
        "inspector_pool": [int(i) for i in inspection.inspector_pool],
        "inspector_exclusions": dict(
            Counter(
                rule
                for item in inspection.inspector_exclusions
                for rule in {reason["rule"] for reason in item["reasons"]}
            )
        ),
        "request": inspection.request,
        "verification": verify_inspection(inspection),
    }


def _lock(session: Session, inspection: InspectionDraw) -> None:
    """Hold the inspection's row: results and publication of one inspection queue."""
    session.execute(
        select(InspectionDraw.id).where(InspectionDraw.id == inspection.id).with_for_update()
    ).all()
    session.refresh(inspection)


def record_result(
    session: Session, inspection: InspectionDraw, data: dict[str, Any]
) -> InspectionResult:
    """The outcome of inspecting a drawn subject. Before publication one per subject; a
    result that arrives after publication (a late report, a follow-up after 整改) is a new
    entry, public at once and marked as after publication; nothing published is changed."""
    _lock(session, inspection)
    late = inspection.published_at is not None
    if str(data["subject_id"]) not in {str(i) for i in inspection.subjects}:
        raise Invalid(
            {"subject_id": [f"subject {data['subject_id']} was not drawn for this inspection"]},
            rule="inspections.subject_drawn",
        )
    exists = session.scalar(
        select(InspectionResult.id).where(
            InspectionResult.inspection_id == inspection.id,
            InspectionResult.subject_id == data["subject_id"],
        )
    )
    if exists is not None and not late:
        raise Conflict(
            f"A result for subject {data['subject_id']} is already recorded.",
            errors={"subject_id": ["result already recorded"]},
            rule="inspections.result_once",
        )
    result = InspectionResult(
        inspection_id=inspection.id,
        subject_id=data["subject_id"],
        outcome=data["outcome"],
        note=data.get("note"),
        actor=session.info.get("actor", "system"),
        at=clock.now(),
    )
    session.add(result)
    session.flush()
    audit.record(
        session,
        "inspection.result",
        "inspection",
        inspection.id,
        after={
            "subject": result.subject_id,
            "outcome": result.outcome,
            "after_publication": late,
        },
    )
    return result


def result_view(inspection: InspectionDraw, result: InspectionResult) -> dict[str, Any]:
    return {
        "subject_id": result.subject_id,
        "outcome": result.outcome,
        "note": result.note,
        "at": result.at,
        "after_publication": inspection.published_at is not None
        and result.at >= inspection.published_at,
    }


def publish(session: Session, inspection: InspectionDraw) -> InspectionDraw:
    """Make the inspection public (一公开): subjects, inspectors, results and the seed."""
    _lock(session, inspection)
    if inspection.published_at is not None:
        raise Conflict(
            f"Inspection {inspection.id} was published at "
            f"{clock.rfc3339(inspection.published_at)}.",
            errors={"inspection": ["already published"]},
            rule="inspections.publish_once",
        )
    inspection.published_at = clock.now()
    session.flush()
    audit.record(
        session,
        "inspection.publish",
        "inspection",
        inspection.id,
        before={"published_at": None},
        after={"published_at": inspection.published_at},
    )
    return inspection
