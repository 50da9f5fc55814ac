"""The pure rules: publicity periods, scope, score and grade (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.categories import PUBLICITY_MONTHS, add_months, category, publicity_error
from credit.scope import covering_regions, in_scope, pack, region_covers
from credit.scoring import ActiveListing, ActiveRecord, grade_of, score
from credit.validate import record_fields

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


@given(days, st.integers(min_value=0, max_value=48))
def test_add_months_never_overflows_and_keeps_the_day_when_it_can(start, months):
    end = add_months(start, months)
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert end.day == start.day or end.day < start.day and (end + timedelta(days=1)).day == 1


@given(
    st.sampled_from(["minor", "general", "serious", None]),
    days,
    st.integers(min_value=-10, max_value=1200),
)
def test_a_publicity_period_is_accepted_exactly_within_its_bounds(severity, start, length):
    end = start + timedelta(days=length)
    low, high = PUBLICITY_MONTHS[severity]
    inside = add_months(start, low) <= end <= add_months(start, high)
    assert (publicity_error(severity, start, end) is None) == inside


def test_categories_are_found_by_code_or_chinese_name():
    assert category("围标串标") is category("collusion")
    assert category("表彰").polarity == "positive"
    assert category("nonsense") is None


def test_a_record_body_reports_every_field_at_once():
    clean, errors = record_fields(
        {
            "polarity": "negative",
            "category": "迟到",
            "severity": "fatal",
            "effective_from": "someday",
        },
        today=date(2024, 1, 1),
    )
    assert {"category", "severity", "basis", "effective_from"} <= set(errors)


def test_region_scopes_cover_what_is_below_them():
    assert region_covers("320000", "320102") and region_covers("320100", "320102")
    assert not region_covers("320100", "320205") and not region_covers("320102", "320100")
    assert covering_regions("320102") == ["320102", "320100", "320000"]
    national, jiangsu_building = ("", ""), (pack(["construction"]), pack(["320000"]))
    assert in_scope(*national, "land", "110105")
    assert in_scope(*jiangsu_building, "construction", "320102")
    assert not in_scope(*jiangsu_building, "land", "320102")
    assert not in_scope(*jiangsu_building, "construction", "310104")
    assert in_scope(*jiangsu_building, None, None)  # an unstated act may be in scope


def _record(i, polarity="negative", category_="poor_performance", severity="general"):
    return ActiveRecord(i, polarity, category_, severity, date(2024, 1, i), f"doc-{i}")


def test_each_point_names_its_rule_and_the_score_adds_up():
    result = score(
        [
            _record(1),
            _record(2, severity="minor"),
            _record(3, category_="collusion", severity="serious"),
            _record(4, "positive", "commendation", None),
        ],
        [ActiveListing(9, "abnormal", date(2024, 2, 1))],
    )
    assert [p.rule for p in result.points] == [
        "score.start",
        "score.negative.general",
        "score.negative.minor",
        "score.negative.serious",
        "score.negative.bars_bid",
        "score.positive",
        "score.abnormal_listed",
    ]
    assert result.score == sum(p.points for p in result.points) == 100 - 10 - 3 - 30 - 10 + 5 - 15
    assert result.grade == "D"


def test_positive_records_add_at_most_ten_and_the_blacklist_caps_at_59():
    positives = [_record(i, "positive", "commendation", None) for i in range(1, 5)]
    assert score(positives, []).score == 110
    capped = score(positives, [ActiveListing(1, "blacklist", date(2024, 1, 1))])
    assert capped.score == 59 and capped.grade == "D"
    assert capped.points[-1].rule == "score.blacklist_cap"


def test_the_score_never_goes_below_zero():
    many = [_record(i, category_="fraud", severity="serious") for i in range(1, 6)]
    result = score(many, [])
    assert result.score == 0 and result.points[-1].rule == "score.floor"


@given(st.permutations(list(range(1, 8))))
def test_the_same_records_in_any_order_give_the_same_score(order):
    records = [_record(i, severity=["minor", "general", "serious"][i % 3]) for i in order]
    assert score(records, []) == score(sorted(records, key=lambda r: r.id), [])


@pytest.mark.parametrize(
    "value, grade",
    [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"), (59, "D"), (0, "D")],
)
def test_grades(value, grade):
    assert grade_of(value) == grade
