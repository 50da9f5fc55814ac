"""Long work started from a page (imports, full scans, chain verification), with progress.

The work runs in a background thread with its own database transaction
(``database(app).transaction(actor)``), so the page answers at once and a progress endpoint
is polled. Progress lives in small JSON files in the instance folder (``CONSOLE_JOBS_DIR``):
every gunicorn worker of one host sees them, so a poll may land on any worker. It is not
shared between hosts; a deployment that balances one browser across hosts needs sticky
sessions for these pages (or a ``console_jobs`` table, which would need a migration).
A job whose process dies stays "running" in its file; :func:`JobStore.get` reports it as
failed once its file has not moved for ``STALE_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from trading.auth import Principal
from trading.db import database
from trading.errors import ServiceError

log = logging.getLogger(__name__)

STALE_SECONDS = 600
KEEP_SECONDS = 7 * 24 * 3600
_WRITE_EVERY = 0.5  # seconds between progress writes: a scan may report thousands of steps

#: ``report(stage, done, total)``: what the work is doing; ``total`` None when unknown.
Report = Callable[[str, int, "int | None"], None]
Work = Callable[[Session, Report], dict[str, Any]]


@dataclass
class Job:
    id: str
    kind: str
    owner: str  # actor of the principal who started it
    state: str = "running"  # running | done | failed
    stage: str = ""
    done: int = 0
    total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    rule: str | None = None
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    updated: float = field(default_factory=time.time)

    @property
    def percent(self) -> int | None:
        if self.state == "done":
            return 100
        if not self.total:
            return None
        return max(0, min(99, int(100 * self.done / self.total)))

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["percent"] = self.percent
        return body


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class JobStore:
    """Jobs as JSON files, one per job, replaced atomically on every write."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, job_id: str) -> Path | None:
        if not (len(job_id) == 24 and all(c in "0123456789abcdef" for c in job_id)):
            return None
        return self.folder / f"{job_id}.json"

    def save(self, job: Job) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        job.updated = time.time()
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(job), out, ensure_ascii=False, default=str)
        os.replace(temporary, self.folder / f"{job.id}.json")

    def get(self, job_id: str) -> Job | None:
        path = self._path(job_id)
        if path is None:
            return None
        try:
            job = Job(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        if job.state == "running" and time.time() - job.updated > STALE_SECONDS:
            job.state, job.error = "failed", "the process running this job stopped"
        return job

    def recent(self, owner: str | None, limit: int = 20) -> list[Job]:
        """The newest jobs, of ``owner`` only unless None (admin); old files are pruned."""
        if not self.folder.is_dir():
            return []
        found: list[tuple[float, Path]] = []
        for path in self.folder.glob("*.json"):
            try:
                modified = path.stat().st_mtime
            except OSError:
                continue
            if time.time() - modified > KEEP_SECONDS:
                path.unlink(missing_ok=True)
                continue
            found.append((modified, path))
        jobs = []
        for _, path in sorted(found, reverse=True):
            job = self.get(path.stem)
            if job is not None and (owner is None or job.owner == owner):
                jobs.append(job)
            if len(jobs) >= limit:
                break
        return jobs


def save_upload(upload: FileStorage) -> str:
    """An uploaded file copied to a private temporary file; the job deletes it when done.

    The request's upload disappears with the request, and the job runs after it.
    """
    handle, path = tempfile.mkstemp(prefix="gongxin-upload-", suffix=".dat")
    with os.fdopen(handle, "wb") as out:
        upload.save(out)
    return path


def store(app: Flask | None = None) -> JobStore:
    app = app or current_app
    folder = app.config.get("CONSOLE_JOBS_DIR") or os.path.join(app.instance_path, "console-jobs")
    return JobStore(folder)


def start(kind: str, principal: Principal, work: Work) -> Job:
    """Run ``work(session, report)`` in a thread with its own transaction; return the job.

    ``work`` returns a small JSON-able summary shown when it is done. A refusal by a rule
    (``ServiceError``) fails the job with its message; anything else is logged and the job
    says only that it failed.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = store(app)
    job = Job(id=secrets.token_hex(12), kind=kind, owner=principal.actor)
    jobs.save(job)
    last_write = [0.0]

    def report(stage: str, done: int, total: int | None = None) -> None:
        job.stage, job.done, job.total = stage, done, total
        if time.monotonic() - last_write[0] >= _WRITE_EVERY:
            last_write[0] = time.monotonic()
            jobs.save(job)

    def run() -> None:
        with app.app_context():
            try:
                with database(app).transaction(principal.actor) as session:
                    job.result = work(session, report)
                job.state = "done"
            except ServiceError as error:
                job.state, job.error, job.rule = "failed", error.message, error.rule
                if error.errors:
                    job.result = {"errors": error.errors}
            except Exception:  # the thread must always leave a final state behind
                log.exception("console job %s (%s) failed", job.id, kind)
                job.state, job.error = "failed", "internal error; it has been logged"
            job.finished_at = _now()
            jobs.save(job)

    threading.Thread(target=run, name=f"console-job-{job.id}", daemon=True).start()
    return job
