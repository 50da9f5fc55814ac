"""Long work as jobs: state and progress in the database, uploads with the job, one interface."""

from __future__ import annotations

import io
import time

from tests.conftest import make_app
from trading import jobs
from trading.auth import create_token
from trading.db import database


def _wait(app, job_id: str, seconds: float = 60) -> jobs.Job:
    deadline = time.monotonic() + seconds
    while True:
        job = jobs.store(app).get(job_id)
        if job.finished or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_job_keeps_its_state_and_result_in_the_database(committed_url):
    app = make_app(committed_url)
    with app.app_context():
        job = jobs.start("audit_verify", "auditor:jobs-test")
        assert job.state == "queued" and job.attempts == 0
    done = _wait(app, job.id)
    assert done.state == "done", done
    assert done.result["ok"] is True and done.attempts == 1 and done.host
    assert done.finished_at >= done.started_at >= done.created_at
    # Another process reading the same database sees the same job.
    other = make_app(committed_url)
    assert jobs.store(other).get(job.id).result == done.result
    database(app).dispose()
    database(other).dispose()


def test_an_upload_travels_with_the_job_and_is_deleted_when_it_ends(committed_url):
    app = make_app(committed_url)
    lines = 60_000  # about 2.5 MiB: three chunks
    body = b"".join(b'{"kind": "record", "n": %d, "pad": "........"}\n' % n for n in range(lines))
    assert len(body) > 2 * jobs.CHUNK
    with app.app_context():
        job = jobs.start("credit_import", "regulator:jobs-test", {"format": "jsonl"},
                         io.BytesIO(body))  # fmt: skip
    done = _wait(app, job.id, seconds=240)
    assert done.state == "done", done
    # Every line arrived, in one piece: each is read (and refused as incomplete).
    assert done.result["lines"] == lines and done.result["rejected_total"] == lines
    with jobs.store(app)._session() as session:
        left = session.query(jobs.JobFile).filter_by(job_id=job.id).count()
    assert left == 0
    database(app).dispose()


def test_jobs_are_listed_per_owner_and_ids_are_checked(committed_url):
    app = make_app(committed_url)
    store = jobs.store(app)
    mine = store.create("audit_verify", "auditor:a", {}, None)
    theirs = store.create("audit_verify", "auditor:b", {}, None)
    assert [j.id for j in store.recent("auditor:a")] == [mine.id]
    assert {j.id for j in store.recent(None)} == {mine.id, theirs.id}
    for bad in ("../../etc/passwd", "x" * 24, "", "0" * 23):
        assert store.get(bad) is None
    database(app).dispose()


def test_a_refusal_by_a_rule_fails_the_job_with_its_rule(committed_url):
    app = make_app(committed_url)
    with app.app_context():
        job = jobs.start("credit_import", "regulator:jobs-test", {"format": "csv"}, io.BytesIO(b""))
    done = _wait(app, job.id)
    assert done.state in ("done", "failed")
    if done.state == "failed":
        assert done.error and done.error != "internal error; it has been logged"
    database(app).dispose()


def test_the_job_api_shows_a_job_to_its_owner_and_admins_only(committed_url):
    app = make_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        auditor = create_token(session, name="jobs-auditor", role="auditor")
        other = create_token(session, name="jobs-other", role="auditor")
        admin = create_token(session, name="jobs-admin", role="admin")
    client = app.test_client()
    started = client.post("/api/v1/jobs", json={"kind": "audit_verify"},
                          headers={"Authorization": f"Bearer {auditor}"})  # fmt: skip
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert started.headers["Location"].endswith(f"/api/v1/jobs/{body['id']}")
    assert body["state"] in ("queued", "running", "done") and body["kind"] == "audit_verify"
    _wait(app, body["id"])
    mine = client.get(f"/api/v1/jobs/{body['id']}", headers={"Authorization": f"Bearer {auditor}"})
    assert mine.status_code == 200 and mine.get_json()["state"] == "done"
    assert mine.get_json()["finished_at"].endswith("+00:00")
    hidden = client.get(f"/api/v1/jobs/{body['id']}", headers={"Authorization": f"Bearer {other}"})
    assert hidden.status_code == 404 and hidden.get_json()["rule"] == "jobs.owner"
    seen = client.get(f"/api/v1/jobs/{body['id']}", headers={"Authorization": f"Bearer {admin}"})
    assert seen.status_code == 200
    listed = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {other}"})
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    database(app).dispose()


def test_only_the_roles_of_a_kind_may_start_it(committed_url):
    app = make_app(committed_url)
    with database(app).transaction("test:arrange") as session:
        centre = create_token(session, name="jobs-centre", role="centre", org="91110000600037341L")
    client = app.test_client()
    refused = client.post("/api/v1/jobs", json={"kind": "audit_verify"},
                          headers={"Authorization": f"Bearer {centre}"})  # fmt: skip
    assert refused.status_code == 403 and refused.get_json()["rule"] == "jobs.kind_allowed"
    unknown = client.post("/api/v1/jobs", json={"kind": "format_disk"},
                          headers={"Authorization": f"Bearer {centre}"})  # fmt: skip
    assert unknown.status_code == 422 and "kind" in unknown.get_json()["errors"]
    database(app).dispose()
