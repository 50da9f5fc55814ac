"""Wire format of collusion scans, alerts and reviews."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from trading.collusion.models import ALERT_SCOPES, ALERT_STATUSES, DECISIONS, VERDICTS
from trading.fields import Day, UtcDateTime
from trading.pagination import PageArgs
from trading.schemas import REF_PATTERN

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"


class ScanRequestSchema(ma.Schema):
    tender_ref = ma.fields.String(
        allow_none=True,
        validate=validate.Regexp(REF_PATTERN, error="a tender reference"),
        metadata={"description": "Scan this tender only (at opening); omit to scan everything"},
    )


class ScanResultSchema(ma.Schema):
    scope = ma.fields.String(required=True, validate=validate.OneOf(("tender", "market")))
    tender_ref = ma.fields.String(allow_none=True)
    tenders = ma.fields.Integer(required=True)
    bids = ma.fields.Integer(required=True)
    evidence = ma.fields.Integer(required=True)
    clusters = ma.fields.Integer(required=True)
    alerts_created = ma.fields.Integer(required=True)
    alerts_updated = ma.fields.Integer(required=True)
    alerts_unchanged = ma.fields.Integer(required=True)
    alerts_suppressed = ma.fields.Integer(
        required=True,
        metadata={"description": "Groups already reviewed, found again with nothing new"},
    )
    clusters_below_threshold = ma.fields.Integer(required=True)
    alert_ids = ma.fields.List(
        ma.fields.Integer(), required=True, metadata={"description": "Created or updated"}
    )
    model_version = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The learned model that rescored the tenders, if any"},
    )
    seconds = ma.fields.Float(required=True)


class AlertListArgs(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(ALERT_STATUSES))
    scope = ma.fields.String(validate=validate.OneOf(ALERT_SCOPES))
    min_score = ma.fields.Float(validate=validate.Range(min=0, max=1))
    max_score = ma.fields.Float(validate=validate.Range(min=0, max=1))
    member = ma.fields.String(
        validate=validate.Regexp(USCC_PATTERN, error="a USCC"),
        metadata={"description": "Alerts naming this bidder (USCC)"},
    )
    tender = ma.fields.String(
        validate=validate.Regexp(REF_PATTERN, error="a tender reference"),
        metadata={"description": "Alerts about this tender (its reference)"},
    )
    region = ma.fields.String(
        validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6})$", error="2, 4 or 6 digits"),
        metadata={
            "description": "Alerts with a member registered in this GB/T 2260 region (a "
            "province's 2, a city's 4 or a county's 6 digits), read from the member's USCC"
        },
    )


class BasisSchema(ma.Schema):
    authority = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    document_no = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    decided_on = Day(required=True)


class ReviewCreateSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(DECISIONS))
    note = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "Why: kept in the alert's history"},
    )
    record_members = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(USCC_PATTERN, error="a USCC")),
        validate=validate.Length(max=100),
        metadata={"description": "Members (USCC) to give a 围标串标 credit record (confirm only)"},
    )
    basis = ma.fields.Nested(
        BasisSchema,
        allow_none=True,
        metadata={"description": "Legal basis of the decision; required with record_members"},
    )
    severity = ma.fields.String(
        load_default="serious", validate=validate.OneOf(("minor", "general", "serious"))
    )
    effective_from = Day(metadata={"description": "Defaults to basis.decided_on"})
    effective_to = Day(metadata={"description": "Defaults to the longest period"})

    @ma.validates_schema
    def _records_need_basis(self, data: dict, **kwargs: Any) -> None:
        if data.get("record_members") and not data.get("basis"):
            raise ma.ValidationError("required when record_members are given", "basis")
        if data.get("record_members") and data.get("decision") != "confirm":
            raise ma.ValidationError(
                "credit records are written only when confirming", "record_members"
            )


class EvidenceSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "e.g. same_machine_code"})
    source = ma.fields.String(
        required=True,
        validate=validate.OneOf(("red_flag", "screen", "network")),
        metadata={"description": "red_flag (art. 40), screen (prices) or network"},
    )
    weight = ma.fields.Float(required=True, metadata={"description": "0..1"})
    tender = ma.fields.String(allow_none=True, metadata={"description": "Tender ref, if one"})
    members = ma.fields.List(ma.fields.String(), required=True)
    detail = ma.fields.String(required=True)


class ReviewSchema(ma.Schema):
    decision = ma.fields.String(required=True)
    note = ma.fields.String(required=True)
    reviewer = ma.fields.String(required=True)
    reviewed_at = UtcDateTime(required=True)
    status_before = ma.fields.String(required=True)
    status_after = ma.fields.String(required=True)
    record_ids = ma.fields.List(
        ma.fields.Integer(), required=True, metadata={"description": "Credit records written"}
    )


class BidderNameSchema(ma.Schema):
    uscc = ma.fields.String(required=True)
    name = ma.fields.String(allow_none=True)
    learned_score = ma.fields.Float(
        allow_none=True, metadata={"description": "The firm's learned score, if scored"}
    )


class AlertSummarySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(ALERT_STATUSES))
    scope = ma.fields.String(required=True, validate=validate.OneOf(ALERT_SCOPES))
    score = ma.fields.Float(required=True, metadata={"description": "0..1"})
    members = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "USCCs"})
    tenders = ma.fields.List(ma.fields.String(), required=True)
    explanation = ma.fields.String(required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    bidders = ma.fields.List(
        ma.fields.Nested(BidderNameSchema),
        required=True,
        metadata={"description": "The members with their names, in the order of members"},
    )
    learned_score = ma.fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "Mean learned score of its tenders; null without a model"},
    )
    model_version = ma.fields.Integer(
        allow_none=True, required=True, metadata={"description": "The model that scored it"}
    )


class AlertSchema(AlertSummarySchema):
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), required=True)
    reviews = ma.fields.List(ma.fields.Nested(ReviewSchema), required=True)


class TenderReviewCreateSchema(ma.Schema):
    verdict = ma.fields.String(
        required=True,
        validate=validate.OneOf(VERDICTS),
        metadata={"description": "collusive (rigged) or competitive: a label for the model"},
    )
    note = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "Why: kept with the review"},
    )


class TenderReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    tender = ma.fields.String(required=True)
    verdict = ma.fields.String(required=True, validate=validate.OneOf(VERDICTS))
    note = ma.fields.String(required=True)
    reviewer = ma.fields.String(required=True)
    reviewed_at = UtcDateTime(required=True)


class FeatureImportanceSchema(ma.Schema):
    feature = ma.fields.String(required=True)
    meaning = ma.fields.String(required=True)
    importance = ma.fields.Float(
        required=True, metadata={"description": "Share of the forest's impurity decrease"}
    )


class ScoreModelSchema(ma.Schema):
    version = ma.fields.Integer(required=True)
    algorithm = ma.fields.String(required=True)
    seed = ma.fields.Integer(required=True)
    cv_auc = ma.fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "Cross-validated AUC on the reviewed tenders (folds by review)"},
    )
    confirmed = ma.fields.Integer(
        required=True, metadata={"description": "Positive reviews: confirmed alerts, tenders"}
    )
    dismissed = ma.fields.Integer(
        required=True, metadata={"description": "Negative reviews: dismissed alerts, tenders"}
    )
    training_tenders = ma.fields.Integer(required=True)
    tenders_scored = ma.fields.Integer(required=True)
    firms_scored = ma.fields.Integer(required=True)
    params_digest = ma.fields.String(required=True)
    labels_digest = ma.fields.String(required=True)
    created_by = ma.fields.String(required=True)
    created_at = UtcDateTime(required=True)


class ScoreModelDetailSchema(ScoreModelSchema):
    base = ma.fields.Float(
        required=True, metadata={"description": "Score of a tender the trees know nothing of"}
    )
    trees = ma.fields.Integer(required=True)
    features = ma.fields.List(
        ma.fields.Nested(FeatureImportanceSchema),
        required=True,
        metadata={"description": "The features, the most important first"},
    )


class TrainResultSchema(ScoreModelSchema):
    seconds = ma.fields.Float(required=True)
