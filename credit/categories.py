"""The code lists of credit records: categories, severities and their publicity periods.

A category is sent as its code (``collusion``) or its Chinese name (``围标串标``); it is
stored as the code. Which categories bar which acts is part of the eligibility rules
(:mod:`credit.eligibility`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Category:
    code: str
    name: str  # the Chinese name used by the platforms
    polarity: str  # "negative" or "positive"
    bars_bid: bool = False  # a serious record of this category bars bidding
    bars_agency: bool = False  # a serious record of this category bars acting as agency
    bars_expert: bool = False  # any record of this category bars evaluation as an expert
    # An illegal act in tendering (招标投标违法行为): a person ever penalised for one may
    # never evaluate (《评标委员会和评标方法暂行规定》art. 12; see experts.draws).
    tendering_offence: bool = False


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category(
            "collusion",
            "围标串标",
            "negative",
            bars_bid=True,
            bars_agency=True,
            tendering_offence=True,
        ),
        Category(
            "fraud", "弄虚作假", "negative", bars_bid=True, bars_agency=True, tendering_offence=True
        ),
        Category(
            "bribery",
            "行贿受贿",
            "negative",
            bars_bid=True,
            bars_agency=True,
            tendering_offence=True,
        ),
        Category("illegal_subcontracting", "违法转包分包", "negative", tendering_offence=True),
        Category("contract_refusal", "拒签合同", "negative"),
        Category("poor_performance", "不良履约", "negative"),
        Category("quality_safety", "质量安全事故", "negative"),
        Category("wage_arrears", "拖欠农民工工资", "negative"),
        Category(
            "agency_misconduct", "代理违规", "negative", bars_agency=True, tendering_offence=True
        ),
        Category("evaluation_misconduct", "评标违规", "negative", bars_expert=True),
        Category("commendation", "表彰", "positive"),
        Category("quality_award", "优质工程奖", "positive"),
        Category("good_performance", "守信履约", "positive"),
    )
}
_BY_NAME = {c.name: c for c in CATEGORIES.values()}


def category(value: str) -> Category | None:
    """The category for a code or a Chinese name, or None."""
    value = (value or "").strip()
    return CATEGORIES.get(value) or _BY_NAME.get(value)


SEVERITIES = ("minor", "general", "serious")  # 轻微 / 一般 / 严重
SEVERITY_NAMES = {"轻微": "minor", "一般": "general", "严重": "serious"}

#: Publicity period bounds in months, inclusive at both ends: effective_to must fall
#: between effective_from + min and effective_from + max months. Positive records have no
#: severity and may be published for up to 3 years.
PUBLICITY_MONTHS: dict[str | None, tuple[int, int]] = {
    "minor": (0, 3),
    "general": (3, 12),
    "serious": (12, 36),
    None: (0, 36),
}


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the end of a shorter month (1-31 + 1 = 2-28)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def publicity_error(severity: str | None, start: date, end: date) -> str | None:
    """Why ``start``..``end`` is not a valid publicity period for ``severity``, or None."""
    if end < start:
        return "must not be before effective_from"
    low, high = PUBLICITY_MONTHS[severity]
    label = severity or "a positive record"
    if end < add_months(start, low):
        return (
            f"{label}: the publicity period is at least {low} months (to {add_months(start, low)})"
        )
    if end > add_months(start, high):
        return (
            f"{label}: the publicity period is at most {high} months (to {add_months(start, high)})"
        )
    return None


def default_end(severity: str | None, start: date) -> date:
    """The longest period allowed, used when a record gives no effective_to."""
    return add_months(start, PUBLICITY_MONTHS[severity][1])


def earliest_repair(severity: str | None, decided_on: date | None, effective_from: date) -> date:
    """The first day a negative record may be repaired (信用修复): after its minimum
    publicity period, counted from the day the decision was made.

    信用修复管理办法 (国家发展改革委, 2025-11-26, in force 2026-04-01; following
    国办发〔2025〕22号, 关于进一步完善信用修复制度的实施方案): the publicity period runs
    "自司法、行政公务文书认定之日起"; minor (轻微) information is in principle not
    published, at most 3 months, and may be repaired once the legal duty is fulfilled (no
    minimum); general (一般) has a minimum of 3 months and a maximum of 1 year, serious
    (严重) a minimum of 1 year and a maximum of 3 years; "最短公示期届满后，信用主体方可按规定
    申请信用修复", and after the maximum the publication stops by itself. The 2023 trial
    measures it replaces had the same minimums, so one rule serves every repair date.
    """
    low = PUBLICITY_MONTHS[severity][0] if severity in PUBLICITY_MONTHS else 0
    return add_months(decided_on or effective_from, low)


def repair_error(
    severity: str | None, decided_on: date | None, effective_from: date, on: date
) -> str | None:
    """Why a repair taking effect ``on`` comes too early, or None."""
    earliest = earliest_repair(severity, decided_on, effective_from)
    if on < earliest:
        months = PUBLICITY_MONTHS[severity][0]
        return (
            f"{severity}: repairable only after the minimum publicity period of {months} "
            f"months, from {earliest.isoformat()} (信用修复管理办法)"
        )
    return None
