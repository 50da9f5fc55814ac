"""Wire format of the expert pool, draws and random inspections."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from credit.scope import SECTORS
from experts.draw import ENTROPY_KINDS
from experts.models import ATTENDANCE, CONDUCT, EXPERT_STATUSES, REPLACEMENT_REASONS
from experts.services import EXPERT_RELATION_KINDS
from trading.db import MAX_ID
from trading.fields import Day, UtcDateTime
from trading.pagination import PageArgs

_ID = validate.Range(min=1, max=MAX_ID)
_USCC = validate.Length(min=1, max=40)
_REGION = validate.Length(min=1, max=12)
_CODE = validate.Length(min=1, max=12)


# --- specialties ----------------------------------------------------------------------------


class SpecialtyNodeSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    children = fields.List(fields.Nested(lambda: SpecialtyNodeSchema()), required=True)


# --- experts ----------------------------------------------------------------------------------


class ExpertInSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id_number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "居民身份证号 (GB 11643)"},
    )
    region = fields.String(required=True, validate=_REGION, metadata={"description": "GB/T 2260"})
    specialties = fields.List(
        fields.String(validate=_CODE),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "Codes of 发改法规〔2018〕316号, e.g. A0101"},
    )
    employer = fields.String(required=True, validate=_USCC, metadata={"description": "USCC"})
    title = fields.String(allow_none=True, validate=validate.Length(max=100))
    contact = fields.String(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Private: shown to admins and the drawing centre only"},
    )


class ExpertPatchSchema(ma.Schema):
    region = fields.String(validate=_REGION)
    specialties = fields.List(
        fields.String(validate=_CODE), validate=validate.Length(min=1, max=20)
    )
    employer = fields.String(allow_none=True, validate=_USCC)
    title = fields.String(allow_none=True, validate=validate.Length(max=100))
    contact = fields.String(allow_none=True, validate=validate.Length(max=200))


class ExpertQuerySchema(PageArgs):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Name contains"})
    specialty = fields.String(
        validate=_CODE, metadata={"description": "Holds this code or one below it"}
    )
    region = fields.String(
        validate=validate.Regexp(r"^[0-9]{6}$"),
        metadata={"description": "GB/T 2260; a province or prefecture code covers its parts"},
    )
    status = fields.String(validate=validate.OneOf(EXPERT_STATUSES))


class SpecialtyRefSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class EmployerSchema(ma.Schema):
    uscc = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)


class LeaveSchema(ma.Schema):
    id = fields.Integer(required=True)
    start = Day(required=True)
    end = Day(required=True)
    reason = fields.String(required=True, allow_none=True)


class StatusChangeSchema(ma.Schema):
    from_ = fields.String(required=True, data_key="from", attribute="from")
    to = fields.String(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)
    at = UtcDateTime(required=True)


class RelatedSubjectSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    ref = fields.String(required=True)


class ExpertRelationSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    other = fields.Nested(RelatedSubjectSchema, required=True)
    start = Day(required=True, allow_none=True)
    end = Day(required=True, allow_none=True)


class ExpertSchema(ma.Schema):
    id = fields.Integer(required=True)
    subject_id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    specialties = fields.List(fields.Nested(SpecialtyRefSchema), required=True)
    employer = fields.Nested(EmployerSchema, required=True, allow_none=True)
    title = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    leaves = fields.List(fields.Nested(LeaveSchema), required=True)
    status_history = fields.List(fields.Nested(StatusChangeSchema), required=True)
    relations = fields.List(fields.Nested(ExpertRelationSchema), required=True)
    created_at = UtcDateTime(required=True)
    contact = fields.String(allow_none=True, metadata={"description": "Present for admins only"})


class ExpertListItemSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    specialties = fields.List(fields.String(), required=True)
    employer_uscc = fields.String(required=True, allow_none=True)
    title = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)


class StatusInSchema(ma.Schema):
    status = fields.String(required=True, validate=validate.OneOf(EXPERT_STATUSES))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LeaveInSchema(ma.Schema):
    start = Day(required=True)
    end = Day(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class ExpertRelationInSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(EXPERT_RELATION_KINDS))
    other = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "USCC, resident ID number or internal id of the other subject"},
    )
    share = fields.Decimal(
        allow_none=True,
        as_string=True,
        metadata={"description": "Percentage held (shareholder, interest), above 0, at most 100"},
    )
    start = Day(allow_none=True)
    end = Day(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


# --- draws ------------------------------------------------------------------------------------


class WindowSchema(ma.Schema):
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)


class SeatRequestSchema(ma.Schema):
    specialty = fields.String(required=True, validate=_CODE)
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    backups = fields.Integer(
        validate=validate.Range(min=0, max=50),
        metadata={"description": "Backups for this group; defaults to the request's"},
    )


class RegionRuleSchema(ma.Schema):
    mode = fields.String(
        load_default="any",
        validate=validate.OneOf(("any", "local", "exclude_local", "list")),
        metadata={
            "description": "local: the project's prefecture (本地); exclude_local: anywhere "
            "else (异地评标); list: the regions given (a province or prefecture code covers "
            "its parts)"
        },
    )
    regions = fields.List(fields.String(validate=_REGION), validate=validate.Length(max=100))


class ExternalProjectSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    note = fields.String(validate=validate.Length(max=2000))


class EntropySourceSchema(ma.Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(ENTROPY_KINDS),
        metadata={
            "description": "supervisor (the regulator present types it), public (a source "
            "named in advance), server (development only)"
        },
    )
    name = fields.String(
        validate=validate.Length(min=1, max=300),
        metadata={"description": "public: the source, e.g. 福彩3D 2026-12-05 draw"},
    )


class EntropyInSchema(ma.Schema):
    value = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The supervisor's text, or the public source's numbers"},
    )


class VoidInSchema(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    basis = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The decision or rule that voids the draw (作废依据)"},
    )


class DrawInSchema(ma.Schema):
    tender_ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "A tender registered here (POST /tenders), open and run by the "
            "drawing centre; its tenderee, agency and bidders become the draw's parties"
        },
    )
    entropy = fields.Nested(
        EntropySourceSchema,
        metadata={"description": "Who supplies the entropy; the centre's configuration by default"},
    )
    external_project = fields.Nested(
        ExternalProjectSchema,
        metadata={
            "description": "Required for a project outside the tender register (非进场项目): "
            "its name; refused for a registered tender"
        },
    )
    tenderee = fields.String(required=True, validate=_USCC)
    agency = fields.String(allow_none=True, validate=_USCC)
    bidders = fields.List(
        fields.String(validate=_USCC), load_default=list, validate=validate.Length(max=500)
    )
    regulators = fields.List(
        fields.String(validate=_USCC),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "USCCs of the project's regulators: their staff may not sit"},
    )
    sector = fields.String(
        allow_none=True,
        validate=validate.OneOf(SECTORS),
        metadata={"description": "For the credit check; listings scoped elsewhere do not bar"},
    )
    region = fields.String(
        allow_none=True,
        validate=_REGION,
        metadata={"description": "The project's region; defaults to the tenderee's"},
    )
    window = fields.Nested(WindowSchema, required=True)
    seats = fields.List(
        fields.Nested(SeatRequestSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    backups = fields.Integer(load_default=0, validate=validate.Range(min=0, max=50))
    region_rule = fields.Nested(RegionRuleSchema, allow_none=True)


class DrawQuerySchema(PageArgs):
    tender_ref = fields.String(validate=validate.Length(max=100))


class WindowOutSchema(ma.Schema):
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)


class SeatedExpertSchema(ma.Schema):
    id = fields.Integer(required=True)
    seat = fields.Integer(required=True)
    specialty = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "draw, backup, supplementary"})
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    contact = fields.String(allow_none=True, metadata={"description": "For the drawing centre"})


class BackupSchema(ma.Schema):
    id = fields.Integer(required=True)
    specialty = fields.String(required=True)
    order = fields.Integer(required=True, metadata={"description": "Calling order, from 1"})
    state = fields.String(required=True, metadata={"description": "waiting, seated, released"})
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    contact = fields.String(allow_none=True)


class ExclusionReasonSchema(ma.Schema):
    rule = fields.String(required=True)
    message = fields.String(required=True)


class ExclusionSchema(ma.Schema):
    expert_id = fields.Integer(required=True)
    reasons = fields.List(fields.Nested(ExclusionReasonSchema), required=True)


class GroupRecordSchema(ma.Schema):
    specialty = fields.String(required=True)
    seats = fields.Integer(required=True)
    backups_requested = fields.Integer(required=True)
    pool_size = fields.Integer(required=True)
    pool_digest = fields.String(required=True)
    excluded = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "How many candidates each rule excluded"},
    )
    selected = fields.List(fields.Integer(), required=True)
    backups = fields.List(fields.Integer(), required=True)
    pool = fields.List(fields.Integer(), metadata={"description": "After unsealing"})
    exclusions = fields.List(
        fields.Nested(ExclusionSchema), metadata={"description": "After unsealing"}
    )


class RoundRecordSchema(ma.Schema):
    number = fields.Integer(
        required=True, metadata={"description": "0: the draw; then supplementary"}
    )
    reason = fields.String(required=True)
    scheme = fields.String(
        required=True, metadata={"description": "v1: SHA-256(seed); v2: commit, then reveal"}
    )
    seed_commitment = fields.String(
        required=True, metadata={"description": "Published before anyone is chosen (v2)"}
    )
    seed = fields.String(
        required=True, allow_none=True, metadata={"description": "After unsealing"}
    )
    server_secret = fields.String(allow_none=True, metadata={"description": "After unsealing"})
    request_digest = fields.String(allow_none=True)
    entropy = fields.Dict(
        allow_none=True,
        metadata={"description": "kind, name, value (after the reveal), development_only"},
    )
    withdrawn = fields.List(
        fields.Integer(),
        metadata={"description": "Taken by another draw between commitment and reveal"},
    )
    created_at = UtcDateTime(required=True)
    groups = fields.List(fields.Nested(GroupRecordSchema), required=True)


class SkippedSchema(ma.Schema):
    expert_id = fields.Integer(required=True)
    reasons = fields.List(fields.Nested(ExclusionReasonSchema), required=True)


class ReplacementRecordSchema(ma.Schema):
    seat = fields.Integer(required=True)
    old_expert_id = fields.Integer(required=True)
    new_expert_id = fields.Integer(required=True)
    reason = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    source = fields.String(required=True)
    round = fields.Integer(required=True)
    skipped = fields.List(fields.Nested(SkippedSchema), required=True)
    actor = fields.String(required=True)
    at = UtcDateTime(required=True)


class FeedbackRecordSchema(ma.Schema):
    expert_id = fields.Integer(required=True)
    attendance = fields.String(required=True)
    conduct = fields.String(required=True)
    credit_record_id = fields.Integer(required=True, allow_none=True)
    at = UtcDateTime(required=True)


class FailedReplacementSchema(ma.Schema):
    seat = fields.Integer(required=True)
    expert_id = fields.Integer(required=True, metadata={"description": "Who declined"})
    reason = fields.String(required=True)
    note = fields.String(allow_none=True)
    rule = fields.String(allow_none=True, metadata={"description": "Why nobody was found"})
    message = fields.String(required=True)
    skipped = fields.List(fields.Nested(SkippedSchema), required=True)
    actor = fields.String(required=True)
    at = UtcDateTime(required=True)


class DrawSchema(ma.Schema):
    id = fields.Integer(required=True)
    tender_ref = fields.String(required=True)
    external_project = fields.Nested(ExternalProjectSchema, allow_none=True)
    state = fields.String(
        required=True, metadata={"description": "committed (awaiting entropy), drawn, void"}
    )
    commitment = fields.String(
        required=True, metadata={"description": "The round-0 commitment, public from the start"}
    )
    entropy = fields.Dict(required=True, metadata={"description": "kind and name of its source"})
    void = fields.Dict(allow_none=True, metadata={"description": "at, reason, basis, by"})
    tender_draws = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "Every draw this tender ever had: id, state, void reason"},
    )
    centre = fields.String(required=True)
    window = fields.Nested(WindowOutSchema, required=True)
    unseal_at = UtcDateTime(required=True)
    sealed = fields.Boolean(required=True)
    created_at = UtcDateTime(required=True)
    experts = fields.List(fields.Nested(SeatedExpertSchema), required=True)
    backups = fields.List(fields.Nested(BackupSchema), required=True)
    rounds = fields.List(fields.Nested(RoundRecordSchema), required=True)
    replacements = fields.List(fields.Nested(ReplacementRecordSchema), required=True)
    failed_replacements = fields.List(
        fields.Nested(FailedReplacementSchema),
        metadata={"description": "Replacements that found nobody; the seat stayed as it was"},
    )
    request = fields.Dict(metadata={"description": "After unsealing"})
    feedback = fields.List(fields.Nested(FeedbackRecordSchema))


class DrawStateSchema(ma.Schema):
    id = fields.Integer(required=True)
    tender_ref = fields.String(required=True)
    state = fields.String(required=True)
    commitment = fields.String(required=True)
    entropy = fields.Dict(required=True)
    void = fields.Dict(allow_none=True)


class DrawListItemSchema(ma.Schema):
    id = fields.Integer(required=True)
    tender_ref = fields.String(required=True)
    centre = fields.String(required=True)
    window = fields.Nested(WindowOutSchema, required=True)
    unseal_at = UtcDateTime(required=True)
    sealed = fields.Boolean(required=True)
    created_at = UtcDateTime(required=True)


class RoundVerificationSchema(ma.Schema):
    number = fields.Integer(required=True)
    match = fields.Boolean(required=True)
    seed_matches_commitment = fields.Boolean(required=True)
    results_match = fields.Boolean(required=True)
    pools_match = fields.Boolean(required=True, allow_none=True)
    pool_digests = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    mismatched_groups = fields.List(fields.String(), required=True)
    scheme = fields.String(required=True)
    revealed = fields.Boolean(metadata={"description": "v2: the entropy was supplied"})
    entropy = fields.Dict(
        allow_none=True,
        metadata={"description": "Its source; development_only for server entropy"},
    )
    withdrawn = fields.List(fields.Integer(), required=True)


class ChainCheckSchema(ma.Schema):
    match = fields.Boolean(required=True)
    entries = fields.Integer(
        required=True, metadata={"description": "Audit entries of the draw compared"}
    )
    entries_intact = fields.Boolean(
        required=True,
        metadata={"description": "Each entry's digest and hash recompute, and the chain links it"},
    )
    differs = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Parts of the stored record that differ from what the chain recorded: "
            "commitment, seed, pools, results, replacements"
        },
    )
    problems = fields.List(fields.String(), required=True)


class VerificationSchema(ma.Schema):
    match = fields.Boolean(required=True)
    draw_id = fields.Integer(required=True)
    rounds = fields.List(fields.Nested(RoundVerificationSchema), required=True)
    replacements_match = fields.Boolean(required=True)
    replacement_problems = fields.List(fields.String(), required=True)
    chain = fields.Nested(ChainCheckSchema, required=True)


class ReplacementInSchema(ma.Schema):
    expert_id = fields.Integer(required=True, validate=_ID)
    reason = fields.String(
        required=True,
        validate=validate.OneOf(REPLACEMENT_REASONS),
        metadata={
            "description": "declined (拒绝), no_answer (联系不上), conflict (回避, declared late)"
        },
    )
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class NewExpertSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    region = fields.String(required=True)
    contact = fields.String(required=True, allow_none=True)


class ReplacementSchema(ma.Schema):
    draw_id = fields.Integer(required=True)
    seat = fields.Integer(required=True)
    old_expert_id = fields.Integer(required=True)
    new_expert = fields.Nested(NewExpertSchema, required=True)
    reason = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    source = fields.String(required=True, metadata={"description": "backup or supplementary"})
    round = fields.Integer(required=True)
    skipped = fields.List(fields.Nested(SkippedSchema), required=True)
    at = UtcDateTime(required=True)


class FeedbackInSchema(ma.Schema):
    expert_id = fields.Integer(required=True, validate=_ID)
    attendance = fields.String(required=True, validate=validate.OneOf(ATTENDANCE))
    conduct = fields.String(load_default="good", validate=validate.OneOf(CONDUCT))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class FeedbackSchema(ma.Schema):
    id = fields.Integer(required=True)
    draw_id = fields.Integer(required=True)
    expert_id = fields.Integer(required=True)
    attendance = fields.String(required=True)
    conduct = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    credit_record_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The credit record written"}
    )
    at = UtcDateTime(required=True)


# --- random inspections -------------------------------------------------------------------------


class PopulationSchema(ma.Schema):
    kinds = fields.List(
        fields.String(validate=validate.OneOf(("bidder", "agency", "practitioner", "tenderee"))),
        validate=validate.Length(max=4),
    )
    regions = fields.List(fields.String(validate=_REGION), validate=validate.Length(max=100))


class InspectorPoolSchema(ma.Schema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=200))
    specialty = fields.String(allow_none=True, validate=_CODE)
    regions = fields.List(fields.String(validate=_REGION), validate=validate.Length(max=100))
    employers = fields.List(
        fields.String(validate=_USCC),
        validate=validate.Length(max=50),
        metadata={"description": "Only experts employed by these (e.g. the inspecting body)"},
    )


class InspectionInSchema(ma.Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    population = fields.Nested(PopulationSchema, load_default=dict)
    subjects = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "How many subjects to inspect"},
    )
    inspectors = fields.Nested(InspectorPoolSchema, required=True)
    sector = fields.String(allow_none=True, validate=validate.OneOf(SECTORS))


class InspectionQuerySchema(PageArgs):
    pass


class InspectedSubjectSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    ref = fields.String(required=True, metadata={"description": "USCC, or masked ID number"})
    region = fields.String(required=True)


class InspectorSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class InspectionResultSchema(ma.Schema):
    subject_id = fields.Integer(required=True)
    outcome = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    at = UtcDateTime(required=True)
    after_publication = fields.Boolean(
        required=True, metadata={"description": "Recorded after the inspection was published"}
    )


class InspectionSchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    published_at = UtcDateTime(required=True, allow_none=True)
    seed_commitment = fields.String(required=True)
    seed = fields.String(required=True, allow_none=True)
    population_size = fields.Integer(required=True)
    subject_pool_digest = fields.String(required=True)
    inspector_pool_size = fields.Integer(required=True)
    inspector_pool_digest = fields.String(required=True)
    subjects = fields.List(fields.Nested(InspectedSubjectSchema), required=True)
    inspectors = fields.List(fields.Nested(InspectorSchema), required=True)
    results = fields.List(fields.Nested(InspectionResultSchema), required=True)
    subject_pool = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "Subject ids drawn from, canonical order (ids as text sorted)"},
    )
    inspector_pool = fields.List(
        fields.Integer(), required=True, metadata={"description": "Expert ids drawn from"}
    )
    inspector_exclusions = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Experts left out of the inspector pool, counted by rule"},
    )
    request = fields.Dict(required=True)
    verification = fields.Dict(
        required=True,
        metadata={"description": "Recomputed from the record: {match, subjects, inspectors}"},
    )


class InspectionListItemSchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    published_at = UtcDateTime(required=True, allow_none=True)


class InspectionResultInSchema(ma.Schema):
    subject_id = fields.Integer(required=True, validate=_ID)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(("compliant", "issues_found", "not_located")),
        metadata={"description": "合格 / 发现问题 / 未发现 (not at its address)"},
    )
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))
