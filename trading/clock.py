"""The service's one clock.

Instants are stored as naive UTC and sent as RFC 3339 with an offset. Every rule that speaks of
a calendar date (eligibility "today", "not in the future", leave and booking days, the monthly
draw cap, publicity periods, default listing starts) works on the date in China Standard Time
(Asia/Shanghai, UTC+8 all year), whatever the host's own time zone: between 00:00 and 08:00 in
Beijing the UTC date is still yesterday's.

Tests move time with :func:`frozen` (or by monkeypatching :func:`now`; :func:`today` and the
other helpers read the time through it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant, naive UTC, as stored."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(instant: datetime) -> datetime:
    """Naive UTC for any instant; a naive value is taken to be UTC already."""
    if instant.tzinfo is None:
        return instant
    return instant.astimezone(UTC).replace(tzinfo=None)


def rfc3339(instant: datetime) -> str:
    """An instant as the wire writes it: RFC 3339 in UTC with its offset (naive values are UTC)."""
    return as_utc(instant).replace(tzinfo=UTC).isoformat()


def china_date(instant: datetime) -> date:
    """The China Standard Time calendar date of an instant (naive values are UTC)."""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(CHINA).date()


def today() -> date:
    """Today's date in China Standard Time."""
    return china_date(now())


def china_day_start(day: date) -> datetime:
    """00:00 China time on ``day``, as naive UTC."""
    return as_utc(datetime(day.year, day.month, day.day, tzinfo=CHINA))


def china_month_bounds(instant: datetime) -> tuple[datetime, datetime]:
    """The China Standard Time calendar month holding ``instant``, as naive UTC [start, end)."""
    day = china_date(instant)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return china_day_start(first), china_day_start(following)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Stop the clock at ``at`` (aware, or naive UTC) for the duration of the block."""
    global _frozen
    before, _frozen = _frozen, as_utc(at)
    try:
        yield _frozen
    finally:
        _frozen = before
