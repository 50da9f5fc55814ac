"""The one clock of the expert domain, so tests can move time (unsealing, feedback)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Naive UTC, as stored."""
    return datetime.now(UTC).replace(tzinfo=None)
