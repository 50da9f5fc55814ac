"""Several hosts on one PostgreSQL: two gunicorn servers, queue workers, one database.

What a deployment behind a load balancer relies on: a job started on one host is followed
from the other and run by a worker; a console sign-in made on one host holds on the other;
draws from both hosts never book one expert twice; the audit chain stays one chain; a worker
killed in the middle of a job has it finished by another.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.harness import serve
from credit.identifiers import make_uscc
from tests.conftest import CENTRE_USCC, TEST_AUDIT_KEYS, TEST_SIGNING_KEY, make_app
from tests.experts.expert_world import World, draw_body
from trading import clock, migrate
from trading.auth import create_token
from trading.db import database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


@pytest.fixture
def shared_pg(pg_databases) -> str:
    """A fresh PostgreSQL database at the migrations' head, shared by every host."""
    url = pg_databases.url_for(pg_databases.create())
    migrate.upgrade(url)
    return url


def _env(url: str, tmp_path: Path, name: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "several-hosts-shared-key",  # one key for every host (README)
        # One chain's keys for every host (README); the test's own writes use them too.
        "AUDIT_KEYS": TEST_AUDIT_KEYS,
        "AUDIT_SIGNING_KEY": TEST_SIGNING_KEY,
        "INSTANCE_PATH": str(tmp_path / name),
        "TOKEN_CACHE_SECONDS": "0",
        "JOB_RUNNER": "queue",
        "JOB_STALLED_SECONDS": "3",
        "LOG_FORMAT": "text",
    }


@contextmanager
def _worker(url: str, tmp_path: Path, name: str):
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed when the worker stops)
    proc = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "worker", "--name", name],
        cwd=ROOT,
        env={**os.environ, **_env(url, tmp_path, name)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _call(method: str, url: str, token: str | None = None, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


def _follow(base: str, token: str, job_id: str, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status, job, _ = _call("GET", f"{base}/api/v1/jobs/{job_id}", token)
        assert status == 200, job
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_two_hosts_one_worker_one_database(shared_pg, tmp_path):
    app = make_app(shared_pg)
    with database(app).transaction("test:arrange") as session:
        world = World(session, seed=5)
        tenderee = world.org("tenderee")
        bidders = [world.org() for _ in range(3)]
        world.experts(8)
        auditor = create_token(session, name="hosts-auditor", role="auditor")
        centre = create_token(session, name="hosts-centre", role="centre", org=CENTRE_USCC)
        tenderee_uscc, bidder_usccs = tenderee.uscc, [b.uscc for b in bidders]
    database(app).dispose()

    with ExitStack() as stack:
        one = stack.enter_context(serve("wsgi:app", _env(shared_pg, tmp_path, "one"), "/readyz"))
        two = stack.enter_context(serve("wsgi:app", _env(shared_pg, tmp_path, "two"), "/readyz"))
        stack.enter_context(_worker(shared_pg, tmp_path, "worker-1"))

        # A job started on one host, followed from the other, run by the worker.
        status, job, headers = _call(
            "POST", f"{one}/api/v1/jobs", auditor, {"kind": "audit_verify"}
        )
        assert status == 202, job
        assert headers["Location"].endswith(job["id"])
        done = _follow(two, auditor, job["id"])
        assert done["state"] == "done", (done, (tmp_path / "worker-1.log").read_text())
        assert done["result"]["ok"] is True
        status, ready, _ = _call("GET", f"{two}/readyz")
        assert status == 200 and ready["queue"]["runner"] == "queue"
        assert ready["queue"]["workers"] >= 1, ready

        # A console sign-in on one host holds on the other.
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )
        with browser.open(f"{one}/login", timeout=10) as page:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": csrf, "token": auditor}).encode()
        try:
            browser.open(f"{one}/login", data=form, timeout=10)
            raise AssertionError("sign-in should redirect")
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 303
        with browser.open(f"{two}/jobs", timeout=10) as page:
            assert page.status == 200 and "audit_verify" not in page.geturl()

        # Draws from both hosts at once never book one expert twice.
        start = (clock.now() + timedelta(days=6)).replace(microsecond=0)
        answers: list[tuple[int, dict]] = []
        barrier = threading.Barrier(8)

        def fire(k: int) -> None:
            begins = start + timedelta(hours=k % 2)
            body = draw_body(
                tenderee_uscc,
                bidder_usccs,
                seats=(("A0101", 2),),
                backups=0,
                tender_ref=f"HOSTS-{k}",
                window={
                    "start": begins.isoformat() + "Z",
                    "end": (begins + timedelta(hours=3)).isoformat() + "Z",
                },
            )
            barrier.wait()
            host = one if k % 2 else two
            status, answer, _ = _call("POST", f"{host}/api/v1/draws", centre, body)
            answers.append((status, answer))

        threads = [threading.Thread(target=fire, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(status for status, _ in answers)
        assert set(statuses) <= {201, 409}, answers
        assert statuses.count(201) == 4, answers  # eight experts, two per draw, all overlap

    engine = database(make_app(shared_pg)).engine
    with engine.connect() as conn:
        double = conn.execute(
            text(
                "SELECT a.expert_id FROM expert_bookings a JOIN expert_bookings b"
                " ON a.expert_id = b.expert_id AND a.id < b.id"
                " AND a.released_at IS NULL AND b.released_at IS NULL"
                " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
            )
        ).all()
        seqs = [row[0] for row in conn.execute(text("SELECT seq FROM audit_entries ORDER BY seq"))]
    engine.dispose()
    assert double == []
    assert seqs == list(range(1, len(seqs) + 1))  # one chain, no gap, no fork
    verified = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "audit", "verify"],
        cwd=ROOT,
        env={**os.environ, **_env(shared_pg, tmp_path, "verify")},
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _bids_csv(rows: int) -> bytes:
    rng = random.Random(3)
    firms = [make_uscc(rng, "110105") for _ in range(200)]
    lines = ["tender_ref,tender_date,estimate,bidder_uscc,bidder_name,price,winner"]
    per_tender = 5
    for t in range(rows // per_tender):
        chosen = rng.sample(firms, per_tender)
        for k, firm in enumerate(chosen):
            price = 1_000_000 + rng.randint(-90_000, 90_000)
            lines.append(
                f"Q-{t:06d},2023-05-10,1000000,{firm},企业{firm[-4:]},{price},{int(k == 0)}"
            )
    return ("\n".join(lines) + "\n").encode()


def test_a_job_of_a_killed_worker_is_finished_by_another(shared_pg, tmp_path):
    app = make_app(shared_pg, JOB_RUNNER="queue")
    rows = 40_000
    with app.app_context():
        from io import BytesIO

        from trading import jobs

        job = jobs.start("bids_import", "regulator:hosts-test", upload=BytesIO(_bids_csv(rows)))
    store = jobs.store(app)
    with _worker(shared_pg, tmp_path, "doomed") as doomed:
        deadline = time.monotonic() + 120
        while True:
            seen = store.get(job.id)
            if seen.state == "running" and seen.done > 0:
                break
            assert not seen.finished, seen
            assert time.monotonic() < deadline, (tmp_path / "doomed.log").read_text()
            time.sleep(0.05)
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-job: no goodbye, no final state
        doomed.wait()
    assert store.get(job.id).state == "running"
    time.sleep(4)  # longer than JOB_STALLED_SECONDS: its heartbeat has stopped
    with _worker(shared_pg, tmp_path, "rescuer"):
        deadline = time.monotonic() + 240
        while not (finished := store.get(job.id)).finished:
            assert time.monotonic() < deadline, (tmp_path / "rescuer.log").read_text()
            time.sleep(0.2)
    assert finished.state == "done", finished
    assert finished.attempts == 2
    # Batches of the first attempt were kept; the second found them as duplicates.
    result = finished.result
    assert result["accepted"] + result["duplicates"] == rows, result
    assert result["duplicates"] > 0
    database(app).dispose()
