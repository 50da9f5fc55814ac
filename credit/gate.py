"""Database access for the eligibility gate over HTTP, the hottest path of the service.

Every bid, agency and expert check asks one question, answered by one read statement. The
request session would wrap it in BEGIN and COMMIT and ping the pooled connection before
each use; here the statement runs on a connection each thread holds from the app's own pool,
in autocommit mode, through a cursor the thread keeps too, without checking either out
again. A connection found dead (the database restarted, an administrator ended the
backend) is dropped and the statement retried once on a fresh one; a second failure is the
usual 503.

Tests bind everything to one connection inside an outer transaction, and SQLite has no
server to keep a connection to: there the request session's connection is used, so the
gate sees what the request wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from trading.db import database, get_session

T = TypeVar("T")


@dataclass(frozen=True)
class Reader:
    """A DB-API cursor and how to speak to it: PostgreSQL takes ``%(name)s`` parameters and
    dates, SQLite ``:name`` parameters and ISO text."""

    cursor: Any
    postgres: bool


@contextmanager
def reader(source: Session | Connection) -> Iterator[Reader]:
    """A reader on the connection of ``source``, closed afterwards (for one-off callers)."""
    connection = source.connection() if isinstance(source, Session) else source
    cursor = connection.connection.cursor()
    try:
        yield Reader(cursor, connection.dialect.name == "postgresql")
    finally:
        cursor.close()


class _Held(threading.local):
    connection: Connection | None = None
    reader: Reader | None = None


_held = _Held()


def _held_reader(engine: Engine) -> Reader:
    """This thread's autocommit connection and cursor, kept between requests: checking a
    connection out of the pool and opening a cursor cost more than the gate's own work."""
    connection = _held.connection
    if connection is None or connection.closed or connection.engine.pool is not engine.pool:
        connection = _held.connection = engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
        _held.reader = Reader(connection.connection.cursor(), True)
    return _held.reader


def _drop_held() -> None:
    connection, _held.connection, _held.reader = _held.connection, None, None
    if connection is not None:
        connection.invalidate()
        connection.close()


def read(statement: Callable[[Reader], T]) -> T:
    """Run ``statement(reader)`` for a single read, retried once on a dead connection."""
    db = database()
    if db.bind_override is not None or db.dialect != "postgresql":
        with reader(get_session()) as own:
            return statement(own)
    engine = db.engine  # the app's own pool; the held connection runs in autocommit
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    for attempt in (1, 2):
        held = _held_reader(engine)
        try:
            return statement(held)
        except (dbapi_error, DBAPIError) as exc:
            _drop_held()
            if attempt == 2:
                if isinstance(exc, DBAPIError):
                    raise
                raise OperationalError("eligibility read", None, exc) from exc
    raise AssertionError("unreachable")
