"""Wire format of tenders and bids.

Money is accepted as a decimal string or a number in yuan and always written back as a
decimal string with two places, so no amount ever passes through a binary float.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import validate

from credit.scope import SECTORS
from trading.fields import Day, UtcDateTime
from trading.models import FINGERPRINT_FIELDS
from trading.pagination import PageArgs

#: Tender references go into URLs: letters, digits, and ``. _ -`` (no slash, no blank).
REF_PATTERN = r"^[\w.\-]{1,64}$"
_REF = re.compile(REF_PATTERN)
MAX_MONEY = Decimal("9999999999999999.99")  # what Numeric(18, 2) holds
TENDER_STATUSES = ("open", "closed", "awarded")


def is_ref(value: str) -> bool:
    return bool(_REF.match(value or ""))


class Money(ma.fields.Decimal):
    """A positive amount in yuan with at most two decimal places (fen).

    The bounds are checked on the exact decimal (a float bound would let 10^16 through,
    which Numeric(18, 2) cannot hold) and documented as plain numbers.
    """

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"minimum": 0.01, "maximum": float(MAX_MONEY), **kwargs.pop("metadata", {})}
        super().__init__(allow_nan=False, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        amount = super()._deserialize(value, attr, data, **kwargs)
        if not amount.is_finite() or not Decimal("0.01") <= amount <= MAX_MONEY:
            raise ma.ValidationError(f"must be at least 0.01 and at most {MAX_MONEY}")
        if amount != amount.quantize(Decimal("0.01")):
            raise ma.ValidationError("at most two decimal places (fen)")
        return amount


def money_out(**kwargs: Any) -> ma.fields.Decimal:
    """An amount as written: a decimal string such as ``"1234500.00"``."""
    return ma.fields.Decimal(
        as_string=True,
        places=2,
        metadata={"type": "string", "format": "decimal", "example": "1234500.00"},
        **kwargs,
    )


def _ref_field(description: str, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=validate.Length(min=1, max=40), metadata={"description": description}, **kwargs
    )


# --- requests ------------------------------------------------------------------------


class TenderCreateSchema(ma.Schema):
    ref = ma.fields.String(
        required=True,
        validate=validate.Regexp(REF_PATTERN, error="1 to 64 letters, digits, '.', '_' or '-'"),
        metadata={
            "description": "The tender's reference (招标项目编号/标段编号)",
            "example": "JS-2025-001",
        },
    )
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    tenderee = _ref_field("招标人: USCC or internal subject id", required=True)
    agency = _ref_field("招标代理机构: USCC or internal subject id", required=True)
    sector = ma.fields.String(required=True, validate=validate.OneOf(SECTORS))
    region = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{6}$", error="a 6-digit GB/T 2260 code"),
    )
    specialty = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[ABC](\d{2}){0,3}$", error="a specialty code such as A0101"),
        metadata={"description": "评标专家专业分类 code (发改法规〔2018〕316号)"},
    )
    estimate = Money(
        required=True,
        allow_none=True,
        metadata={"description": "Ceiling or pre-tender estimate in yuan (null when none)"},
    )
    deadline = UtcDateTime(required=True, metadata={"description": "Bids close (投标截止时间)"})
    opening_at = UtcDateTime(required=True, metadata={"description": "Bid opening (开标时间)"})

    @ma.validates_schema
    def _opening_after_deadline(self, data: dict, **kwargs: Any) -> None:
        deadline, opening = data.get("deadline"), data.get("opening_at")
        if deadline and opening and opening < deadline:
            raise ma.ValidationError("must not be before the deadline", "opening_at")


class FingerprintSchema(ma.Schema):
    """What the electronic bidding system recorded about the bid file."""

    machine_code = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=128),
        metadata={"description": "文件制作机器码"},
    )
    mac = ma.fields.String(allow_none=True, validate=validate.Length(max=64))
    cpu = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    disk = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    ip = ma.fields.String(allow_none=True, validate=validate.Length(max=64))
    doc_hash = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    author = ma.fields.String(allow_none=True, validate=validate.Length(max=200))


class BidCreateSchema(ma.Schema):
    bidder = _ref_field("投标人: USCC or internal subject id", required=True)
    price = Money(required=True, metadata={"description": "Bid price in yuan"})
    submitted_at = UtcDateTime(required=True)
    project_manager = ma.fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "项目经理: internal subject id or resident ID number"},
    )
    deposit_account = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "Account the bid deposit (投标保证金) was paid from"},
    )
    agent = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "The person or unit that submitted the bid (委托代理人)"},
    )
    fingerprint = ma.fields.Nested(FingerprintSchema, allow_none=True)


class AwardCreateSchema(ma.Schema):
    bidder = _ref_field("The winning bidder: USCC or internal subject id", required=True)
    awarded_at = UtcDateTime(metadata={"description": "Defaults to now"})


class TenderListArgs(PageArgs):
    q = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of the reference or title"},
    )
    sector = ma.fields.String(validate=validate.OneOf(SECTORS))
    region = ma.fields.String(validate=validate.Regexp(r"^\d{6}$"))
    tenderee = ma.fields.String(validate=validate.Length(min=1, max=40))
    bidder = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Only tenders this subject (USCC or id) bid in"},
    )
    status = ma.fields.String(validate=validate.OneOf(TENDER_STATUSES))
    date_from = Day(metadata={"description": "Tender date on or after"})
    date_to = Day(metadata={"description": "Tender date on or before"})
    min_suspicion = ma.fields.Float(validate=validate.Range(min=0, max=1))
    sort = ma.fields.String(
        load_default="date",
        validate=validate.OneOf(("date", "suspicion")),
        metadata={"description": "date: newest first; suspicion: most suspicious first"},
    )


# --- responses -----------------------------------------------------------------------


class SubjectRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    uscc = ma.fields.String(allow_none=True)
    name = ma.fields.String(required=True)


class PersonRefSchema(ma.Schema):
    """A practitioner as shown to trading roles: never the full resident ID number."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class FingerprintOutSchema(ma.Schema):
    machine_code = ma.fields.String(allow_none=True)
    mac = ma.fields.String(allow_none=True)
    cpu = ma.fields.String(allow_none=True)
    disk = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    doc_hash = ma.fields.String(allow_none=True)
    author = ma.fields.String(allow_none=True)


class BidSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    tender = ma.fields.String(required=True, metadata={"description": "Tender reference"})
    bidder = ma.fields.Nested(SubjectRefSchema, required=True)
    price = money_out(required=True)
    submitted_at = UtcDateTime(allow_none=True)
    project_manager = ma.fields.Nested(PersonRefSchema, allow_none=True)
    deposit_account = ma.fields.String(allow_none=True)
    agent = ma.fields.String(allow_none=True)
    fingerprint = ma.fields.Nested(FingerprintOutSchema, required=True)
    winner = ma.fields.Boolean(required=True)
    origin = ma.fields.String(required=True, metadata={"description": "api or import"})


class ScreensSchema(ma.Schema):
    """Price screens (Imhof/Huber); formulas in ``trading/collusion/screens.py``."""

    cv = ma.fields.Float(required=True, metadata={"description": "Coefficient of variation s/m"})
    spd = ma.fields.Float(required=True, metadata={"description": "Spread (max - min) / min"})
    diffp = ma.fields.Float(
        required=True, metadata={"description": "Relative difference of the two lowest bids"}
    )
    rd = ma.fields.Float(
        required=True,
        metadata={"description": "Relative distance: (b2 - b1) / std of the losing bids"},
    )
    kurt = ma.fields.Float(
        allow_none=True, metadata={"description": "Excess kurtosis (from four bids; else null)"}
    )
    skew = ma.fields.Float(required=True, metadata={"description": "Skewness"})


class AwardSchema(ma.Schema):
    bidder = ma.fields.Nested(SubjectRefSchema, required=True)
    price = money_out(required=True)
    awarded_at = UtcDateTime(required=True)


class TenderSummarySchema(ma.Schema):
    ref = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    tenderee = ma.fields.Nested(SubjectRefSchema, allow_none=True)
    agency = ma.fields.Nested(SubjectRefSchema, allow_none=True)
    sector = ma.fields.String(allow_none=True)
    region = ma.fields.String(allow_none=True)
    specialty = ma.fields.String(allow_none=True)
    estimate = money_out(allow_none=True)
    deadline = UtcDateTime(allow_none=True)
    opening_at = UtcDateTime(allow_none=True)
    tender_date = Day(allow_none=True)
    status = ma.fields.String(
        required=True,
        validate=validate.OneOf(TENDER_STATUSES),
        metadata={"description": "open (before the deadline), closed, or awarded"},
    )
    bid_count = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Null while the bids are sealed, except to the owning centre"},
    )
    suspicion = ma.fields.Float(
        required=True,
        allow_none=True,
        validate=validate.Range(min=0, max=1),
        metadata={
            "description": "0..1: price screens combined with the tender's red flags; "
            "null while the bids are sealed"
        },
    )
    sealed_until = UtcDateTime(
        allow_none=True,
        metadata={
            "description": "While set, the bids are sealed until then (招标投标法 arts. 22, 36): "
            "no bidder, price, screen or score is shown"
        },
    )
    origin = ma.fields.String(required=True)
    created_at = UtcDateTime(required=True)


class ContributionSchema(ma.Schema):
    feature = ma.fields.String(required=True)
    meaning = ma.fields.String(required=True)
    value = ma.fields.Float(allow_none=True, required=True)
    contribution = ma.fields.Float(
        required=True,
        metadata={
            "description": "How far the feature moved the score along the trees' paths "
            "(score units; all of them and the model's base add up to the score)"
        },
    )


class CollusionScoreSchema(ma.Schema):
    source = ma.fields.String(
        required=True,
        validate=validate.OneOf(("review", "model", "unsupervised")),
        metadata={"description": "An auditor's verdict, the learned model, or the screens"},
    )
    score = ma.fields.Float(required=True, metadata={"description": "0..1"})
    model_version = ma.fields.Integer(allow_none=True, required=True)
    verdict = ma.fields.String(allow_none=True, required=True)
    explanation = ma.fields.List(ma.fields.Nested(ContributionSchema), required=True)


class TenderSchema(TenderSummarySchema):
    bids = ma.fields.List(ma.fields.Nested(BidSchema), required=True)
    screens = ma.fields.Nested(
        ScreensSchema,
        metadata={"description": "Present when the tender has at least three bids"},
    )
    red_flags = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Pieces of art. 40 evidence inside the tender (null if sealed)"},
    )
    award = ma.fields.Nested(AwardSchema, allow_none=True)
    centre = ma.fields.String(allow_none=True, metadata={"description": "USCC of the centre"})
    collusion_score = ma.fields.Nested(
        CollusionScoreSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "The score that stands: an auditor's verdict, else the learned "
            "model's (with its version and the features that moved it), else suspicion"
        },
    )


__all__ = [
    "FINGERPRINT_FIELDS",
    "AwardCreateSchema",
    "BidCreateSchema",
    "BidSchema",
    "TenderCreateSchema",
    "TenderListArgs",
    "TenderSchema",
    "TenderSummarySchema",
]
