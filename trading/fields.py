"""Wire fields shared by every schema."""

from __future__ import annotations

from datetime import UTC, datetime
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
