"""Long work (imports, full scans, chain verification, model training) as jobs on a queue.

A job is a row of ``jobs``: its kind, who started it, its parameters, its state
(``queued`` → ``running`` → ``done`` | ``failed``), its progress (stage, done, total), its
result or its refusal, how often it was attempted and on which host. An uploaded file goes
with it into ``job_files`` in chunks, so whichever host runs the job can read it.

Two runners carry jobs out, behind one interface (:func:`start`, :func:`execute`):

- **queue** (PostgreSQL): the job is deferred onto procrastinate's queue in the same
  database; ``flask --app wsgi worker`` processes run it. Any web host answers for any job,
  a worker that dies mid-job has its job retried when a worker starts again (its heartbeat
  stopped), and a job whose database connection failed is retried (``JOB_ATTEMPTS``).
- **inprocess** (the embedded SQLite, and tests): the job runs in a thread of the web
  worker that started it. Its state is still a row, readable by every worker of the host.
- **inline** (tests whose sessions share one connection): the job runs before the answer.

On SQLite the job rows live in a companion file next to the database (``…-jobs``): the
embedded database has one writer at a time, and a job holding it must still be able to
report progress.

Work is a function ``work(session, report, params, upload) -> dict`` registered with
:func:`kind`; it runs in one transaction of its own (imports commit by batch themselves);
``report(stage, done, total)`` records progress (written at most twice a second). A refusal
by a rule (``ServiceError``) fails the job with its message and rule.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from trading import clock
from trading.db import Base, database
from trading.errors import NotFound, ServiceError, Unavailable

log = logging.getLogger(__name__)

QUEUE = "gongxin"
TASK_NAME = "gongxin.run_job"
CHUNK = 1024 * 1024
_WRITE_EVERY = 0.5  # seconds between progress writes: a scan may report thousands of steps
STATES = ("queued", "running", "done", "failed")

Report = Callable[[str, int, "int | None"], None]
Work = Callable[[Session, Report, dict[str, Any], "str | None"], dict[str, Any]]


class JobRecord(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(12))
    stage: Mapped[str] = mapped_column(String(60))
    done: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[str] = mapped_column(Text)  # JSON
    result: Mapped[str | None] = mapped_column(Text)  # JSON
    error: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(120))
    has_upload: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class JobFile(Base):
    __tablename__ = "job_files"

    job_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass
class Job:
    """What a reader sees of a job (the console, the API)."""

    id: str
    kind: str
    owner: str
    state: str
    stage: str
    done: int
    total: int | None
    result: dict[str, Any] | None
    error: str | None
    rule: str | None
    attempts: int
    host: str | None
    has_upload: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: JobRecord) -> Job:
        return cls(
            id=row.id,
            kind=row.kind,
            owner=row.owner,
            state=row.state,
            stage=row.stage,
            done=row.done,
            total=row.total,
            result=json.loads(row.result) if row.result else None,
            error=row.error,
            rule=row.rule,
            attempts=row.attempts,
            host=row.host,
            has_upload=bool(row.has_upload),
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            updated_at=row.updated_at,
        )

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int | None:
        if self.state == "done":
            return 100
        if not self.total:
            return None
        return max(0, min(99, int(100 * self.done / self.total)))

    def as_dict(self) -> dict[str, Any]:
        body = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "has_upload"}
        for key in ("created_at", "started_at", "finished_at", "updated_at"):
            body[key] = clock.rfc3339(body[key]) if body[key] is not None else None
        body["percent"] = self.percent
        return body


# --- kinds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    work: Work


KINDS: dict[str, Kind] = {}


def kind(name: str) -> Callable[[Work], Work]:
    """Register ``work`` as the job kind ``name`` (module import time)."""

    def register(work: Work) -> Work:
        KINDS[name] = Kind(name, work)
        return work

    return register


def _load_kinds() -> None:
    # The modules that define kinds; a worker process imports them before it runs anything.
    import trading.job_kinds  # noqa: F401


# --- the store ---------------------------------------------------------------------------


class JobStore:
    """Job rows and files on an engine: the service's database, or SQLite's companion."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if isinstance(self.bind, Connection):  # a test's connection: savepoints on it
            session = Session(
                self.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        else:
            session = Session(self.bind, expire_on_commit=False)
        with session, session.begin():
            yield session

    def create(
        self, kind_name: str, owner: str, params: dict[str, Any], upload: IO[bytes] | None
    ) -> Job:
        now = clock.now()
        row = JobRecord(
            id=secrets.token_hex(12),
            kind=kind_name,
            owner=owner,
            state="queued",
            stage="",
            done=0,
            total=None,
            params=json.dumps(params, ensure_ascii=False),
            attempts=0,
            has_upload=upload is not None,
            created_at=now,
            updated_at=now,
        )
        with self._session() as session:
            session.add(row)
            session.flush()
            if upload is not None:
                for seq, data in enumerate(iter(lambda: upload.read(CHUNK), b"")):
                    session.add(JobFile(job_id=row.id, seq=seq, data=data))
        return Job.of(row)

    def get(self, job_id: str) -> Job | None:
        if not (len(job_id) == 24 and all(c in "0123456789abcdef" for c in job_id)):
            return None
        with self._session() as session:
            row = session.get(JobRecord, job_id)
            return Job.of(row) if row is not None else None

    def recent(self, owner: str | None, limit: int = 20, kind_name: str | None = None) -> list[Job]:
        """The newest jobs, of ``owner`` only unless None (admin)."""
        stmt = select(JobRecord).order_by(JobRecord.created_at.desc(), JobRecord.id).limit(limit)
        if owner is not None:
            stmt = stmt.where(JobRecord.owner == owner)
        if kind_name is not None:
            stmt = stmt.where(JobRecord.kind == kind_name)
        with self._session() as session:
            return [Job.of(row) for row in session.scalars(stmt)]

    def page(self, owner: str | None, page: int, page_size: int) -> dict[str, Any]:
        stmt = select(JobRecord)
        if owner is not None:
            stmt = stmt.where(JobRecord.owner == owner)
        with self._session() as session:
            total = session.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = session.scalars(
                stmt.order_by(JobRecord.created_at.desc(), JobRecord.id)
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
            items = [Job.of(row) for row in rows]
        return {"items": items, "page": page, "page_size": page_size, "total": total or 0}

    def claim(self, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """Mark the job running on this host (one more attempt); None when it is finished."""
        with self._session() as session:
            row = session.get(JobRecord, job_id, with_for_update=True)
            if row is None or row.state in ("done", "failed"):
                return None
            now = clock.now()
            row.state, row.attempts, row.host = "running", row.attempts + 1, socket.gethostname()
            row.started_at = row.started_at or now
            row.updated_at = now
            return Job.of(row), json.loads(row.params)

    def progress(self, job_id: str, stage: str, done: int, total: int | None) -> None:
        with self._session() as session:
            session.execute(
                update(JobRecord)
                .where(JobRecord.id == job_id, JobRecord.state == "running")
                .values(stage=stage[:60], done=done, total=total, updated_at=clock.now())
            )

    def visible(self, job_id: str, actor: str, role: str) -> Job:
        """The job if ``actor`` started it (an admin sees every job); otherwise the same
        404 as for no job at all, so ids do not leak."""
        job = self.get(job_id)
        if job is None or (role != "admin" and job.owner != actor):
            raise NotFound("No such job of yours.", rule="jobs.owner")
        return job

    def finish(self, job_id: str, kind_name: str, **values: Any) -> None:
        """Give the job its final state (``values``) and count it in the metrics."""
        if has_app_context():
            from trading.metrics import counters

            counters().jobs.labels(kind_name, values["state"]).inc()
        if "result" in values and values["result"] is not None:
            values["result"] = json.dumps(values["result"], ensure_ascii=False, default=str)
        now = clock.now()
        with self._session() as session:
            session.execute(
                update(JobRecord)
                .where(JobRecord.id == job_id)
                .values(finished_at=now, updated_at=now, **values)
            )
            session.execute(JobFile.__table__.delete().where(JobFile.job_id == job_id))

    def requeue(self, job_id: str, reason: str) -> None:
        with self._session() as session:
            session.execute(
                update(JobRecord)
                .where(JobRecord.id == job_id, JobRecord.state == "running")
                .values(state="queued", error=reason, updated_at=clock.now())
            )

    @contextmanager
    def upload(self, job_id: str) -> Iterator[str]:
        """The job's uploaded file as a private temporary file for the duration of the block."""
        handle, path = tempfile.mkstemp(prefix="gongxin-job-", suffix=".dat")
        try:
            with os.fdopen(handle, "wb") as out, self._session() as session:
                stmt = select(JobFile.data).where(JobFile.job_id == job_id).order_by(JobFile.seq)
                for data in session.scalars(stmt):
                    out.write(data)
            yield path
        finally:
            os.unlink(path)


def _companion_url(url: str) -> str:
    if url in ("sqlite://", "sqlite:///:memory:"):
        return url
    return url + "-jobs"


def store(app: Flask | None = None) -> JobStore:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    db = database(app)
    if db.dialect != "sqlite":
        return JobStore(db.bind_override if db.bind_override is not None else db.engine)
    holder = app.extensions.setdefault("gongxin.jobs", {})
    key = (os.getpid(), db.url)
    if holder.get("key") != key:
        engine = create_engine(_companion_url(db.url))
        _configure_companion(engine)
        Base.metadata.create_all(engine, tables=[JobRecord.__table__, JobFile.__table__])
        holder.update(key=key, store=JobStore(engine))
    return holder["store"]


def _configure_companion(engine: Engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# --- running -----------------------------------------------------------------------------


def runner_name(app: Flask) -> str:
    configured = app.config.get("JOB_RUNNER", "auto")
    if configured == "auto":
        return "queue" if database(app).dialect == "postgresql" else "inprocess"
    return configured


def start(
    kind_name: str,
    owner: str,
    params: dict[str, Any] | None = None,
    upload: IO[bytes] | None = None,
) -> Job:
    """Record the job and hand it to the runner; answers at once with the queued job."""
    _load_kinds()
    if kind_name not in KINDS:
        raise ValueError(f"unknown job kind {kind_name!r}")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = store(app)
    job = jobs.create(kind_name, owner, params or {}, upload)
    if runner_name(app) == "queue":
        try:
            from trading import queue

            queue.defer(app, job.id)
        except Exception as error:  # the queue is part of the database: same answer
            log.exception("job %s could not be queued", job.id)
            jobs.finish(job.id, kind_name, state="failed", error="the job queue is unavailable")
            raise Unavailable(
                "The job queue is unavailable; try again later.", rule="jobs.queue_available"
            ) from error
    elif runner_name(app) == "inline":
        execute(app, job.id)
        job = jobs.get(job.id) or job
    else:
        threading.Thread(
            target=execute, args=(app, job.id), name=f"job-{job.id}", daemon=True
        ).start()
    return job


class Retry(Exception):
    """The job failed for a passing reason (the database went away); run it again."""


def execute(app: Flask, job_id: str, *, final_attempt: bool = True) -> None:
    """Run one job to its end in this process (a queue worker, or a web worker's thread)."""
    _load_kinds()
    with app.app_context():
        jobs = store(app)
        claimed = jobs.claim(job_id)
        if claimed is None:
            return
        job, params = claimed
        last = [0.0]

        def report(stage: str, done: int, total: int | None = None) -> None:
            if time.monotonic() - last[0] >= _WRITE_EVERY:
                last[0] = time.monotonic()
                jobs.progress(job_id, stage, done, total)

        work = KINDS[job.kind].work
        try:
            with database(app).transaction(job.owner) as session:
                session.info["request_id"] = f"job-{job_id}"
                if job.attempts > 1:
                    log.info("job %s (%s): attempt %d", job_id, job.kind, job.attempts)
                if job.has_upload:
                    with jobs.upload(job_id) as path:
                        result = work(session, report, params, path)
                else:
                    result = work(session, report, params, None)
            jobs.finish(job_id, job.kind, state="done", result=result, error=None, rule=None)
        except ServiceError as error:
            jobs.finish(
                job_id,
                job.kind,
                state="failed",
                error=error.message,
                rule=error.rule,
                result={"errors": error.errors} if error.errors else None,
            )
        except (OperationalError, DBAPIError) as error:
            passing = isinstance(error, OperationalError) or error.connection_invalidated
            if passing and not final_attempt:
                jobs.requeue(job_id, "the database connection was lost; retried")
                raise Retry(str(error)) from error
            log.exception("job %s (%s) failed", job_id, job.kind)
            jobs.finish(
                job_id, job.kind, state="failed", error="internal error; it has been logged"
            )
        except Exception:  # the job must always leave a final state behind
            log.exception("job %s (%s) failed", job_id, job.kind)
            jobs.finish(
                job_id, job.kind, state="failed", error="internal error; it has been logged"
            )
