"""Expert pool, draws and random inspections API. Views are thin: the rules live in
``experts.services``, ``experts.draws`` and ``experts.inspections``."""

from __future__ import annotations

from flask import current_app

from experts import draws, inspections, services, specialties
from experts.schemas import (
    DrawInSchema,
    DrawListItemSchema,
    DrawQuerySchema,
    DrawSchema,
    DrawStateSchema,
    EntropyInSchema,
    ExpertInSchema,
    ExpertListItemSchema,
    ExpertPatchSchema,
    ExpertQuerySchema,
    ExpertRelationInSchema,
    ExpertRelationSchema,
    ExpertSchema,
    FeedbackInSchema,
    FeedbackSchema,
    InspectionInSchema,
    InspectionListItemSchema,
    InspectionQuerySchema,
    InspectionResultInSchema,
    InspectionResultSchema,
    InspectionSchema,
    LeaveInSchema,
    LeaveSchema,
    ReplacementInSchema,
    ReplacementSchema,
    SpecialtyNodeSchema,
    StatusInSchema,
    VerificationSchema,
    VoidInSchema,
)
from trading.auth import access, principal
from trading.db import get_session, storable_id
from trading.errors import NotFound, documents_errors
from trading.idempotency import idempotent
from trading.openapi import Blueprint
from trading.pagination import page_of, paginate

blp = Blueprint("experts", __name__, url_prefix="/api/v1", description="Experts and draws")


def _settings() -> draws.DrawSettings:
    return draws.settings_from(current_app.config)


def _in_range(identifier: int, what: str, rule: str) -> int:
    # Ids beyond the column's range cannot exist; asking the database would be an error.
    if not storable_id(identifier):
        raise NotFound(f"No {what} {identifier}.", rule=rule)
    return identifier


def _expert(expert_id: int):
    return services.get_expert(get_session(), _in_range(expert_id, "expert", "experts.exists"))


def _not_found(description: str):
    return documents_errors(blp, {404: description})


def _conflict(description: str):
    return documents_errors(blp, {409: description})


def _invalid(description: str = "A rule refused the input (field by field)"):
    return documents_errors(blp, {422: description})


def _bad_request(func):
    return documents_errors(blp, {400: "Malformed body"})(func)


# --- specialties ------------------------------------------------------------------------------


@blp.route("/specialties", methods=["GET"])
@access(blp)
@blp.response(200, SpecialtyNodeSchema(many=True))
def specialty_tree():
    """The national classification of evaluation specialties (发改法规〔2018〕316号) as a tree."""
    return specialties.tree()


# --- experts ------------------------------------------------------------------------------------


@blp.route("/experts", methods=["POST"])
@access(blp)
@blp.arguments(ExpertInSchema)
@blp.response(201, ExpertSchema)
@_conflict("The person is already an expert")
@_invalid()
@_bad_request
def create_expert(data):
    """Register an expert (admin). The person becomes a credit subject (practitioner)."""
    session = get_session()
    expert = services.create_expert(session, data)
    return services.expert_view(session, expert, with_contact=True)


@blp.route("/experts", methods=["GET"])
@access(blp)
@blp.arguments(ExpertQuerySchema, location="query")
@blp.response(200, page_of(ExpertListItemSchema))
def list_experts(args):
    """Experts by name, specialty (the code or one below it), region and status; paginated."""
    session = get_session()
    stmt = services.search_experts(
        session,
        q=args.get("q"),
        specialty=args.get("specialty"),
        region=args.get("region"),
        status=args.get("status"),
    )
    page = paginate(session, stmt, args["page"], args["page_size"])
    page["items"] = services.list_view(session, page["items"])
    return page


@blp.route("/experts/<int:expert_id>", methods=["GET"])
@access(blp)
@blp.response(200, ExpertSchema)
@_not_found("Unknown expert")
def get_expert(expert_id):
    """One expert; the private contact and the full ID number only for admins (a
    regulator supervising the pool sees the number masked, as in lists)."""
    session = get_session()
    admin = principal().role == "admin"
    return services.expert_view(
        session, _expert(expert_id), with_contact=admin, full_id_number=admin
    )


@blp.route("/experts/<int:expert_id>", methods=["PATCH"])
@access(blp)
@blp.arguments(ExpertPatchSchema)
@blp.response(200, ExpertSchema)
@_not_found("Unknown expert")
@_invalid()
@_bad_request
def update_expert(data, expert_id):
    """Change an expert's region, specialties, employer, title or contact (admin)."""
    session = get_session()
    expert = services.update_expert(session, _expert(expert_id), data)
    return services.expert_view(session, expert, with_contact=True)


@blp.route("/experts/<int:expert_id>/status-changes", methods=["POST"])
@access(blp)
@blp.arguments(StatusInSchema)
@blp.response(201, ExpertSchema)
@_not_found("Unknown expert")
@_conflict("Already in that status")
@_bad_request
def change_status(data, expert_id):
    """Suspend (暂停), retire or reactivate an expert, with a reason (admin)."""
    session = get_session()
    expert = _expert(expert_id)
    services.change_status(session, expert, data)
    return services.expert_view(session, expert, with_contact=True)


@blp.route("/experts/<int:expert_id>/leaves", methods=["POST"])
@access(blp)
@blp.arguments(LeaveInSchema)
@blp.response(201, LeaveSchema)
@_not_found("Unknown expert")
@_conflict("Overlaps a leave already recorded")
@_invalid()
@_bad_request
def add_leave(data, expert_id):
    """Record a period of leave (admin); draws whose window touches it skip the expert."""
    leave = services.add_leave(get_session(), _expert(expert_id), data)
    return {"id": leave.id, "start": leave.starts_on, "end": leave.ends_on, "reason": leave.reason}


@blp.route("/experts/<int:expert_id>/relations", methods=["POST"])
@access(blp)
@blp.arguments(ExpertRelationInSchema)
@blp.response(201, ExpertRelationSchema)
@_not_found("Unknown expert")
@_invalid()
@_bad_request
def add_relation(data, expert_id):
    """The expert *is* employed by / relative of / holds an interest in ``other`` (admin)."""
    session = get_session()
    relation = services.add_expert_relation(session, _expert(expert_id), data)
    return services.relation_view(session, relation)


# --- draws ----------------------------------------------------------------------------------------


@blp.route("/draws", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(DrawInSchema)
@blp.response(201, DrawSchema)
@_conflict("Not enough experts (each group's shortfall and the reasons), or contention")
@_invalid()
@_bad_request
def create_draw(data):
    """Draw the experts of one tender (centre). Sealed to the centre until the window ends."""
    session = get_session()
    who = principal()
    draw = draws.draw_experts(session, who.org if who.role == "centre" else None, data, _settings())
    return draws.draw_view(session, draw, "owner")


@blp.route("/draws", methods=["GET"])
@access(blp)
@blp.arguments(DrawQuerySchema, location="query")
@blp.response(200, page_of(DrawListItemSchema))
def list_draws(args):
    """A centre's own draws; for auditors and regulators, the draws already unsealed."""
    session = get_session()
    who = principal()
    stmt = draws.draws_query(who.role, who.org, args.get("tender_ref"))
    page = paginate(session, stmt, args["page"], args["page_size"])
    page["items"] = [draws.draw_list_item(d) for d in page["items"]]
    return page


def _open(draw_id: int):
    who = principal()
    _in_range(draw_id, "draw", "draws.exists")
    return draws.open_draw(get_session(), draw_id, who.role, who.org)


@blp.route("/draws/<int:draw_id>", methods=["GET"])
@access(blp)
@blp.response(200, DrawSchema)
@_not_found("Unknown draw, or another centre's")
def get_draw(draw_id):
    """The owner's view (names, contacts), or after unsealing the whole record."""
    draw, audience = _open(draw_id)
    return draws.draw_view(get_session(), draw, audience)


@blp.route("/draws/<int:draw_id>/verification", methods=["GET"])
@access(blp)
@blp.response(200, VerificationSchema)
@_not_found("Unknown draw, or another centre's")
def verify_draw(draw_id):
    """Recompute the draw from its record: seed vs commitment, pools vs digests, order."""
    draw, _ = _open(draw_id)
    return draws.verify_draw(get_session(), draw)


@blp.route("/draws/<int:draw_id>/entropy", methods=["POST"])
@access(blp)
@blp.arguments(EntropyInSchema)
@blp.response(200, DrawStateSchema)
@_not_found("Unknown draw, or another centre's")
@_conflict("The draw is not awaiting entropy, or its window has ended")
@_invalid()
@_bad_request
def supply_entropy(data, draw_id):
    """Supply the entropy of a committed draw, which reveals it: the supervising regulator
    (kind supervisor) or the centre with the announced public numbers (kind public)."""
    who = principal()
    _in_range(draw_id, "draw", "draws.exists")
    draw = draws.supply_entropy(get_session(), draw_id, data, who.role, who.org, _settings())
    return draws.draw_state(get_session(), draw)


@blp.route("/draws/<int:draw_id>/void", methods=["POST"])
@access(blp)
@blp.arguments(VoidInSchema)
@blp.response(200, DrawStateSchema)
@_not_found("Unknown draw, or another centre's")
@_conflict("Already void")
@_invalid()
@_bad_request
def void(data, draw_id):
    """Void (作废) a draw with a reason and its basis (centre); the tender may then be drawn
    again, and every draw it had stays listed."""
    session = get_session()
    who = principal()
    _in_range(draw_id, "draw", "draws.exists")
    draw = draws.own_draw(session, draw_id, who.role, who.org)
    return draws.draw_state(session, draws.void_draw(session, draw, data))


@blp.route("/draws/<int:draw_id>/replacements", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(ReplacementInSchema)
@blp.response(201, ReplacementSchema)
@_not_found("Unknown draw, or another centre's")
@_conflict(
    "Window ended, the expert was already replaced, or not enough experts for a supplementary draw"
)
@_invalid()
@_bad_request
def replace(data, draw_id):
    """Replace a seated expert from the committed backup order (centre)."""
    session = get_session()
    who = principal()
    _in_range(draw_id, "draw", "draws.exists")
    draw = draws.own_draw(session, draw_id, who.role, who.org)
    replacement = draws.replace_expert(session, draw, data, _settings())
    return draws.replacement_view(session, replacement)


@blp.route("/draws/<int:draw_id>/feedback", methods=["POST"])
@access(blp)
@blp.arguments(FeedbackInSchema)
@blp.response(201, FeedbackSchema)
@_not_found("Unknown draw, or another centre's")
@_conflict("Evaluation not started, or feedback already given")
@_invalid()
@_bad_request
def feedback(data, draw_id):
    """Attendance and conduct of a seated expert (centre); feeds the expert's credit record."""
    session = get_session()
    who = principal()
    _in_range(draw_id, "draw", "draws.exists")
    draw = draws.own_draw(session, draw_id, who.role, who.org)
    return draws.feedback_view(draws.record_feedback(session, draw, data))


# --- random inspections -----------------------------------------------------------------------


def _role() -> str | None:
    who = principal()
    return who.role if who is not None else None


def _inspection(inspection_id: int):
    _in_range(inspection_id, "inspection", "inspections.exists")
    return inspections.open_inspection(get_session(), inspection_id, _role())


@blp.route("/inspections/draws", methods=["POST"])
@access(blp)
@idempotent(blp)
@blp.arguments(InspectionInSchema)
@blp.response(201, InspectionSchema)
@_conflict("Not enough subjects or inspectors")
@_invalid()
@_bad_request
def create_inspection(data):
    """Draw subjects to inspect and inspectors to send (双随机), verifiably (regulator)."""
    session = get_session()
    inspection = inspections.create_inspection(session, data)
    return inspections.inspection_view(session, inspection, insider=True)


@blp.route("/inspections/draws", methods=["GET"])
@access(blp)
@blp.arguments(InspectionQuerySchema, location="query")
@blp.response(200, page_of(InspectionListItemSchema))
def list_inspections(args):
    """Published inspections for everyone; all of them for regulators and auditors."""
    page = paginate(
        get_session(), inspections.inspections_query(_role()), args["page"], args["page_size"]
    )
    return page


@blp.route("/inspections/draws/<int:inspection_id>", methods=["GET"])
@access(blp)
@blp.response(200, InspectionSchema)
@_not_found("Unknown or unpublished inspection")
def get_inspection(inspection_id):
    """An inspection: public (persons masked) once published (一公开)."""
    inspection, insider = _inspection(inspection_id)
    return inspections.inspection_view(get_session(), inspection, insider)


@blp.route("/inspections/draws/<int:inspection_id>/results", methods=["POST"])
@access(blp)
@blp.arguments(InspectionResultInSchema)
@blp.response(201, InspectionResultSchema)
@_not_found("Unknown inspection")
@_conflict("A result for the subject is already recorded (before publication)")
@_invalid()
@_bad_request
def record_result(data, inspection_id):
    """The outcome of inspecting one drawn subject (regulator)."""
    inspection, _ = _inspection(inspection_id)
    result = inspections.record_result(get_session(), inspection, data)
    return inspections.result_view(inspection, result)


@blp.route("/inspections/draws/<int:inspection_id>/publication", methods=["POST"])
@access(blp)
@blp.response(200, InspectionSchema)
@_not_found("Unknown inspection")
@_conflict("Already published")
def publish_inspection(inspection_id):
    """Publish the inspection, its results and its seed (一公开; regulator)."""
    session = get_session()
    inspection, _ = _inspection(inspection_id)
    inspections.publish(session, inspection)
    return inspections.inspection_view(session, inspection, insider=True)
