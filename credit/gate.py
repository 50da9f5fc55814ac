"""Database access for the eligibility gate over HTTP, the hottest path of the service.

Every bid, agency and expert check asks one question, answered by one read statement. The
request session would wrap it in BEGIN and COMMIT and ping the pooled connection before
each use; here the statement runs on a connection each thread holds from the app's own pool,
in autocommit mode, without checking it out again. A connection found dead (the database restarted) is dropped and the
statement retried once on a fresh one; a second failure is the usual 503.

Tests bind everything to one connection inside an outer transaction: there the request
session's connection is used, so the gate sees what the test wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from trading.db import database, get_session

T = TypeVar("T")


_held = threading.local()


def _held_connection(engine: Engine) -> Connection:
    """This thread's autocommit connection, kept between requests: checking one out of the
    pool and returning it costs more than the gate's own work."""
    connection = getattr(_held, "connection", None)
    if connection is None or connection.closed or connection.engine.pool is not engine.pool:
        connection = _held.connection = engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
    return connection


def read(statement: Callable[[Connection], T]) -> T:
    """Run ``statement(connection)`` for a single read, retried once on a dead connection."""
    db = database()
    if db.bind_override is not None or db.dialect != "postgresql":
        return statement(get_session().connection())
    engine = db.engine  # the app's own pool; the held connection runs in autocommit
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    for attempt in (1, 2):
        connection = _held_connection(engine)
        try:
            return statement(connection)
        except (dbapi_error, DBAPIError) as exc:
            connection.invalidate()
            connection.close()
            _held.connection = None
            if attempt == 2:
                if isinstance(exc, DBAPIError):
                    raise
                raise OperationalError("eligibility read", None, exc) from exc
    raise AssertionError("unreachable")
