"""Database access for the eligibility gate over HTTP, the hottest path of the service.

Every bid, agency and expert check asks one question, answered by one read statement. The
request session would wrap it in BEGIN and COMMIT and ping the pooled connection before
each use; here the statement runs on an autocommit connection checked out of the app's
pool of reads (:meth:`trading.db.Database.reads`) for that one statement and given back
right after, so a worker stays correct whatever its number of threads: no thread keeps a
connection between requests. A connection found dead (the database restarted, an
administrator ended the backend) drops the pool's connections and the statement is retried
once on a fresh one; a second failure is the usual 503.

Tests bind everything to one connection inside an outer transaction, and SQLite has no
server to keep a connection to: there the request session's connection is used, so the
gate sees what the request wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
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


def read(statement: Callable[[Reader], T]) -> T:
    """Run ``statement(reader)`` for a single read, retried once on a dead connection."""
    db = database()
    if db.bind_override is not None or db.dialect != "postgresql":
        with reader(get_session()) as own:
            return statement(own)
    dead = db.engine.dialect.loaded_dbapi.OperationalError
    for attempt in (1, 2):
        pool = db.reads()
        connection = pool.connect()
        try:
            cursor = connection.cursor()
            try:
                return statement(Reader(cursor, True))
            finally:
                cursor.close()
        except dead as exc:
            connection.invalidate(exc)
            db.renew_reads(pool)
            if attempt == 2:
                raise OperationalError("eligibility read", None, exc) from exc
        finally:
            connection.close()  # back to the pool (an invalidated one is discarded)
    raise AssertionError("unreachable")
