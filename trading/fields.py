"""Wire fields shared by every schema."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma


class UtcDateTime(ma.fields.DateTime):
    """Times are kept as naive UTC in the database and always written with their offset.

    Input may carry any offset (it is converted to UTC); input without one is read as UTC.
    """

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        if not (1900 <= parsed.year <= 9998):
            raise self.make_error("invalid", input=value, obj_type="datetime")
        return parsed


#: The calendar the register takes: a date outside it is a typing error, and the rules add
#: publicity periods of a few years to dates (9999-12-31 plus one year is no date at all).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def day_error(value: date) -> str | None:
    if EARLIEST_DAY <= value <= LATEST_DAY:
        return None
    return f"must be between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


class Day(ma.fields.Date):
    """An ISO 8601 date within :data:`EARLIEST_DAY` .. :data:`LATEST_DAY`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if message := day_error(parsed):
            raise ma.ValidationError(message)
        return parsed
