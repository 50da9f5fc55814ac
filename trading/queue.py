"""The job queue on PostgreSQL: procrastinate, in the service's own database.

procrastinate keeps its queue in tables and functions of its own (``procrastinate_*``,
applied by the migration ``0050_jobs``) and hands each job to exactly one worker
(``SELECT … FOR UPDATE SKIP LOCKED`` inside its fetch function). The service puts one task on
it, ``gongxin.run_job(job_id)``, which runs :func:`trading.jobs.execute`; what the job is and
how far it got stay in the service's ``jobs`` row.

- **Deferring** (web workers): a short-lived connection per job started (no pool kept per
  gunicorn worker for a rare event).
- **Working** (``flask --app wsgi worker``): one asyncio worker per process runs one job at a
  time (the work is synchronous and uses the database throughout); scale with processes or
  hosts. It heartbeats; a periodic task every minute, and each worker at start, put back on
  the queue the jobs of workers whose heartbeat stopped (a killed process, a lost host).
- **Retries**: a job whose database connection failed is run again, up to ``JOB_ATTEMPTS``
  times in all, 5 s apart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import Any

import procrastinate
import psycopg_pool
from flask import Flask

from trading import jobs
from trading.db import database

log = logging.getLogger(__name__)

_apps: dict[tuple[int, str], procrastinate.App] = {}
_lock = threading.Lock()


def conninfo(url: str) -> str:
    """A libpq URL from the service's database URL (SQLAlchemy's driver suffix removed)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def queue_app(flask_app: Flask) -> procrastinate.App:
    """This process's procrastinate app for ``flask_app``'s database (one per process)."""
    url = database(flask_app).url
    key = (os.getpid(), url)
    with _lock:
        if key in _apps:
            return _apps[key]
        attempts = int(flask_app.config.get("JOB_ATTEMPTS", 3))
        queue = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(url), min_size=1),
        )

        @queue.task(
            name=jobs.TASK_NAME,
            queue=jobs.QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=attempts, wait=5, retry_exceptions={jobs.Retry}
            ),
        )
        def run_job(context: procrastinate.JobContext, job_id: str) -> None:
            final = context.job.attempts + 1 >= attempts
            jobs.execute(flask_app, job_id, final_attempt=final)

        @queue.periodic(cron="* * * * *", periodic_id="retry-stalled")
        @queue.task(name="gongxin.retry_stalled", queue=jobs.QUEUE, pass_context=True)
        async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
            await _retry_stalled(context.app, _stalled_after(flask_app))

        _apps[key] = queue
        return queue


def _stalled_after(flask_app: Flask) -> float:
    """Seconds without a heartbeat after which a worker's running jobs are taken back."""
    return float(flask_app.config.get("JOB_STALLED_SECONDS", 30))


async def _retry_stalled(queue: procrastinate.App, after: float) -> int:
    manager = queue.job_manager
    stalled = await manager.get_stalled_jobs(
        queue=jobs.QUEUE, task_name=jobs.TASK_NAME, seconds_since_heartbeat=after
    )
    for job in stalled:
        log.warning("job queue: retrying job %s of a stalled worker", job.id)
        await manager.retry_job(job)
    return len(list(stalled))


def defer(flask_app: Flask, job_id: str) -> int:
    """Put ``job_id`` on the queue; the queue's own job id."""
    queue = queue_app(flask_app)
    with (
        _lock,
        psycopg_pool.NullConnectionPool(conninfo(database(flask_app).url)) as pool,
        queue.open(pool),
    ):
        return queue.tasks[jobs.TASK_NAME].defer(job_id=job_id)


def run_worker(flask_app: Flask, *, name: str | None = None, wait: bool = True) -> None:
    """Work the queue until stopped (SIGINT/SIGTERM end it after the current job)."""
    queue = queue_app(flask_app)
    worker_name = name or f"{socket.gethostname()}:{os.getpid()}"

    async def main() -> None:
        after = _stalled_after(flask_app)
        async with queue.open_async():
            await _retry_stalled(queue, after)
            await queue.run_worker_async(
                queues=[jobs.QUEUE],
                name=worker_name,
                wait=wait,
                concurrency=1,
                update_heartbeat_interval=max(0.5, after / 3),
                stalled_worker_timeout=after,
            )

    asyncio.run(main())


def status(flask_app: Flask) -> dict[str, Any]:
    """For readiness: the queue's schema is there; workers alive; jobs waiting."""
    engine = database(flask_app).engine
    with engine.connect() as conn:
        workers = conn.exec_driver_sql(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => %s)",
            (_stalled_after(flask_app),),
        ).scalar()
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = %s",
            (jobs.QUEUE,),
        ).scalar()
    return {"workers": int(workers or 0), "waiting": int(waiting or 0)}
