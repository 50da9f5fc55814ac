"""Import every table so that ``Base.metadata`` is complete (Alembic, schema tests)."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_metadata() -> MetaData:
    import credit.cases  # noqa: F401
    import credit.models  # noqa: F401
    import experts.models  # noqa: F401
    import trading.audit  # noqa: F401
    import trading.auth  # noqa: F401
    import trading.idempotency  # noqa: F401
    import trading.jobs  # noqa: F401
    import trading.models  # noqa: F401
    import trading.throttle  # noqa: F401
    from trading.db import Base

    return Base.metadata
