"""Database: declarative base, engine and one session per request or CLI command.

Nothing is created at import time: the engine is built on first use in each process, so
gunicorn workers never share a connection inherited across ``fork``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import Pool, QueuePool

from trading.errors import database_unavailable, is_unavailable
from trading.request_context import request_id

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Ids are 32-bit integer columns; a larger number names nothing (and PostgreSQL would
#: refuse to compare it), so callers answer "not found" without asking.
MAX_ID = 2**31 - 1


#: The largest cursor (a 64-bit signed integer): beyond it neither database can compare.
MAX_CURSOR = 2**63 - 1


def storable_id(value: int) -> bool:
    return 0 < value <= MAX_ID


_KEEP = "keep_on_refusal"


def keep_on_refusal(session: Session) -> None:
    """Commit what the session holds even though the request ends in a refusal.

    For a refusal that is itself an event to keep (a replacement that found nobody): the
    service rolls its own attempt back to a savepoint, writes the record of the refusal,
    calls this and raises; the request or command then commits that record alone."""
    session.info[_KEEP] = True


def _kept(session: Session) -> bool:
    return bool(session.info.pop(_KEEP, False))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off so that SAVEPOINTs work and every
    # transaction starts with BEGIN IMMEDIATE: the embedded database then serialises writers
    # up front instead of failing a later write on a stale snapshot.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - trivial
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    echo: bool = False,
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
    )


# How many forks this process descends from: an engine (its pool, its sockets) belongs to
# the process that built it, and gunicorn forks its workers from a parent that may have one.
_forks = [0]


def _count_fork() -> None:
    _forks[0] += 1


os.register_at_fork(after_in_child=_count_fork)


class Database:
    """Per-app holder of the engine and session factory, created lazily per process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        echo: bool = False,
    ):
        self.url = url
        self._options = {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": pool_timeout,
            "echo": echo,
        }
        self._engine: Engine | None = None
        self._reads: Pool | None = None
        self._sessions: sessionmaker | None = None
        self._process: int | None = None
        self._lock = threading.Lock()
        # Tests bind sessions to one connection inside an outer transaction.
        self.bind_override: Connection | None = None

    @property
    def engine(self) -> Engine:
        # Compared with a counter bumped after each fork rather than os.getpid(), which is a
        # system call on every request.
        if self._engine is None or self._process != _forks[0]:
            with self._lock:
                if self._engine is None or self._process != _forks[0]:
                    if self._engine is not None:
                        self._engine.dispose(close=False)
                    self._reads = None  # the parent's sockets: left alone, never used here
                    self._engine = make_engine(self.url, **self._options)
                    self._sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
                    self._process = _forks[0]
        return self._engine

    def reads(self) -> Pool:
        """PostgreSQL connections in autocommit mode for single read statements (the
        eligibility gate), each checked out for one statement and given back at once.

        A pool of their own, as large as the engine's, so that a request holding its
        session's connection never waits for a second one from the same pool (two such
        requests per free slot would wait for each other). Unlike the engine's pool it does
        not ping a connection before handing it out nor roll it back when it comes back: an
        autocommit read leaves nothing to roll back, and a dead connection is found by the
        read itself (see :meth:`renew_reads`).
        """
        engine = self.engine
        pool = self._reads
        if pool is None:
            with self._lock:
                if self._reads is None:
                    cargs, cparams = engine.dialect.create_connect_args(engine.url)

                    def connect() -> Any:
                        connection = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
                        connection.autocommit = True
                        return connection

                    self._reads = QueuePool(
                        connect,
                        pool_size=self._options["pool_size"],
                        max_overflow=self._options["max_overflow"],
                        timeout=self._options["pool_timeout"],
                        reset_on_return=None,
                    )
                pool = self._reads
        return pool

    def renew_reads(self, failed: Pool) -> None:
        """After a connection of ``failed`` was found dead (the server restarted, or ended
        the backend), drop every connection it holds: the others are likely dead too."""
        with self._lock:
            if self._reads is failed:
                self._reads = failed.recreate()
                failed.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        if self.bind_override is not None:
            return Session(
                bind=self.bind_override,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
            )
        self.engine  # noqa: B018  (builds the engine and its session factory in this process)
        return self._sessions()

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Session]:
        """One unit of work outside a request (CLI, scripts): commit on success, else roll back."""
        session = self.session()
        session.info["actor"] = actor
        try:
            yield session
            session.commit()
        except BaseException:
            if _kept(session):
                session.commit()
            else:
                session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if self._reads is not None:
            self._reads.dispose()
            self._reads = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None


def database(app: Flask | None = None) -> Database:
    return (app or current_app._get_current_object()).extensions["gongxin.db"]


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().session()
        who = g.get("principal")
        g.db_session.info["actor"] = who.actor if who is not None else "anonymous"
        g.db_session.info["request_id"] = request_id()
    return g.db_session


def init_app(app: Flask) -> None:
    db = Database(
        app.config["DATABASE_URL"],
        pool_size=app.config["DB_POOL_SIZE"],
        max_overflow=app.config["DB_MAX_OVERFLOW"],
        pool_timeout=app.config["DB_POOL_TIMEOUT"],
        echo=app.config["DB_ECHO"],
    )
    app.extensions["gongxin.db"] = db

    @app.after_request
    def _commit(response: Any):
        # The one place a request's work is committed: only when the answer is a success.
        session: Session | None = g._get_current_object().__dict__.pop("db_session", None)
        if session is None:
            return response
        try:
            if (response.status_code < 400 or _kept(session)) and (
                session.in_transaction() or session.info.get("audit_pending")
            ):
                session.commit()
        except DBAPIError as error:
            # The database went away between the work and its COMMIT (a shutdown, a
            # failover): nothing was written, and the client may try again.
            if not is_unavailable(error):
                raise
            log.warning("commit failed, database unavailable: %s", error.orig)
            return database_unavailable()
        finally:
            # Closing rolls back whatever was not committed (errors, pure reads).
            session.close()
        return response

    @app.teardown_request
    def _discard(_exc: BaseException | None) -> None:
        session: Session | None = g._get_current_object().__dict__.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
