"""Sign-in throttling: guessing tokens is slow, from one address and against one token prefix.

Failed attempts (an unknown or revoked bearer token, a refused console sign-in) are counted
in the database per key, so every worker and every host counts together:

- ``ip:<address>``: the caller's address (``request.remote_addr``; behind a balancer, the
  deployment's proxy settings decide what that is);
- ``prefix:<first characters of the secret>``: one token attacked from many addresses.

``THROTTLE_FAILURES`` failures within ``THROTTLE_WINDOW`` seconds block the key for
``THROTTLE_BLOCK`` seconds, doubled for every further block within a day (at most one day).
A blocked key answers 429 with ``Retry-After`` and rule ``auth.throttle`` before the secret
is even looked up, so a right guess made while blocked is not confirmed either. Successful
sign-ins do not reset the count: an attacker holding one good token cannot launder guesses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from trading import clock
from trading.db import Base, database
from trading.errors import ServiceError

PREFIX_LENGTH = 12
MAX_BLOCK = timedelta(days=1)


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Blocks within the last day: each one doubles the next.
    strikes: Mapped[int] = mapped_column(Integer)
    last_block: Mapped[datetime | None] = mapped_column(DateTime)


class TooManyAttempts(ServiceError):
    code = 429

    def __init__(self, retry_after: int):
        super().__init__(
            f"Too many failed sign-in attempts; try again in {retry_after} s.",
            errors={"Authorization": [f"blocked for {retry_after} s after repeated failures"]},
            rule="auth.throttle",
        )
        self.headers = {"Retry-After": str(retry_after)}


def keys(secret: str) -> list[str]:
    """The buckets one attempt counts in."""
    address = (request.remote_addr or "unknown")[:60]
    found = [f"ip:{address}"]
    if secret:
        found.append(f"prefix:{secret[:PREFIX_LENGTH]}")
    return found


def check(session: Session, secret: str) -> None:
    """Refuse (429) when any bucket of this attempt is blocked now."""
    now = clock.now()
    buckets = session.scalars(
        select(ThrottleBucket).where(ThrottleBucket.key.in_(keys(secret)))
    ).all()
    waits = [b.blocked_until - now for b in buckets if b.blocked_until and b.blocked_until > now]
    if waits:
        raise TooManyAttempts(max(1, int(max(waits).total_seconds() + 0.999)))


def _record(session: Session, key: str, now: datetime) -> None:
    config = current_app.config
    window = timedelta(seconds=config["THROTTLE_WINDOW"])
    bucket = session.get(ThrottleBucket, key, with_for_update=True)
    if bucket is None:
        bucket = ThrottleBucket(key=key, failures=0, window_start=now, strikes=0)
        session.add(bucket)
    if now - bucket.window_start > window:
        bucket.failures, bucket.window_start = 0, now
    bucket.failures += 1
    if bucket.failures >= config["THROTTLE_FAILURES"]:
        if bucket.last_block is None or now - bucket.last_block > MAX_BLOCK:
            bucket.strikes = 0
        block = min(timedelta(seconds=config["THROTTLE_BLOCK"]) * 2**bucket.strikes, MAX_BLOCK)
        bucket.blocked_until, bucket.last_block = now + block, now
        bucket.strikes = min(bucket.strikes + 1, 20)
        bucket.failures, bucket.window_start = 0, now


def record_failure(secret: str) -> None:
    """Count one failed attempt in every bucket, in a transaction of its own.

    The request's own session is closed first (a failed sign-in has nothing to keep), so on
    the embedded SQLite, whose writers take the whole database, the count does not wait for
    the request's own lock.
    """
    pending = g._get_current_object().__dict__.pop("db_session", None)
    if pending is not None:
        pending.rollback()
        pending.close()
    now = clock.now()
    for attempt in range(3):
        try:
            with database().transaction("system:throttle") as session:
                # One order everywhere: no deadlock between workers.
                for key in sorted(keys(secret)):
                    _record(session, key, now)
            return
        except IntegrityError:  # another worker created the bucket first: count in it
            if attempt == 2:
                raise
