"""The service's clock: rules read China Standard Time dates whatever the host's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from trading import clock


def test_the_china_date_runs_eight_hours_ahead_of_utc():
    assert clock.china_date(datetime(2026, 12, 3, 15, 59, 59)) == date(2026, 12, 3)
    assert clock.china_date(datetime(2026, 12, 3, 16, 0)) == date(2026, 12, 4)
    assert clock.china_date(datetime(2026, 12, 3, 16, 0, tzinfo=UTC)) == date(2026, 12, 4)
    tokyo = timezone(timedelta(hours=9))
    assert clock.china_date(datetime(2026, 12, 4, 0, 30, tzinfo=tokyo)) == date(2026, 12, 3)


def test_today_follows_the_clock(china_edge):
    expected = date(2026, 12, 3) if china_edge.hour == 15 else date(2026, 12, 4)
    assert clock.today() == expected
    assert china_edge.date() == date(2026, 12, 3)  # the UTC date alone would say the 3rd


def test_a_frozen_clock_takes_any_offset_and_restores_itself():
    shanghai = timezone(timedelta(hours=8))
    with clock.frozen(datetime(2027, 1, 1, 0, 5, tzinfo=shanghai)) as at:
        assert at == datetime(2026, 12, 31, 16, 5)
        assert clock.now() == at and clock.today() == date(2027, 1, 1)
    assert clock.now() != at


def test_the_china_month_starts_at_midnight_in_beijing():
    start, end = clock.china_month_bounds(datetime(2027, 8, 31, 23, 30))  # 1 Sep 07:30 there
    assert (start, end) == (datetime(2027, 8, 31, 16, 0), datetime(2027, 9, 30, 16, 0))
    start, end = clock.china_month_bounds(datetime(2027, 12, 15))
    assert (start, end) == (datetime(2027, 11, 30, 16, 0), datetime(2027, 12, 31, 16, 0))


def test_frozen_clocks_nest():
    outer, inner = datetime(2027, 1, 1, 12), datetime(2028, 2, 2, 12)
    with clock.frozen(outer):
        with clock.frozen(inner):
            assert clock.now() == inner
        assert clock.now() == outer


def test_the_zone_data_ships_with_the_service():
    # tzdata is a dependency: Asia/Shanghai resolves on hosts without a system zone database.
    assert clock.CHINA.key == "Asia/Shanghai"
    assert clock.CHINA.utcoffset(datetime(2027, 7, 1)) == timedelta(hours=8)


def test_an_instant_is_written_with_its_offset():
    assert clock.rfc3339(datetime(2026, 12, 3, 8, 4, 59, 557584)) == (
        "2026-12-03T08:04:59.557584+00:00"
    )
    beijing = datetime(2026, 12, 3, 16, 4, 59, tzinfo=timezone(timedelta(hours=8)))
    assert clock.rfc3339(beijing) == "2026-12-03T08:04:59+00:00"
