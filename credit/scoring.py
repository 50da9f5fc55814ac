"""Credit score and grade (信用评分/等级): derived, explained, deterministic.

The score starts at :data:`START` and every active record or listing on the date asked
adds or deducts points by one rule of :data:`RULES`; each point says which rule and which
record produced it. Same records, same date: same score, same points in the same order.
Nothing here touches the database.

=============================  ===========================================================
rule                           points
=============================  ===========================================================
``score.start``                +100, the start value of every subject
``score.negative.serious``     −30 per serious (严重) negative record in publicity
``score.negative.general``     −10 per general (一般) negative record
``score.negative.minor``       −3 per minor (轻微) negative record
``score.negative.bars_bid``    −10 more for a serious record of a category that bars
                               bidding (围标串标, 弄虚作假, 行贿受贿)
``score.positive``             +5 per positive record (表彰 …), at most +10 in all
``score.abnormal_listed``      −15 per abnormal-list (经营异常名录) listing in force
``score.blacklist_cap``        on the blacklist: the score is capped at 59 (grade D)
``score.floor``                the score never goes below 0
=============================  ===========================================================

Grades: A from 90, B from 75, C from 60, D below 60.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from credit.categories import CATEGORIES

START = 100
SEVERITY_POINTS = {"serious": -30, "general": -10, "minor": -3}
BARS_BID_EXTRA = -10
POSITIVE_POINTS = 5
POSITIVE_CAP = 10
ABNORMAL_POINTS = -15
BLACKLIST_CAP = 59
GRADES = ((90, "A"), (75, "B"), (60, "C"), (0, "D"))

RULES = {
    "score.start": f"start value {START:+d}",
    "score.negative.serious": f"{SEVERITY_POINTS['serious']} per serious negative record",
    "score.negative.general": f"{SEVERITY_POINTS['general']} per general negative record",
    "score.negative.minor": f"{SEVERITY_POINTS['minor']} per minor negative record",
    "score.negative.bars_bid": f"{BARS_BID_EXTRA} more for serious collusion, fraud, bribery",
    "score.positive": f"+{POSITIVE_POINTS} per positive record, at most +{POSITIVE_CAP}",
    "score.abnormal_listed": f"{ABNORMAL_POINTS} per abnormal-list listing in force",
    "score.blacklist_cap": f"on the blacklist the score is at most {BLACKLIST_CAP}",
    "score.floor": "the score is at least 0",
}


@dataclass(frozen=True)
class ActiveRecord:
    id: int
    polarity: str
    category: str
    severity: str | None
    effective_from: date
    document_no: str | None = None
    authority: str | None = None


@dataclass(frozen=True)
class ActiveListing:
    id: int
    kind: str
    starts_on: date
    document_no: str | None = None


@dataclass(frozen=True)
class Point:
    rule: str
    points: int
    message: str
    ref: dict | None = None
    #: The same explanation in Chinese, for the public page (政务公开).
    message_zh: str = ""

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "points": self.points,
            "message": self.message,
            "message_zh": self.message_zh or self.message,
            "ref": self.ref,
        }


@dataclass(frozen=True)
class Score:
    score: int
    grade: str
    points: tuple[Point, ...] = field(default_factory=tuple)


_SEVERITY_ZH = {"minor": "轻微", "general": "一般", "serious": "严重"}


def grade_of(score: int) -> str:
    return next(letter for floor, letter in GRADES if score >= floor)


def same_decisions(records: Iterable[ActiveRecord]) -> list[list[ActiveRecord]]:
    """Records grouped by the decision they report, in date order.

    One penalty decision (the same authority and document number) sent by two platforms
    arrives as two records; it is one decision with two sources and counts once. The
    category is part of the key because one document may decide several distinct
    violations (one record each). Records without both an authority and a document
    number are each their own decision.
    """
    groups: dict[object, list[ActiveRecord]] = {}
    for record in sorted(records, key=lambda r: (r.effective_from, r.id)):
        key: object = record.id
        if record.authority and record.document_no:
            key = (
                record.polarity,
                record.category,
                record.authority.strip(),
                record.document_no.strip(),
            )
        groups.setdefault(key, []).append(record)
    return list(groups.values())


def score(records: Iterable[ActiveRecord], listings: Iterable[ActiveListing]) -> Score:
    """The score and grade from the records and listings in force on one date."""
    points: list[Point] = [
        Point("score.start", START, "Every subject starts at 100.", None, "起始分 100 分。")
    ]
    listings = sorted(listings, key=lambda r: (r.starts_on, r.id))
    positive_total = 0
    for group in same_decisions(records):
        record = group[0]
        cat = CATEGORIES.get(record.category)
        name = cat.name if cat else record.category
        ref: dict = {"record_id": record.id}
        if len(group) > 1:
            ref["record_ids"] = [r.id for r in group]
        doc = f" ({record.document_no})" if record.document_no else ""
        doc_zh = f"（{record.document_no}）" if record.document_no else ""
        if record.polarity == "negative":
            if record.severity not in SEVERITY_POINTS:
                continue
            zh = _SEVERITY_ZH[record.severity]
            points.append(
                Point(
                    f"score.negative.{record.severity}",
                    SEVERITY_POINTS[record.severity],
                    f"{record.severity.capitalize()} negative record: {name}{doc}.",
                    ref,
                    f"{zh}失信记录：{name}{doc_zh}。",
                )
            )
            if record.severity == "serious" and cat is not None and cat.bars_bid:
                points.append(
                    Point(
                        "score.negative.bars_bid",
                        BARS_BID_EXTRA,
                        f"Serious {name} bars bidding{doc}.",
                        ref,
                        f"严重{name}，限制投标{doc_zh}。",
                    )
                )
        elif record.polarity == "positive":
            earned = min(POSITIVE_POINTS, POSITIVE_CAP - positive_total)
            if earned <= 0:
                continue
            positive_total += earned
            points.append(
                Point(
                    "score.positive",
                    earned,
                    f"Positive record: {name}{doc}.",
                    ref,
                    f"良好记录：{name}{doc_zh}。",
                )
            )
    blacklisted = []
    for listing in listings:
        ref = {"listing_id": listing.id}
        doc = f" ({listing.document_no})" if listing.document_no else ""
        doc_zh = f"（{listing.document_no}）" if listing.document_no else ""
        if listing.kind == "abnormal":
            points.append(
                Point(
                    "score.abnormal_listed",
                    ABNORMAL_POINTS,
                    f"On the abnormal list (经营异常名录) since {listing.starts_on}{doc}.",
                    ref,
                    f"自 {listing.starts_on} 起列入经营异常名录{doc_zh}。",
                )
            )
        elif listing.kind == "blacklist":
            blacklisted.append(listing)
    total = sum(p.points for p in points)
    if blacklisted and total > BLACKLIST_CAP:
        first = blacklisted[0]
        points.append(
            Point(
                "score.blacklist_cap",
                BLACKLIST_CAP - total,
                f"On the blacklist (严重失信主体名单) since {first.starts_on}: "
                f"capped at {BLACKLIST_CAP}.",
                {"listing_id": first.id},
                f"自 {first.starts_on} 起列入严重失信主体名单，评分最高 {BLACKLIST_CAP} 分。",
            )
        )
        total = BLACKLIST_CAP
    if total < 0:
        points.append(
            Point(
                "score.floor", -total, "The score does not go below 0.", None, "评分最低为 0 分。"
            )
        )
        total = 0
    return Score(total, grade_of(total), tuple(points))
